"""Pid file (written atomically) and systemd's sd_notify, both optional."""
import os
import socket
import time

import psutil


def sd_notify(state: str) -> None:
    """Tell systemd (Type=notify) our state when NOTIFY_SOCKET is set; silent otherwise."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return
    if address.startswith("@"):
        address = "\0" + address[1:]
    if state.startswith("RELOADING"):  # Type=notify-reload wants the time the reload began
        state += f"\nMONOTONIC_USEC={time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000}"
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.sendto(state.encode(), address)
    except OSError:
        pass


def write_atomically(path: str, text: str) -> None:
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def read_pid(path: str):
    """The pid a pid file names, or None (no file, or not a number)."""
    try:
        with open(path) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


def live_pid(path: str):
    """The pid in `path` if that process runs gwcore (a stale file's pid may be reused), else None."""
    pid = read_pid(path)
    if pid is None or pid == os.getpid():
        return None
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return None
        return pid if any("gwcore" in part for part in process.cmdline()) else None
    except psutil.Error:
        return None


def remove_if_ours(path: str) -> None:
    if read_pid(path) == os.getpid():
        try:
            os.unlink(path)
        except OSError:
            pass
