"""Worker slots: each owns one SO_REUSEPORT listening socket (and one for TLS) for the slot's whole life."""
import errno
import socket
import time


def _split(address: str):
    host, _, port = address.rpartition(":")
    host = host.strip("[]") or "0.0.0.0"
    return (socket.AF_INET6 if ":" in host else socket.AF_INET), host, int(port)


def listen_socket(address: str) -> socket.socket:
    """A SO_REUSEPORT listening socket for HOST:PORT (IPv6 hosts in brackets)."""
    family, host, port = _split(address)
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
        sock.listen(4096)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def check_free(address: str) -> None:
    """Raise OSError if anything listens on `address` already.

    A SO_REUSEPORT bind succeeds next to any other SO_REUSEPORT listener of the same user
    (a second gwcore, say), and the kernel would then split connections between the two.
    A probe bound without SO_REUSEPORT fails instead, so that mistake is caught at start.
    """
    family, host, port = _split(address)
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise OSError(exc.errno, "address already in use (another process listens there)") from None
            raise


def tls_listen(settings):
    """The TLS listener's HOST:PORT, or None without `gateway.tls`."""
    return settings.tls.listen if settings.tls is not None else None


class WorkerProcess:
    """One spawned worker: its process, control channel and what it last told us."""

    def __init__(self, slot, age: int, process, channel, generation: int):
        self.slot = slot
        self.age = age               # grows with every spawn: the oldest retire first
        self.process = process
        self.pid = process.pid
        self.channel = channel
        self.state = "booting"       # booting -> ready -> draining; or killed (stuck)
        self.started = time.monotonic()
        self.last_heartbeat = self.started
        self.generation = generation  # of the Plan it serves (boots with this one)
        self.seen = generation - 1   # last config message handled: older snapshots are not needed
        self.error = None            # why it refused the last config message, if it did
        self.requests = 0
        self.requests_jitter = 0     # recycle after max_requests + this many
        self.aborted_at = None       # when the watchdog sent SIGABRT
        self.recycle_reason = None

    def describe(self) -> dict:
        return {"pid": self.pid, "slot": self.slot.index, "state": self.state,
                "generation": self.generation, "seen": self.seen, "error": self.error}


class Slot:
    """A listening socket (and the TLS one) and the worker(s) serving it (two while one replaces the other)."""

    def __init__(self, index: int, address: str, sock: socket.socket, tls_address: str = None,
                 tls_sock: socket.socket = None):
        self.index = index
        self.address = address
        self.sock = sock
        self.tls_address = tls_address
        self.tls_sock = tls_sock
        self.workers = []
        self.retiring = False        # close the socket once its last worker is gone
        self.quick_deaths = 0        # consecutive deaths soon after start: backoff
        self.boot_failures = 0       # consecutive workers that died before they were ready
        self.next_spawn = 0.0

    def current(self):
        """The newest worker booting or serving (not draining, not killed), or None."""
        live = [w for w in self.workers if w.state in ("booting", "ready")]
        return max(live, key=lambda w: w.age) if live else None

    def leave_group(self) -> None:
        """Take the socket out of the SO_REUSEPORT group now, so no new connection lands
        in a queue nobody will accept from (what is queued already is lost)."""
        for sock in self.sockets():
            try:
                sock.shutdown(socket.SHUT_RD)
            except OSError:
                pass

    def sockets(self) -> list:
        return [self.sock] + ([self.tls_sock] if self.tls_sock is not None else [])

    def close(self) -> None:
        for sock in self.sockets():
            sock.close()


class SlotRegistry:
    def __init__(self):
        self.slots = {}
        self._next_index = 0

    def open(self, address: str, tls_address: str = None) -> Slot:
        sock = listen_socket(address)
        try:
            tls_sock = listen_socket(tls_address) if tls_address else None
        except OSError:
            sock.close()
            raise
        slot = Slot(self._next_index, address, sock, tls_address, tls_sock)
        self.slots[slot.index] = slot
        self._next_index += 1
        return slot

    def open_many(self, address: str, count: int, tls_address: str = None) -> list:
        """`count` new slots on `address` (and `tls_address`), or none and OSError. An address whose
        port we do not hold already is checked free first (see check_free)."""
        for each in (address, tls_address):
            if each and each.rpartition(":")[2] not in self.ports():
                check_free(each)
        opened = []
        try:
            for _ in range(count):
                opened.append(self.open(address, tls_address))
        except OSError:
            for slot in opened:
                self.remove(slot)
            raise
        return opened

    def active(self) -> list:
        return [s for s in self.slots.values() if not s.retiring]

    def workers(self) -> list:
        return [w for s in self.slots.values() for w in s.workers]

    def ports(self) -> set:
        return {a.rpartition(":")[2] for s in self.active() for a in (s.address, s.tls_address) if a}

    def remove(self, slot: Slot) -> None:
        slot.close()
        del self.slots[slot.index]
