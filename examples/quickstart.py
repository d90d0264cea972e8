"""`make run`: start the demo backend and the gateway on examples/quickstart.yaml, print curl commands."""
import os
import signal
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
CONFIG = os.path.join(HERE, "quickstart.yaml")
KEY = "quickstart-alice-primary-key-0001"


def ready(gateway, timeout: float = 15.0) -> bool:
    """True once a worker answers the health probe (the curl commands below then work)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and gateway.poll() is None:
        try:
            with urllib.request.urlopen("http://127.0.0.1:8080/status-0123456789abcdef", timeout=1) as r:
                if r.status == 200:
                    return True
        except OSError:
            time.sleep(0.1)
    return False


def main() -> int:
    backend = subprocess.Popen([sys.executable, os.path.join(HERE, "demo_backend.py"), "9000"])
    gwcore = os.path.join(os.path.dirname(sys.executable), "gwcore")
    gateway = subprocess.Popen([gwcore, "run", "--config", CONFIG])
    if not ready(gateway):
        gateway.terminate()
        backend.terminate()
        print("gwcore did not become ready; see its messages above", file=sys.stderr)
        return gateway.poll() or 1
    print(f"""
gwcore is running on http://127.0.0.1:8080 in front of the demo backend on :9000. Try:

  curl -i http://127.0.0.1:8080/inventory/v1/items -H 'Ocp-Apim-Subscription-Key: {KEY}'
  curl -i 'http://127.0.0.1:8080/inventory/v1/items/42?subscription-key={KEY}'
  curl -i -X POST http://127.0.0.1:8080/inventory/v1/items -H 'Ocp-Apim-Subscription-Key: {KEY}' -d '{{"sku":"A-1"}}'
  curl -i http://127.0.0.1:8080/public/hello
  curl -i http://127.0.0.1:8080/nowhere                        # 404 Resource not found
  curl -s http://127.0.0.1:8080/status-0123456789abcdef         # health probe
  curl -s http://127.0.0.1:8080/internal/status

Edit {CONFIG} and send SIGHUP (kill -HUP {gateway.pid}) to reload. Ctrl-C stops.
""", flush=True)
    try:
        gateway.wait()
    except KeyboardInterrupt:
        gateway.send_signal(signal.SIGTERM)
        gateway.wait(timeout=35)
    finally:
        backend.terminate()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
