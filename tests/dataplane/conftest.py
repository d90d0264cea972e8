"""Fixtures for the data-plane tests: a recording origin process and `gwcore run` processes."""
import json
import socket
import time
from pathlib import Path

import pytest

from harness import GatewayProcess, free_port


class Gateway(GatewayProcess):
    """The data-plane tests' gateway: the config below, on a free port."""

    def __init__(self, directory: Path, origin_port: int, ports: dict, *, limits: dict = None,
                 timeouts: dict = None, name: str = "gw"):
        port = free_port()
        self.access_log = directory / f"{name}-access.log"
        super().__init__(directory, gateway_config(port, origin_port, ports, self.access_log,
                                                   limits or {}, timeouts or {}), port, name)

    def access_lines(self) -> list:
        """Access-log lines written so far (the gateway flushes every quarter second)."""
        if not self.access_log.exists():
            return []
        return self.access_log.read_text().splitlines()


def gateway_config(port: int, origin_port: int, ports: dict, access_log: Path,
                   limits: dict, timeouts: dict) -> str:
    lim = {"max_header_bytes": 4096, "max_header_count": 30, "max_uri_bytes": 1024,
           "max_body_bytes": 128 * 1024 * 1024, **limits}
    tmo = {"header_read": "1s", "keepalive_idle": "1s", "body_read": "1s", "graceful": "5s", **timeouts}
    origin = f"http://127.0.0.1:{origin_port}"
    return f"""
gateway:
  listen: "127.0.0.1:{port}"
  workers: 1
  access_log: "{access_log}"
  request_id_header: x-request-id
  limits: {json.dumps(lim)}
  timeouts: {json.dumps(tmo)}

backends:
  origin: {{url: "{origin}/api", timeout: 3s, connect_timeout: 1s, idle_timeout: 30s}}
  inventory: {{url: "{origin}/api", timeout: 3s}}
  quick: {{url: "{origin}/quick", timeout: 500ms}}
  stale: {{url: "{origin}/st", timeout: 3s, idle_timeout: 30s}}
  down: {{url: "http://127.0.0.1:{ports['dead']}/x", connect_timeout: 1s}}
  blackhole: {{url: "http://127.0.0.1:{ports['blackhole']}/x", connect_timeout: 300ms, timeout: 2s}}
  capped: {{url: "{origin}/cap", timeout: 3s, max_idle_connections: 1, idle_timeout: 400ms}}

subscriptions:
  # keys the access-log test sends, to prove they are never logged or forwarded
  logger: {{scope: all, primary_key: sk-0123456789-SECRET-header-key, secondary_key: sk-9876543210-SECRET-query-key}}

apis:
  dp: {{path: dp/v1, backend: origin, subscription_required: false}}
  inventory: {{path: inventory/v1, backend: inventory, subscription_required: false}}
  quick: {{path: quick, backend: quick, subscription_required: false}}
  stale: {{path: stale, backend: stale, subscription_required: false}}
  down: {{path: down, backend: down, subscription_required: false}}
  blackhole: {{path: blackhole, backend: blackhole, subscription_required: false}}
  capped: {{path: capped, backend: capped, subscription_required: false}}
"""


@pytest.fixture(scope="session")
def backend_ports():
    """Ports of broken backends: `dead` (nothing listens: refused at once) and `blackhole`
    (a listener whose accept queue is full, so a connect hangs until the connect timeout)."""
    hole = socket.socket()
    hole.bind(("127.0.0.1", 0))
    hole.listen(0)
    port = hole.getsockname()[1]
    fillers = []
    for _ in range(4):  # fill the accept queue; later SYNs are dropped
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", port))
        fillers.append(s)
    time.sleep(0.05)
    yield {"dead": free_port(), "blackhole": port}
    for s in fillers + [hole]:
        s.close()


@pytest.fixture(scope="session")
def gw(origin, backend_ports, tmp_path_factory):
    """The gateway most tests use: 1 s client timeouts, 128 MiB body limit."""
    g = Gateway(tmp_path_factory.mktemp("gw"), origin.port, backend_ports)
    yield g
    g.kill()


@pytest.fixture(scope="session")
def strict_gw(origin, backend_ports, tmp_path_factory):
    """A gateway with small limits, for 413/414/431."""
    g = Gateway(tmp_path_factory.mktemp("strict"), origin.port, backend_ports, name="strict",
                limits={"max_header_bytes": 1024, "max_header_count": 10, "max_uri_bytes": 256,
                        "max_body_bytes": 1024})
    yield g
    g.kill()


@pytest.fixture
def start_gateway(origin, backend_ports, tmp_path):
    """Start a private gateway (for tests that stop it); killed at teardown if still running."""
    started = []

    def start(**kwargs) -> Gateway:
        g = Gateway(tmp_path, origin.port, backend_ports, name=f"gw{len(started)}", **kwargs)
        started.append(g)
        return g
    yield start
    for g in started:
        g.kill()
