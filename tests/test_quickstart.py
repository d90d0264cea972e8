"""The bundled example `make run` serves: it validates, and the gateway answers on it."""
import subprocess
import sys
from pathlib import Path

from harness import GatewayProcess, free_port

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "quickstart.yaml"
GWCORE = str(Path(sys.executable).with_name("gwcore"))


def test_quickstart_config_is_valid():
    result = subprocess.run([GWCORE, "check", "--config", str(EXAMPLE)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "valid; 2 APIs" in result.stdout


def test_quickstart_serves_with_the_key_rules(tmp_path):
    import http.client
    port = free_port()
    gateway = GatewayProcess(tmp_path, EXAMPLE.read_text(), port, args=("--listen", f"127.0.0.1:{port}"))
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        conn.request("GET", "/inventory/v1/items")
        answer = conn.getresponse()
        assert answer.status == 401
        assert b"missing subscription key" in answer.read()
        conn.request("GET", "/nowhere")
        answer = conn.getresponse()
        assert (answer.status, answer.read()) == (404, b'{"statusCode":404,"message":"Resource not found"}')
    finally:
        gateway.kill()
