"""Start and stop: worker pids, pid file, `gwcore stop`, SIGTERM drain, SIGINT, sd_notify, SIGUSR1, shared fds."""
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest

from .conftest import GWCORE, config_text, free_port, get, serving_pid, wait_for


def test_two_workers_serve_with_two_pids(gw2):
    ready = set(gw2.ready())
    assert len(ready) == 2
    assert gw2.worker_pids() == ready  # children of the supervisor, nothing else
    assert gw2.pids_answering() == ready
    assert gw2.pidfile.read_text() == f"{gw2.pid}\n"


def _slow_request(port: int, ms: int, result: dict) -> None:
    try:
        result["status"], result["headers"], result["body"] = get(port, f"/svc/slow/drain?ms={ms}", timeout=20)
    except Exception as exc:  # reported by the assertions
        result["error"] = repr(exc)
    result["done"] = time.monotonic()


def _in_flight(gw, origin, ms: int):
    """Start a request the origin answers after `ms`; return once the origin has it."""
    before = origin.count()
    result = {}
    thread = threading.Thread(target=_slow_request, args=(gw.port, ms, result))
    thread.start()
    assert wait_for(lambda: origin.count() > before, 10), "the slow request never reached the origin"
    return thread, result


def test_sigterm_lets_a_slow_request_finish_then_exits_0(start_gateway, origin):
    gw = start_gateway(args=("--workers", "2"), wait_workers=2)
    thread, result = _in_flight(gw, origin, 1500)
    sent = time.monotonic()
    gw.signal(signal.SIGTERM)
    assert gw.wait_exit(20) == 0
    exited = time.monotonic()
    thread.join(10)
    assert result.get("status") == 200, result
    assert result["body"]["target"] == "/g0/slow/drain?ms=1500"
    assert result["headers"]["connection"] == "close"
    assert result["done"] <= exited + 0.5 and exited - sent > 1.0  # it waited for the request
    log = gw.log()
    assert "stopping (graceful)" in log and "Traceback" not in log
    assert not gw.pidfile.exists() and not gw.state_file.exists()


def test_sigterm_drain_ends_at_timeouts_graceful(start_gateway, origin):
    gw = start_gateway(gateway={"timeouts": {"graceful": "1s"}})
    thread, result = _in_flight(gw, origin, 8000)
    sent = time.monotonic()
    gw.signal(signal.SIGTERM)
    assert gw.wait_exit(15) == 0
    assert 0.8 < time.monotonic() - sent < 4.0  # waited for the drain, not for the 8 s request
    thread.join(20)
    assert "status" not in result  # cut off at the deadline


def test_sigint_stops_at_once(start_gateway, origin):
    gw = start_gateway()
    thread, result = _in_flight(gw, origin, 8000)
    sent = time.monotonic()
    gw.signal(signal.SIGINT)
    assert gw.wait_exit(10) == 0
    assert time.monotonic() - sent < 4.0  # did not wait for the 8 s request
    thread.join(20)
    assert "status" not in result  # it was cut off
    assert not gw.pidfile.exists()


def test_stop_command_waits_for_the_drain(start_gateway, origin):
    gw = start_gateway()
    assert gw.pidfile.read_text().strip() == str(gw.pid)
    thread, result = _in_flight(gw, origin, 1200)
    stop = subprocess.run([GWCORE, "stop", "--pidfile", str(gw.pidfile)], capture_output=True, text=True,
                          timeout=60)
    assert stop.returncode == 0, stop.stderr
    assert f"gwcore stop: process {gw.pid} stopped" in stop.stdout
    thread.join(10)
    assert result.get("status") == 200, result  # answered before the gateway went
    assert gw.wait_exit(5) == 0
    assert not gw.pidfile.exists()
    again = subprocess.run([GWCORE, "stop", "--pidfile", str(gw.pidfile)], capture_output=True, text=True,
                           timeout=30)
    assert again.returncode == 1
    assert "is the gateway running" in again.stderr


def test_pid_file_of_a_running_gateway_is_not_taken_over(gw2, tmp_path):
    config = tmp_path / "second.json"
    config.write_text(config_text(free_port(), gw2.origin_port))
    second = subprocess.run([GWCORE, "run", "--config", str(config), "--pidfile", str(gw2.pidfile)],
                            capture_output=True, text=True, timeout=30, cwd=tmp_path)
    assert second.returncode == 1
    assert f"names running process {gw2.pid}" in second.stderr
    assert gw2.pidfile.read_text() == f"{gw2.pid}\n"
    assert gw2.state()["pid"] == gw2.pid  # nor its state file


def _messages(sock, until: str, timeout: float = 20) -> list:
    out = []
    deadline = time.monotonic() + timeout
    while not out or not out[-1].startswith(until):
        sock.settimeout(max(deadline - time.monotonic(), 0.01))
        try:
            out.append(sock.recv(4096).decode())
        except socket.timeout:
            pytest.fail(f"no {until} among {out}")
    return out


def test_sd_notify_ready_reloading_stopping(start_gateway):
    directory = tempfile.mkdtemp(prefix="gwn", dir="/tmp")  # a unix socket path must stay short
    try:
        path = os.path.join(directory, "notify")
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.bind(path)
            gw = start_gateway(env={"NOTIFY_SOCKET": path})
            assert _messages(sock, "READY=1") == ["READY=1"]  # once, when the workers serve
            gw.write_config(backend_path="/notified")
            assert gw.reload().returncode == 0
            reloading, ready = _messages(sock, "READY=1")
            assert reloading.startswith("RELOADING=1\nMONOTONIC_USEC=")
            usec = int(reloading.split("=")[-1])
            assert abs(usec / 1e6 - time.clock_gettime(time.CLOCK_MONOTONIC)) < 30
            assert ready == "READY=1"
            gw.signal(signal.SIGTERM)
            assert _messages(sock, "STOPPING=1") == ["STOPPING=1"]
            assert gw.wait_exit(20) == 0
    finally:
        shutil.rmtree(directory)


def test_usr1_reopens_the_access_log(gw2):
    log = Path(gw2.base["gateway"]["access_log"])
    assert wait_for(lambda: get(gw2.port, "/svc/before-rotate")[0] == 200 and log.exists()
                    and log.stat().st_size > 0, 10)
    rotated = log.with_name("access.log.1")
    log.rename(rotated)
    gw2.signal(signal.SIGUSR1)
    # every worker writes to a new file of the old name; nothing more goes to the moved one
    assert wait_for(lambda: get(gw2.port, "/svc/after-rotate")[0] == 200 and log.exists()
                    and "/svc/after-rotate" in log.read_text(), 10), gw2.log()
    size = rotated.stat().st_size
    for _ in range(20):
        assert get(gw2.port, "/svc/after-rotate")[0] == 200
    time.sleep(0.5)  # the access log is flushed every quarter second
    assert rotated.stat().st_size == size


def test_shared_fds_reach_every_worker(origin, tmp_path):
    """The supervisor's state table (a memfd) is the one region every worker maps."""
    port = free_port()
    config = tmp_path / "gw.json"
    config.write_text(config_text(port, origin.port))
    pidfile = tmp_path / "gw.pid"
    with open(tmp_path / "gw.stderr", "wb") as err:
        proc = subprocess.Popen([GWCORE, "run", "--config", str(config), "--workers", "2", "--pidfile", str(pidfile)],
                                stderr=err, cwd=tmp_path)
    try:
        pids = wait_for(lambda: len(p := {serving_pid(port) for _ in range(20)} - {None}) == 2 and p, 30)
        assert pids, (tmp_path / "gw.stderr").read_text()
        regions = set()
        for pid in pids:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            fd = int(argv[argv.index(b"--shared-fd") + 1])
            assert os.readlink(f"/proc/{pid}/fd/{fd}").startswith("/memfd:gwcore-state")
            regions.add(os.stat(f"/proc/{pid}/fd/{fd}").st_ino)
        assert len(regions) == 1
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0
