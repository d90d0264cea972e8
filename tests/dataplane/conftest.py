"""Fixtures for the data-plane tests: a recording origin process and `gwcore run` processes."""
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil
import pytest

HERE = Path(__file__).resolve().parent
GWCORE = str(Path(sys.executable).with_name("gwcore"))
HEALTH = "/status-0123456789abcdef"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Origin:
    """The raw-socket origin (origin.py) running as a subprocess."""

    def __init__(self, log_dir: Path):
        self.stderr = open(log_dir / "origin.stderr", "wb")
        self.proc = subprocess.Popen([sys.executable, str(HERE / "origin.py")],
                                     stdout=subprocess.PIPE, stderr=self.stderr)
        line = self.proc.stdout.readline().decode()
        if not line.startswith("PORT "):
            self.proc.kill()
            raise RuntimeError(f"origin did not start: {line!r}")
        self.port = int(line.split()[1])

    def records(self, since: int = 0) -> list:
        """Every request the origin has received (index `since` on), with its raw head."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/__record?since={since}", timeout=5) as r:
            return json.loads(r.read())

    def conns(self) -> dict:
        """{"opened": [...], "closed": [...]}: connection ids as the origin saw them."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/__conns", timeout=5) as r:
            return json.loads(r.read())

    def count(self) -> int:
        return len(self.records())

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait()
        self.stderr.close()


class Gateway:
    """`gwcore run --config FILE` as a subprocess, on a free port."""

    def __init__(self, directory: Path, origin_port: int, ports: dict, *, limits: dict = None,
                 timeouts: dict = None, name: str = "gw"):
        self.dir = directory
        self.port = _free_port()
        self.access_log = directory / f"{name}-access.log"
        self.config = directory / f"{name}.yaml"
        self.config.write_text(gateway_config(self.port, origin_port, ports, self.access_log,
                                              limits or {}, timeouts or {}))
        self.stdout_path = directory / f"{name}.stdout"
        self.stderr_path = directory / f"{name}.stderr"
        self._out = open(self.stdout_path, "wb")
        self._err = open(self.stderr_path, "wb")
        # run from the temporary directory: the installed package is under test, never the
        # source tree that a working directory on sys.path would put first
        self.proc = subprocess.Popen([GWCORE, "run", "--config", str(self.config)],
                                     stdout=self._out, stderr=self._err, cwd=directory)
        self.pid = self.proc.pid
        deadline = time.monotonic() + 15
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gwcore exited {self.proc.returncode}: {self.stderr_text()}")
            try:  # ready when a worker answers, not merely when the port accepts
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{HEALTH}", timeout=1) as r:
                    if r.status == 200:
                        break
            except (OSError, http.client.HTTPException):
                if time.monotonic() > deadline:
                    self.kill()
                    raise RuntimeError(f"gwcore did not listen: {self.stderr_text()}")
                time.sleep(0.05)

    def pids(self) -> list:
        """`gwcore run` and every process under it (its workers, when it has a supervisor)."""
        proc = psutil.Process(self.pid)
        return [self.pid] + [child.pid for child in proc.children(recursive=True)]

    def stderr_text(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def access_lines(self) -> list:
        """Access-log lines written so far (the gateway flushes every quarter second)."""
        if not self.access_log.exists():
            return []
        return self.access_log.read_text().splitlines()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self._out.close()
        self._err.close()


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
def origin(tmp_path_factory):
    """The recording origin, shared by every data-plane test."""
    o = Origin(tmp_path_factory.mktemp("origin"))
    yield o
    o.stop()


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
    yield {"dead": _free_port(), "blackhole": port}
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
