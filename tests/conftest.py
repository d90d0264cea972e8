"""Shared fixtures: free ports, config files, the fast path twins, real redis-server processes (single and Cluster)."""
import importlib
import os
import shutil
import signal
import socket
import subprocess
import time

import pytest

from harness import Origin

# Every gateway a test starts would bind the default admin port 9901, which a gateway of this
# machine (or another test run) may hold: off unless a test names a port (the environment beats
# the file, so such a test sets this variable for its gateway).
os.environ.setdefault("GWCORE_GATEWAY__ADMIN__LISTEN", "off")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def load_twin(name: str, python_module: str, c_module: str):
    """Twin `py` or `c` of an accelerated module; the C one is skipped only in a pure-Python build."""
    if name == "py":
        return importlib.import_module(python_module)
    try:
        return importlib.import_module(c_module)
    except ImportError:
        if os.environ.get("GW_NO_EXTENSIONS"):
            pytest.skip(reason="C twin not built: pure-Python build (GW_NO_EXTENSIONS=1)")
        raise


def _twin(name):
    return load_twin(name, "gwcore._fastpath_py", "gwcore._fastpath")


@pytest.fixture(params=["py", "c"])
def twin(request):
    """Each fast path implementation in turn, with test ids `py` and `c`."""
    return _twin(request.param)


@pytest.fixture
def write_config(tmp_path):
    """Write YAML text to a file and return its path."""
    def write(text: str, name: str = "gateway.yaml") -> str:
        path = tmp_path / name
        path.write_text(text)
        return str(path)
    return write


@pytest.fixture(scope="session")
def origin(tmp_path_factory):
    """The recording origin (dataplane/origin.py), shared by every end-to-end test."""
    o = Origin(tmp_path_factory.mktemp("origin"))
    yield o
    o.stop()


# ---------------------------------------------------------------- redis-server processes of our own
# Tests never touch the machine's Redis on 6379: every server here runs on a free port, in a
# temporary directory, without persistence, and is stopped at the end.

def redis_binary() -> str:
    """The redis-server path; skips the test when there is none, fails instead under GW_REQUIRE_REDIS=1."""
    path = shutil.which("redis-server")
    if path is None:
        reason = "redis-server is not installed (make system-deps installs it)"
        if os.environ.get("GW_REQUIRE_REDIS") == "1":
            pytest.fail(f"{reason}; GW_REQUIRE_REDIS=1 requires it")
        pytest.skip(reason=reason)
    return path


def redis_command(port: int, *args, timeout: float = 2.0):
    """One command to the server on `port` over a fresh connection (error replies raise)."""
    import hiredis
    reader = hiredis.Reader()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(hiredis.pack_command(args))
        while True:
            data = sock.recv(65536)
            if not data:
                raise ConnectionError(f"redis on port {port} closed the connection")
            reader.feed(data)
            reply = reader.gets()
            if reply is not False:
                break
    if isinstance(reply, hiredis.ReplyError):
        raise reply
    return reply


class RedisServer:
    """A redis-server on a free port; `kill`, `pause`/`resume` and `start` again on the same port."""

    def __init__(self, directory, port: int = None, extra=(), config_file: str = None):
        self.directory = str(directory)
        os.makedirs(self.directory, exist_ok=True)
        self.port = port or free_port()
        self.extra = list(extra)
        self.config_file = config_file  # redis-server reads a config file only as its first argument
        self.process = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> "RedisServer":
        argv = [redis_binary(), *([self.config_file] if self.config_file else []),
                "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                "--dir", self.directory, "--logfile", "redis.log", *self.extra]
        self.process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server on port {self.port} exited with {self.process.returncode};"
                                   f" see {self.directory}/redis.log")
            try:
                redis_command(self.port, "PING", timeout=0.5)
                return self
            except Exception as exc:
                if "NOAUTH" in str(exc):    # it answers, and wants a password
                    return self
                if time.monotonic() > deadline:
                    self.kill()
                    raise RuntimeError(f"redis-server on port {self.port} did not answer within {timeout} s")
            time.sleep(0.02)

    def kill(self) -> None:
        """SIGKILL: the server vanishes without a goodbye, as in a crash."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)   # a paused server must not stay a zombie-to-be
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None

    def pause(self) -> None:
        """SIGSTOP: connections stay open but nothing answers (a hung or overloaded server)."""
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        self.process.send_signal(signal.SIGCONT)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    """One redis-server shared by the tests that never stop it (they use keys of their own)."""
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.kill()


@pytest.fixture
def redis_factory(tmp_path):
    """Start dedicated redis-servers (for tests that kill or pause them); all are stopped afterwards."""
    servers = []

    def start(**options) -> RedisServer:
        server = RedisServer(tmp_path / f"redis-{len(servers)}", **options).start()
        servers.append(server)
        return server
    yield start
    for server in servers:
        server.kill()


class RedisClusterNodes:
    """Three redis-server processes on free ports joined into one Redis Cluster, slots split evenly."""

    def __init__(self, directory, nodes: int = 3):
        self.servers = []
        for i in range(nodes):
            bus = free_port()
            self.servers.append(RedisServer(directory / f"node-{i}", extra=(
                "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                "--cluster-port", str(bus), "--cluster-node-timeout", "5000")))
            self.servers[-1].bus = bus

    @property
    def url(self) -> str:
        return "redis+cluster://" + ",".join(f"127.0.0.1:{s.port}" for s in self.servers)

    def start(self, timeout: float = 15.0) -> "RedisClusterNodes":
        for server in self.servers:
            server.start()
        first = self.servers[0]
        for server in self.servers[1:]:
            redis_command(first.port, "CLUSTER", "MEET", "127.0.0.1", server.port, server.bus)
        per_node = 16384 // len(self.servers)
        for i, server in enumerate(self.servers):
            last = 16383 if i == len(self.servers) - 1 else (i + 1) * per_node - 1
            redis_command(server.port, "CLUSTER", "ADDSLOTSRANGE", i * per_node, last)
        deadline = time.monotonic() + timeout
        while not all(self._ready(s) for s in self.servers):
            if time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(f"the Redis Cluster did not form within {timeout} s")
            time.sleep(0.05)
        return self

    def _ready(self, server) -> bool:
        info = redis_command(server.port, "CLUSTER", "INFO")
        info = info.decode() if isinstance(info, bytes) else str(info)
        return "cluster_state:ok" in info and f"cluster_known_nodes:{len(self.servers)}" in info

    def kill(self) -> None:
        for server in self.servers:
            server.kill()


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory):
    """A 3-node Redis Cluster made from redis-server on free ports (a few seconds to form)."""
    redis_binary()
    cluster = RedisClusterNodes(tmp_path_factory.mktemp("redis-cluster")).start()
    yield cluster
    cluster.kill()
