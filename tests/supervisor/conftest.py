"""Fixtures for the supervisor tests: the recording origin, `gwcore run` processes, load clients."""
import http.client
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest
from harness import free_port, wait_for  # noqa: F401 - the supervisor tests import them from here

GWCORE = str(Path(sys.executable).with_name("gwcore"))
HEALTH = "/status-0123456789abcdef"


def get(port: int, path: str, timeout: float = 5.0, headers: dict = None):
    """One request on a fresh connection: (status, headers dict, parsed JSON body)."""
    client = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        client.request("GET", path, headers=headers or {})
        resp = client.getresponse()
        body = resp.read()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, json.loads(body) if body else None
    finally:
        client.close()


def serving_pid(port: int):
    """The pid of the worker that answers /internal/status on a new connection (None if nobody does)."""
    try:
        status, _, body = get(port, "/internal/status", timeout=2)
    except (OSError, http.client.HTTPException):
        return None
    return body["worker"] if status == 200 else None


def config_text(port: int, origin_port: int, *, backend_path: str = "/g0", request_id_header: str = "x-rid-0",
                gateway: dict = None) -> str:
    """A config with one open API `svc` whose backend is `origin` + `backend_path`."""
    settings = {"listen": f"127.0.0.1:{port}", "workers": 1, "access_log": "off",
                "request_id_header": request_id_header,
                "timeouts": {"header_read": "5s", "keepalive_idle": "30s", "graceful": "10s"},
                **(gateway or {})}
    return json.dumps({
        "gateway": settings,
        "backends": {"origin": {"url": f"http://127.0.0.1:{origin_port}{backend_path}", "timeout": "10s"}},
        "apis": {"svc": {"path": "svc", "backend": "origin", "subscription_required": False}},
    }, indent=1)


class Gateway:
    """`gwcore run --config FILE --pidfile FILE` as a subprocess on a free port."""

    def __init__(self, directory: Path, origin_port: int, *, name: str = "gw", args=(), env: dict = None,
                 wait_workers: int = 1, **config):
        self.dir = directory
        self.origin_port = origin_port
        self.port = free_port()
        self.config = directory / f"{name}.json"
        self.pidfile = directory / f"{name}.pid"
        self.state_file = directory / f"{name}.pid.state"
        self.base = config
        self.write_config()
        self.stderr_path = directory / f"{name}.stderr"
        self._err = open(self.stderr_path, "wb")
        # from the temporary directory: the installed package is under test, not the source tree
        self.proc = subprocess.Popen([GWCORE, "run", "--config", str(self.config), "--pidfile", str(self.pidfile),
                                      *args], stdout=subprocess.DEVNULL, stderr=self._err, cwd=directory,
                                     env={**os.environ, **(env or {})})
        self.pid = self.proc.pid
        if wait_workers and not wait_for(lambda: self.proc.poll() is not None or len(self.ready()) >= wait_workers
                                         and serving_pid(self.port), timeout=30):
            self.kill()
            raise RuntimeError(f"gwcore did not start: {self.log()}")
        if wait_workers and self.proc.poll() is not None:
            raise RuntimeError(f"gwcore exited {self.proc.returncode}: {self.log()}")

    def write_config(self, text: str = None, **changes) -> None:
        """Replace the config file in one step, so a reload never reads half of it. `changes`
        go over the keyword arguments the gateway started with (`gateway` key by key)."""
        if text is None:
            config = {**self.base, **changes}
            config["gateway"] = {**self.base.get("gateway", {}), **changes.get("gateway", {})}
            text = config_text(self.port, self.origin_port, **config)
        tmp = self.config.with_suffix(".tmp")
        tmp.write_text(text)
        os.replace(tmp, self.config)

    def state(self) -> dict:
        try:
            return json.loads(self.state_file.read_text())
        except (OSError, ValueError):
            return {}

    def ready(self) -> list:
        """Pids of the workers the supervisor counts as ready."""
        return [w["pid"] for w in self.state().get("workers", []) if w["state"] == "ready"]

    def worker_pids(self) -> set:
        """Every live (not zombie) process under the supervisor."""
        try:
            children = psutil.Process(self.pid).children()
        except psutil.NoSuchProcess:
            return set()
        out = set()
        for child in children:
            try:
                if child.status() != psutil.STATUS_ZOMBIE:
                    out.add(child.pid)
            except psutil.NoSuchProcess:
                pass
        return out

    def pids_answering(self, attempts: int = 40) -> set:
        """Worker pids seen answering over `attempts` new connections."""
        return {serving_pid(self.port) for _ in range(attempts)} - {None}

    def reload(self, timeout: float = 30) -> subprocess.CompletedProcess:
        return subprocess.run([GWCORE, "reload", "--pidfile", str(self.pidfile)], capture_output=True,
                              text=True, timeout=timeout + 10, cwd=self.dir)

    def signal(self, signum) -> None:
        os.kill(self.pid, signum)

    def log(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def wait_exit(self, timeout: float) -> int:
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"gwcore did not exit within {timeout}s:\n{self.log()}")

    def kill(self) -> None:
        if self.proc.poll() is None:
            for child in psutil.Process(self.pid).children():
                child.kill()
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self._err.close()


class Load:
    """Keep-alive clients sending GET /svc/... in threads; every failure is kept.

    Three kinds of client, by index: 0 sends back to back on one keep-alive connection;
    1 pauses up to 0.2 s between requests, so some connections sit idle at any moment, as
    real clients' do (a drain must not close those under a request on its way); 2 opens
    a new connection for every request, so connections keep arriving in the accept queues.
    """

    def __init__(self, port: int, clients: int = 4, path: str = "/svc/load"):
        self.port = port
        self.path = path
        self.stop_event = threading.Event()
        self.lock = threading.Lock()
        self.ok = 0
        self.failures = []
        self.seen = []               # (time, backend target, request-id header names) per answer
        self.connects = [0] * clients  # connections each client opened
        self.threads = [threading.Thread(target=self._client, args=(i,), daemon=True) for i in range(clients)]

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def stop(self) -> None:
        self.stop_event.set()
        for thread in self.threads:
            thread.join(30)

    def wait_ok(self, count: int, timeout: float = 20) -> bool:
        start = self.ok
        return bool(wait_for(lambda: self.ok - start >= count, timeout))

    def _client(self, index: int) -> None:
        client = http.client.HTTPConnection("127.0.0.1", self.port, timeout=15)
        n = 0
        kind = index % 3
        while not self.stop_event.is_set():
            if kind == 1:
                time.sleep(random.uniform(0, 0.2))
            elif kind == 2:
                client.close()  # the next request connects anew
            n += 1
            if client.sock is None:
                self.connects[index] += 1
            try:
                client.request("GET", f"{self.path}?c={index}&n={n}")
                resp = client.getresponse()
                body = resp.read()
                if resp.status != 200:
                    raise AssertionError(f"status {resp.status}: {body[:200]!r}")
                echo = json.loads(body)
                names = sorted({name for name, _ in echo["headers"] if name.startswith("x-rid-")})
                with self.lock:
                    self.ok += 1
                    self.seen.append((time.monotonic(), echo["target"], names))
            except Exception as exc:  # every kind of failure counts; the test asserts there are none
                with self.lock:
                    self.failures.append(f"client {index} request {n}: {exc!r}")
                client.close()
        client.close()


@pytest.fixture(scope="session")
def gw2(origin, tmp_path_factory):
    """The gateway most tests share: `--workers 2`, an access log, a pid file."""
    directory = tmp_path_factory.mktemp("gw2")
    g = Gateway(directory, origin.port, name="gw2", args=("--workers", "2"), wait_workers=2,
                gateway={"access_log": str(directory / "access.log")})
    yield g
    g.kill()


@pytest.fixture
def start_gateway(origin, tmp_path):
    """A private gateway for a test that stops or breaks it; killed at teardown if still running."""
    started = []

    def start(**kwargs) -> Gateway:
        g = Gateway(tmp_path, origin.port, name=f"gw{len(started)}", **kwargs)
        started.append(g)
        return g
    yield start
    for g in started:
        g.kill()
