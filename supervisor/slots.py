"""Worker slots: each owns one SO_REUSEPORT listening socket for the slot's whole life."""
import socket
import time


def listen_socket(address: str) -> socket.socket:
    """A SO_REUSEPORT listening socket for HOST:PORT (IPv6 hosts in brackets)."""
    host, _, port = address.rpartition(":")
    host = host.strip("[]") or "0.0.0.0"
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, int(port)))
        sock.listen(4096)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


class WorkerProcess:
    """One spawned worker: its process, control channel and what it last told us."""

    def __init__(self, slot, age: int, process, channel):
        self.slot = slot
        self.age = age               # grows with every spawn: the oldest retire first
        self.process = process
        self.pid = process.pid
        self.channel = channel
        self.state = "booting"       # booting -> ready -> draining
        self.started = time.monotonic()
        self.last_heartbeat = self.started
        self.generation = 0
        self.requests = 0
        self.requests_jitter = 0     # recycle after max_requests + this many
        self.kill_stage = 0          # 1 after SIGABRT, 2 after SIGKILL
        self.recycle_reason = None


class Slot:
    """A listening socket and the worker(s) serving it (two while one replaces the other)."""

    def __init__(self, index: int, address: str, sock: socket.socket):
        self.index = index
        self.address = address
        self.sock = sock
        self.workers = []
        self.retiring = False        # close the socket once its last worker is gone
        self.quick_deaths = 0        # consecutive deaths soon after start: backoff
        self.next_spawn = 0.0

    def current(self):
        """The newest worker not draining, or None."""
        live = [w for w in self.workers if w.state != "draining"]
        return max(live, key=lambda w: w.age) if live else None

    def close(self) -> None:
        self.sock.close()


class SlotRegistry:
    def __init__(self):
        self.slots = {}
        self._next_index = 0

    def open(self, address: str) -> Slot:
        slot = Slot(self._next_index, address, listen_socket(address))
        self.slots[slot.index] = slot
        self._next_index += 1
        return slot

    def active(self) -> list:
        return [s for s in self.slots.values() if not s.retiring]

    def workers(self) -> list:
        return [w for s in self.slots.values() for w in s.workers]

    def remove(self, slot: Slot) -> None:
        slot.close()
        del self.slots[slot.index]
