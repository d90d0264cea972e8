"""The health endpoints against the APIM OpenAPI document, the access log, and stopping on signals."""
import http.client
import json
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
import yaml
from openapi_schema_validator import OAS30Validator

from harness import wait_for

from .rawhttp import Conn

# A copy of the project's reference document (shared/reference/), kept in the repo so a
# clean clone can check against it.
REFERENCE = Path(__file__).resolve().parents[2] / "docs" / "reference" / "apim-self-hosted-gateway-openapi.yaml"

ACCESS_FIELDS = {
    "@timestamp", "http.request.method", "url.path", "http.response.status_code", "event.duration",
    "upstream.address", "upstream.duration_ms", "client.address", "api", "operation",
    "http.request.id", "trace.id", "worker",
}


def _schema(name: str) -> dict:
    document = yaml.safe_load(REFERENCE.read_text())
    schema = dict(document["components"]["schemas"][name])
    # the document lists no required properties; every property it names must be there
    schema["required"] = sorted(schema["properties"])
    return schema


def _validate(instance, name: str) -> None:
    OAS30Validator(_schema(name), format_checker=OAS30Validator.FORMAT_CHECKER).validate(instance)


@pytest.mark.parametrize("path,schema", [
    ("/status-0123456789abcdef", "HealthStatus"),
    ("/internal/status", "InternalStatus"),
])
def test_status_endpoints_match_apim_schema(gw, origin, path, schema):
    before = origin.count()
    client = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=5)
    client.request("GET", path)
    resp = client.getresponse()
    body = json.loads(resp.read())
    client.close()
    assert resp.status == 200
    assert resp.getheader("content-type").startswith("application/json")
    _validate(body, schema)
    if schema == "HealthStatus":
        assert body["status"] == "Healthy"
    else:
        assert body["configurationStatus"] == "Synced"
        assert body["connectedToManagementPlane"] is False
    assert origin.records(since=before) == []


def test_schema_check_can_fail():
    """The validation above is not vacuous: a wrong type or format is caught."""
    with pytest.raises(Exception):
        _validate({"status": "Healthy", "timestamp": "yesterday"}, "HealthStatus")
    with pytest.raises(Exception):
        _validate({"status": "Running", "version": "1", "configurationStatus": "Synced",
                   "lastConfigurationUpdate": "2024-06-15T11:55:00Z",
                   "connectedToManagementPlane": "no", "uptimeSeconds": 1}, "InternalStatus")


def test_access_log_lines(gw):
    key = "sk-0123456789-SECRET-header-key"
    qkey = "sk-9876543210-SECRET-query-key"
    token = "Bearer eyJSECRET.token.value"
    tp = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    with Conn(gw.port) as conn:
        conn.send(f"GET /dp/v1/json/logged?subscription-key={qkey} HTTP/1.1\r\nHost: gw\r\n"
                  f"Ocp-Apim-Subscription-Key: {key}\r\nAuthorization: {token}\r\n"
                  f"traceparent: {tp}\r\nX-Request-Id: log-check-1\r\n\r\n".encode())
        assert conn.response().status == 200
        conn.send(f"GET /nowhere HTTP/1.1\r\nHost: gw\r\nAuthorization: {token}\r\n"
                  f"X-Request-Id: log-check-2\r\n\r\n".encode())
        assert conn.response().status == 404

    def ours():
        entries = [json.loads(line) for line in gw.access_lines()]
        return [e for e in entries if e.get("http.request.id") in ("log-check-1", "log-check-2")]
    entries = wait_for(lambda: len(ours()) == 2 and ours(), timeout=3)
    assert entries, "access-log lines did not appear"
    text = gw.access_log.read_text()
    for line in text.splitlines():
        entry = json.loads(line)
        assert ACCESS_FIELDS <= set(entry), set(ACCESS_FIELDS) - set(entry)
    assert "SECRET" not in text
    forwarded, local = sorted(entries, key=lambda e: e["http.request.id"])
    assert forwarded["http.request.method"] == "GET"
    assert forwarded["url.path"] == "/dp/v1/json/logged"
    assert forwarded["http.response.status_code"] == 200
    assert forwarded["api"] == "dp"
    assert forwarded["trace.id"] == "0af7651916cd43dd8448eb211c80319c"
    assert forwarded["client.address"] == "127.0.0.1"
    assert forwarded["upstream.address"].startswith("127.0.0.1:")
    assert forwarded["upstream.duration_ms"] >= 0
    assert forwarded["event.duration"] > 0
    assert forwarded["worker"] in gw.pids()
    assert forwarded["@timestamp"].endswith("Z")
    assert local["http.response.status_code"] == 404
    assert local["upstream.address"] is None


def _exit_code(gateway, timeout: float) -> int:
    """The gateway's exit code; on a hang, fail with what it logged and where it waits."""
    try:
        return gateway.proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        state = Path(f"/proc/{gateway.pid}/status").read_text().splitlines()[:3]
        threads = sorted(p.name for p in Path(f"/proc/{gateway.pid}/task").iterdir())
        pytest.fail(f"gwcore did not exit within {timeout}s; {state}, threads {threads};\n"
                    f"{gateway.stderr_text()}")


def _slow_request(port, result):
    client = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        client.request("GET", "/dp/v1/slow/inflight?ms=800")
        resp = client.getresponse()
        result["status"] = resp.status
        result["connection"] = resp.getheader("connection")
        result["body"] = json.loads(resp.read())
    except Exception as exc:  # reported by the assertions below
        result["error"] = repr(exc)
    finally:
        client.close()


def test_sigterm_drains_in_flight_request(start_gateway, origin):
    gateway = start_gateway()
    idle = Conn(gateway.port)
    idle.send(b"GET /dp/v1/json/idle-before-stop HTTP/1.1\r\nHost: gw\r\n\r\n")
    assert idle.response().status == 200
    before = origin.count()
    result = {}
    thread = threading.Thread(target=_slow_request, args=(gateway.port, result))
    thread.start()
    assert wait_for(lambda: origin.count() > before, timeout=3), "the slow request never reached the origin"
    sent = time.monotonic()
    gateway.proc.send_signal(signal.SIGTERM)
    # an idle keep-alive connection is closed too (after a short grace), not kept to the end
    assert idle.closed_by_peer(2.5)
    idle.close()
    thread.join(10)
    assert result.get("status") == 200, result
    assert result["body"]["target"] == "/api/slow/inflight?ms=800"
    assert result["connection"] == "close"
    assert _exit_code(gateway, 5) == 0
    assert time.monotonic() - sent > 0.4  # it did wait for the request
    assert "Traceback" not in gateway.stderr_text()


def test_sigint_stops(start_gateway):
    gateway = start_gateway()
    with Conn(gateway.port) as conn:
        conn.send(b"GET /status-0123456789abcdef HTTP/1.1\r\nHost: gw\r\n\r\n")
        assert conn.response().status == 200
    sent = time.monotonic()
    gateway.proc.send_signal(signal.SIGINT)
    assert _exit_code(gateway, 5) == 0
    assert time.monotonic() - sent < 2.0
    assert "Traceback" not in gateway.stderr_text()
