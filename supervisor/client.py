"""`gwcore reload` and `gwcore stop`: signal the supervisor named in a pid file, report how it went."""
import os
import signal
import sys
import time

import orjson
import psutil

from gwcore.supervisor.notify import live_pid, read_pid

POLL = 0.05


def _read_state(path: str):
    try:
        with open(path, "rb") as f:
            return orjson.loads(f.read())
    except (OSError, ValueError):
        return None


def _target(pidfile: str, command: str):
    """The supervisor's pid, or None after saying why there is none."""
    pid = live_pid(pidfile)
    if pid is None:
        named = read_pid(pidfile)
        why = f"no pid in {pidfile}" if named is None else f"process {named} from {pidfile} is not a running gwcore"
        print(f"gwcore {command}: {why}; is the gateway running with --pidfile {pidfile}?", file=sys.stderr)
    return pid


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE  # exited; its parent has not reaped it
    except psutil.NoSuchProcess:
        return True


def reload(pidfile: str, timeout: float) -> int:
    """SIGHUP, then wait for the supervisor's verdict and for every worker to serve the new config."""
    pid = _target(pidfile, "reload")
    if pid is None:
        return 1
    state_file = f"{pidfile}.state"
    before = _read_state(state_file) or {}
    count = sum((before.get("reloads") or {}).values())
    os.kill(pid, signal.SIGHUP)
    deadline = time.monotonic() + timeout
    state = before
    while sum((state.get("reloads") or {}).values()) <= count:
        if time.monotonic() > deadline or _gone(pid):
            print(f"gwcore reload: no answer from process {pid} within {timeout:g}s", file=sys.stderr)
            return 1
        time.sleep(POLL)
        state = _read_state(state_file) or state
    outcome = state["last_reload"]
    if not outcome["ok"]:
        for problem in outcome["problems"]:
            print(problem, file=sys.stderr)
        print(f"gwcore reload: refused ({len(outcome['problems'])} problem(s)); still serving generation "
              f"{outcome['generation']}", file=sys.stderr)
        return 1
    generation = outcome["generation"]
    while True:
        serving = [w for w in state["workers"] if w["state"] == "ready"]
        booting = [w for w in state["workers"] if w["state"] == "booting"]  # e.g. slots just added
        if serving and not booting and all(w["seen"] >= generation for w in serving):
            break
        if time.monotonic() > deadline or _gone(pid):
            print(f"gwcore reload: generation {generation} accepted, but not yet applied by every worker "
                  f"within {timeout:g}s", file=sys.stderr)
            return 1
        time.sleep(POLL)
        state = _read_state(state_file) or state
    refused = [w for w in serving if w["generation"] < generation]
    for w in refused:
        print(f"worker {w['pid']} (slot {w['slot']}) still serves generation {w['generation']}: {w['error']}",
              file=sys.stderr)
    if refused:
        return 1
    print(f"gwcore reload: generation {generation} serving on {len(serving)} worker(s)")
    return 0


def stop(pidfile: str, timeout: float = None) -> int:
    """SIGTERM, then wait until the process is gone (the drain takes up to timeouts.graceful)."""
    pid = _target(pidfile, "stop")
    if pid is None:
        return 1
    if timeout is None:
        graceful = (_read_state(f"{pidfile}.state") or {}).get("graceful", 30.0)
        timeout = graceful + 10.0
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while not _gone(pid):
        if time.monotonic() > deadline:
            print(f"gwcore stop: process {pid} still running after {timeout:g}s", file=sys.stderr)
            return 1
        time.sleep(POLL)
    print(f"gwcore stop: process {pid} stopped")
    return 0
