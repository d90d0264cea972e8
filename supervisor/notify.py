"""Pid file (written atomically) and systemd's sd_notify, both optional."""
import os
import socket
import time


def sd_notify(state: str) -> None:
    """Tell systemd (Type=notify) our state when NOTIFY_SOCKET is set; silent otherwise."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return
    if address.startswith("@"):
        address = "\0" + address[1:]
    if state.startswith("RELOADING"):
        state += f"\nMONOTONIC_USEC={int(time.monotonic() * 1e6)}"
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


def remove_if_ours(path: str) -> None:
    try:
        with open(path) as f:
            if f.read().strip() == str(os.getpid()):
                os.unlink(path)
    except OSError:
        pass
