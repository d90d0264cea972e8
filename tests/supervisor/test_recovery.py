"""Crash recovery: a killed worker is replaced at once, a stuck one is aborted, one that cannot boot stops it all."""
import os
import signal
import socket
import time

import psutil
import pytest

from .conftest import Gateway, get, serving_pid, wait_for


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_killed_worker_is_replaced_at_once_and_its_queue_kept(start_gateway):
    gw = start_gateway()
    [old] = gw.ready()
    os.kill(old, signal.SIGKILL)
    killed = time.monotonic()
    # sent while no worker runs: it waits in the slot's queue (the supervisor keeps the
    # socket open) and the successor answers it
    status, _, body = get(gw.port, "/internal/status", timeout=10)
    assert time.monotonic() - killed < 2.0, gw.log()
    assert status == 200 and body["worker"] != old
    assert wait_for(lambda: gw.ready() == [body["worker"]], 5), gw.state()
    assert f"worker {old} (slot 0) died with signal SIGKILL: restarting\n" in gw.log()
    # dying again soon after its start: the next restart waits (backoff)
    os.kill(body["worker"], signal.SIGKILL)
    assert wait_for(lambda: f"worker {body['worker']} (slot 0) died with signal SIGKILL: restarting in 0.5s"
                    in gw.log(), 5), gw.log()
    assert wait_for(lambda: serving_pid(gw.port) not in (None, old, body["worker"]), 10)


@pytest.fixture(scope="module")
def hooked(origin, tmp_path_factory):
    """A gateway whose workers honour the test hook (SIGUSR2 blocks the loop); 2 s heartbeat deadline."""
    g = Gateway(tmp_path_factory.mktemp("hooked"), origin.port, name="hooked", env={"GWCORE_TEST_HOOKS": "1"},
                gateway={"heartbeat_timeout": "2s"})
    yield g
    g.kill()


def test_stuck_worker_is_aborted_and_replaced(hooked):
    [stuck] = hooked.ready()
    os.kill(stuck, signal.SIGUSR2)  # its event loop now blocks; the process itself is fine
    blocked = time.monotonic()
    # what the worker accepted before its loop blocked is lost with it; wait until it blocks
    assert wait_for(lambda: f"gwcore[{stuck}] worker 0 WARNING test hook: blocking the event loop" in hooked.log(), 10)
    # answered by the successor, from the same socket the stuck worker no longer accepts on
    status, _, body = get(hooked.port, "/internal/status", timeout=20)
    assert status == 200 and body["worker"] != stuck
    assert time.monotonic() - blocked > 1.5  # not before the heartbeat deadline
    assert wait_for(lambda: _gone(stuck), 10)
    log = hooked.log()
    assert f"worker {stuck} (slot 0) silent for" in log and ": SIGABRT" in log
    assert "_block_loop_for_tests" in log  # the worker's faulthandler shows where it was stuck
    assert wait_for(lambda: f"stuck worker {stuck} (slot 0) ended (signal SIGABRT)" in hooked.log(), 5)
    assert "SIGKILL" not in log


def test_worker_that_survives_sigabrt_gets_sigkill(hooked):
    [worker] = wait_for(lambda: hooked.ready(), 10)
    os.kill(worker, signal.SIGSTOP)  # a stopped process cannot even die of SIGABRT
    try:
        status, _, body = get(hooked.port, "/internal/status", timeout=20)
        assert status == 200 and body["worker"] != worker  # the slot did not wait for it to die
        assert wait_for(lambda: f"stuck worker {worker} (slot 0) ended (signal SIGKILL)" in hooked.log(), 15), \
            hooked.log()
    finally:
        if not _gone(worker):
            os.kill(worker, signal.SIGKILL)
    log = hooked.log()
    abort = log.index(f"worker {worker} (slot 0) silent for")
    kill = log.index(f"worker {worker} still alive 3s after SIGABRT: SIGKILL")
    assert abort < kill
    assert serving_pid(hooked.port) == body["worker"]


@pytest.mark.parametrize("reuseport", [False, True], ids=["plain", "reuseport"])
def test_port_in_use_stops_it_with_a_clear_message(start_gateway, reuseport):
    # a listener with SO_REUSEPORT would let our own SO_REUSEPORT bind succeed beside it
    with socket.socket() as taken:
        if reuseport:
            taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        gw = start_gateway(wait_workers=0, gateway={"listen": f"127.0.0.1:{port}"})
        assert gw.wait_exit(20) == 1
    log = gw.log()
    assert f"not started: cannot listen on 127.0.0.1:{port}: address already in use" in log
    assert "started" not in log.replace("not started", "")  # no worker was spawned
    assert not gw.pidfile.exists()


def test_worker_that_cannot_boot_stops_it_instead_of_looping(start_gateway, tmp_path):
    missing = tmp_path / "no-such-dir" / "access.log"  # valid config; the worker cannot open it
    gw = start_gateway(wait_workers=0, args=("--workers", "2"), gateway={"access_log": str(missing)})
    assert gw.wait_exit(30) == 1
    log = gw.log()
    assert "worker could not start" in log and "No such file or directory" in log and str(missing) in log
    assert "could not start (exit code 3; its message is above): stopping instead of restarting it" in log
    assert len([line for line in log.splitlines() if line.endswith(" started")]) <= 2  # one per slot, no respawn
    assert not gw.pidfile.exists()


def test_worker_with_a_broken_import_stops_it(start_gateway, tmp_path):
    # a uvloop that cannot be imported shadows the real one (only workers import uvloop)
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "uvloop.py").write_text("raise ImportError('uvloop is broken in this test')\n")
    gw = start_gateway(wait_workers=0, env={"PYTHONPATH": str(broken)})
    assert gw.wait_exit(30) == 1
    log = gw.log()
    assert "worker could not start" in log and "ImportError: uvloop is broken in this test" in log
    assert "stopping instead of restarting it in a loop" in log
    assert len([line for line in log.splitlines() if line.endswith(" started")]) == 1
