"""Tracing: nothing of OpenTelemetry without OTEL_EXPORTER_OTLP_ENDPOINT; with it, server and client spans over OTLP/HTTP."""
import json
import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from harness import GatewayProcess, free_port

PROBE = Path(__file__).with_name("worker_probe.py")
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"


def _config(port: int, origin_port: int, ratio: float = 1.0) -> str:
    return json.dumps({
        "gateway": {"listen": f"127.0.0.1:{port}", "workers": 1, "access_log": "off",
                    "tracing": {"sample_ratio": ratio, "service_name": "gwcore-test"}},
        "backends": {"origin": {"url": f"http://127.0.0.1:{origin_port}/t"}},
        "apis": {"svc": {"path": "svc", "backend": "origin", "subscription_required": False, "policies": {
            "inbound": ["base", {"trace": {"source": "probe", "message": "hello",
                                           "metadata": [{"name": "tier", "value": "gold"}]}}]}}},
    })


def _probe(tmp_path, origin, env: dict) -> dict:
    config = tmp_path / "probe.json"
    config.write_text(_config(free_port(), origin.port))
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    result = subprocess.run([sys.executable, str(PROBE), str(config)], capture_output=True, text=True, timeout=60,
                            cwd=tmp_path, env={**clean, **env})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_nothing_of_opentelemetry_is_imported_without_the_endpoint(tmp_path, origin):
    found = _probe(tmp_path, origin, {})
    assert found == {"status": "200", "tracing": False, "otel": []}


def test_the_endpoint_turns_tracing_on(tmp_path, origin):
    """The counterpart of the test above: the probe would see an import if there were one."""
    pytest.importorskip("opentelemetry.proto", reason="the otel extra is not installed")
    collector = Collector()  # a live receiver: exporting to a closed port retries for seconds at exit
    try:
        found = _probe(tmp_path, origin, {"OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{collector.port}"})
    finally:
        collector.close()
    assert found["status"] == "200" and found["tracing"] is True and "opentelemetry.sdk.trace" in found["otel"]


class Collector:
    """A tiny OTLP/HTTP receiver: keeps every span POSTed to /v1/traces (protobuf)."""

    def __init__(self):
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
        spans = self.spans = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["content-length"]))
                request = ExportTraceServiceRequest()
                request.ParseFromString(body)
                for resource in request.resource_spans:
                    service = {a.key: a.value.string_value for a in resource.resource.attributes}["service.name"]
                    for scope in resource.scope_spans:
                        spans.extend((service, span) for span in scope.spans)
                self.send_response(200)
                self.send_header("content-type", "application/x-protobuf")
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait(self, count: int, timeout: float = 15.0) -> list:
        deadline = time.monotonic() + timeout
        while len(self.spans) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return list(self.spans)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def traced(tmp_path, origin, monkeypatch):
    """A gateway exporting to a Collector, head sampling 0 for new traces (parents decide theirs)."""
    pytest.importorskip("opentelemetry.proto", reason="the otel extra is not installed")
    collector = Collector()
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{collector.port}")
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "100")  # ms: export soon after each request
    port = free_port()
    g = GatewayProcess(tmp_path, _config(port, origin.port, ratio=0.0), port)
    yield g, collector
    g.kill()
    collector.close()


def _get(port: int, headers: dict) -> int:
    import http.client
    client = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    client.request("GET", "/svc/traced", headers=headers)
    status = client.getresponse().status
    client.close()
    return status


def test_server_and_client_spans_continue_the_callers_trace(traced):
    from opentelemetry.proto.trace.v1.trace_pb2 import Span
    g, collector = traced
    assert _get(g.port, {}) == 200   # a new trace: sample_ratio 0 drops it
    assert _get(g.port, {"traceparent": f"00-{TRACE_ID}-{PARENT_ID}-01", "tracestate": "congo=t61rcWkgMzE"}) == 200
    spans = collector.wait(2)
    time.sleep(0.3)                  # anything more would have come with the same batch or the next one
    spans = collector.spans
    assert len(spans) == 2, [s.name for _, s in spans]
    by_kind = {span.kind: span for _, span in spans}
    server, client = by_kind[Span.SPAN_KIND_SERVER], by_kind[Span.SPAN_KIND_CLIENT]
    assert {service for service, _ in spans} == {"gwcore-test"}
    assert server.trace_id.hex() == TRACE_ID and server.parent_span_id.hex() == PARENT_ID
    assert client.trace_id.hex() == TRACE_ID and client.parent_span_id == server.span_id
    assert server.start_time_unix_nano <= client.start_time_unix_nano <= client.end_time_unix_nano
    assert client.end_time_unix_nano <= server.end_time_unix_nano
    attributes = {a.key: a.value for a in server.attributes}
    assert attributes["http.response.status_code"].int_value == 200 and attributes["gwcore.api"].string_value == "svc"
    assert [(e.name, {a.key: a.value.string_value for a in e.attributes}) for e in server.events] == [
        ("probe", {"severity": "verbose", "message": "hello", "metadata.tier": "gold"})]
