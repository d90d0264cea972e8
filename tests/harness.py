"""Real processes for end-to-end tests: the recording origin and `gwcore run` on a free port."""
import http.client
import json
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil

HERE = Path(__file__).resolve().parent
ORIGIN = HERE / "dataplane" / "origin.py"
GWCORE = str(Path(sys.executable).with_name("gwcore"))
HEALTH = "/status-0123456789abcdef"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Origin:
    """The raw-socket origin (dataplane/origin.py) running as a subprocess."""

    def __init__(self, log_dir: Path):
        self.stderr = open(log_dir / "origin.stderr", "wb")
        self.proc = subprocess.Popen([sys.executable, str(ORIGIN)],
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


class GatewayProcess:
    """`gwcore run --config FILE` as a subprocess; ready when a worker answers the health probe."""

    def __init__(self, directory: Path, config_text: str, port: int, name: str = "gw", args=()):
        self.dir = directory
        self.port = port
        self.config = directory / f"{name}.yaml"
        self.config.write_text(config_text)
        self.stdout_path = directory / f"{name}.stdout"
        self.stderr_path = directory / f"{name}.stderr"
        self._out = open(self.stdout_path, "wb")
        self._err = open(self.stderr_path, "wb")
        # run from the temporary directory: the installed package is under test, never the
        # source tree that a working directory on sys.path would put first
        self.proc = subprocess.Popen([GWCORE, "run", "--config", str(self.config), *args],
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

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self._out.close()
        self._err.close()


def wait_for(predicate, timeout: float = 5.0, interval: float = 0.02):
    """Poll `predicate` until it gives something true (returned) or `timeout` passes (its last value)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)
