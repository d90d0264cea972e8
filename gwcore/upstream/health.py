"""Active health checks: one checker per host, its verdicts in a shared-memory board every worker reads.

The board is a memfd the supervisor creates before it starts the workers (supervisor/shared.py);
the checker (run by the supervisor, supervisor/health.py) writes it, workers only read it. A
member's place is `Member.health_slot`, assigned when the Plan is compiled; its tag
(`Member.health_tag`) tells a worker still on an older Plan that the slot now belongs to
another member, which it then treats as not checked yet (usable).

Layout: 64-byte header (magic "GWHEALTH", version, slot count), then 16-byte slots:
tag (u64), state (u8: 0 not checked yet, 1 healthy, 2 unhealthy), 7 bytes unused.
"""
import asyncio
import logging
import mmap
import os
import ssl
import struct

MAGIC = b"GWHEALTH"
VERSION = 1
HEADER = struct.Struct("=8sII")
SLOT = struct.Struct("=QB7x")
HEADER_BYTES = 64
UNKNOWN, HEALTHY, UNHEALTHY = 0, 1, 2

log = logging.getLogger("gwcore.health")


class HealthBoard:
    """Member verdicts shared by the processes of one host."""

    def __init__(self, fd: int):
        size = os.fstat(fd).st_size
        self._mm = mmap.mmap(fd, size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
        magic, version, slots = HEADER.unpack_from(self._mm, 0)
        if magic != MAGIC or version != VERSION:
            self._mm.close()
            raise ValueError(f"fd {fd} is not a version {VERSION} gwcore health board")
        self.fd = fd
        self.slots = slots

    @classmethod
    def create(cls, slots: int) -> "HealthBoard":
        """A new board of `slots` members, all not checked yet; `.fd` is inheritable."""
        fd = os.memfd_create("gwcore-health", 0)   # no MFD_CLOEXEC: the workers inherit it
        os.ftruncate(fd, HEADER_BYTES + slots * SLOT.size)
        os.pwrite(fd, HEADER.pack(MAGIC, VERSION, slots), 0)
        return cls(fd)

    def state(self, slot: int, tag: int) -> int:
        """The verdict for the member with `tag` at `slot` (UNKNOWN when the slot is someone else's)."""
        if not 0 <= slot < self.slots:
            return UNKNOWN
        found, state = SLOT.unpack_from(self._mm, HEADER_BYTES + slot * SLOT.size)
        return state if found == tag else UNKNOWN

    def unhealthy(self, slot: int, tag: int) -> bool:
        return self.state(slot, tag) == UNHEALTHY

    def publish(self, slot: int, tag: int, state: int) -> None:
        if 0 <= slot < self.slots:
            SLOT.pack_into(self._mm, HEADER_BYTES + slot * SLOT.size, tag, state)

    def close(self) -> None:
        if self._mm is not None:
            self._mm.close()
            self._mm = None


class Target:
    """One member to check, with its run of successes or failures so far."""

    def __init__(self, backend, member):
        self.backend = backend
        self.member = member
        self.check = backend.health_check
        self.key = (member.health_slot, member.health_tag, self.check)
        self.state = UNKNOWN
        self.run = 0          # consecutive results that disagree with `state` (or agree, while UNKNOWN)
        self.last_ok = None

    def record(self, ok: bool):
        """Count one result; the new state when a threshold was reached, else None."""
        wanted = HEALTHY if ok else UNHEALTHY
        if self.state == wanted:
            self.run = 0
            return None
        if self.last_ok is not ok:
            self.run = 0
        self.last_ok = ok
        self.run += 1
        threshold = self.check.healthy_threshold if ok else self.check.unhealthy_threshold
        if self.run >= threshold:
            self.state, self.run = wanted, 0
            return wanted
        return None


class HealthChecker:
    """Checks every member of every backend with a health_check, each on its own interval, in one
    asyncio loop; a member is healthy after healthy_threshold 2xx/3xx answers in a row, unhealthy
    after unhealthy_threshold failures (no answer within timeout, refused, another status)."""

    def __init__(self, board: HealthBoard, loop):
        self.board = board
        self.loop = loop
        self.targets = {}     # key -> Target
        self.tasks = {}       # key -> Task

    def use_plan(self, plan) -> None:
        """Check the members of `plan` from now on (a member kept across reloads keeps its state)."""
        wanted = {}
        for backend in plan.backends.values():
            if backend.health_check is None:
                continue
            for member in backend.members:
                if 0 <= member.health_slot < self.board.slots:
                    target = Target(backend, member)
                    wanted[target.key] = self.targets.get(target.key) or target
                    wanted[target.key].backend = backend   # its TLS context comes with the new Plan
                elif member.health_slot >= 0:
                    log.warning("backend %s: member %s not health-checked: the health board has %d slots",
                                backend.name, member.url, self.board.slots)
        for key, task in list(self.tasks.items()):
            if key not in wanted:
                task.cancel()
                del self.tasks[key]
        for key, target in wanted.items():
            if key not in self.tasks:
                self.board.publish(target.member.health_slot, target.member.health_tag, target.state)
                self.tasks[key] = self.loop.create_task(self._keep_checking(target))
        self.targets = wanted

    async def _keep_checking(self, target: Target) -> None:
        while True:
            ok = await probe(target.backend, target.member, target.check)
            changed = target.record(ok)
            if changed is not None:
                member = target.member
                self.board.publish(member.health_slot, member.health_tag, changed)
                log.warning("backend %s: member %s is %s", target.backend.name, member.url,
                            "healthy again" if changed == HEALTHY else "unhealthy")
            await asyncio.sleep(target.check.interval)

    def stop(self) -> None:
        for task in self.tasks.values():
            task.cancel()
        self.tasks = {}


async def probe(backend, member, check) -> bool:
    """One GET of the check path (as written, from the member's root) on a new connection: True for
    a 2xx or 3xx answer within the timeout."""
    try:
        return await asyncio.wait_for(_get_status_line(backend, member, check.path), check.timeout)
    except (OSError, asyncio.TimeoutError, ssl.SSLError, ValueError):
        return False


async def _get_status_line(backend, member, path: str) -> bool:
    context = None
    if member.scheme == "https":
        context = backend.ssl_context or ssl.create_default_context()
    reader, writer = await asyncio.open_connection(member.host, member.port, ssl=context,
                                                   server_hostname=(backend.sni or member.host) if context else None)
    try:
        writer.write(b"GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: gwcore-health\r\nConnection: close\r\n\r\n"
                     % (path.encode("ascii", "replace"), member.host_header))
        line = await reader.readline()
    finally:
        writer.close()
    parts = line.split(b" ", 2)
    return len(parts) >= 2 and parts[0].startswith(b"HTTP/1.") and parts[1][:1] in (b"2", b"3")
