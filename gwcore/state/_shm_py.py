"""Shared-memory counter table, Python twin: sliding windows and quotas exact across the worker processes of a host.

The region is a memfd the supervisor creates before it starts the workers (`SharedTable.create`)
and every worker maps (`SharedTable.attach(fd)`). `_shm.pyx` implements the same API and the
same byte layout in Cython; `shm.py` picks one. Keep the two in step: the tests feed both the
same operations and demand identical replies and identical bytes.

Layout (native byte order; every field naturally aligned):
  header, 4096 bytes:   magic "GWSTATE1", version, slot size, slot count, slots per stripe,
                        lock kind (1: C spinlocks, 2: POSIX record locks), 16-byte seed for the
                        key digest, count of "table full" events.
  locks:                one 64-byte word per stripe (a cache line each, so stripes do not share one).
  slots:                128 bytes each, in stripes of 64. A key lives in the stripe its digest
                        names, found by linear probing inside that stripe; one lock guards a
                        stripe, so finding, claiming and updating a slot is one critical section.
  slot:                 check (digest high half | 1; 0 = never used), kind, period, start,
                        expires, head, used, 16 bucket counts, digest low half.

Entries are never emptied, only left to expire: a probe can stop at the first never-used slot,
and an expired slot (anyone's) is reused by the next new key of its stripe. When a stripe has no
free slot the call fails open (admits without counting) and the header's full count goes up.

Sliding window: a ring of 16 buckets, each period/15 seconds wide. At time t in bucket b the
count is the sum of buckets b-15..b, which covers [b*w - period, t], a span at least `period`
long and at most period + period/15. Counting the oldest (partial) bucket whole means the
window never admits more than `limit` in any interval of length `period` (no over-admission,
whatever the interleaving of workers); the error is one-sided: a call may be refused for up to
period/15 seconds longer than an exact log would (so retry_after and reset are at most
period/15 late). Bucket numbers only move forward per slot, so a worker whose clock read lags
another's by microseconds counts in the newer bucket.

Quota: fixed windows n = floor((now - start) / period) with a used count; period 0 is one
window for ever (retry_after and reset are then NEVER).

Locking here is fcntl.lockf on one byte per stripe: POSIX record locks belong to the process,
so they exclude the other workers that inherited the memfd (flock and OFD locks would not,
they belong to the shared open file), and the kernel drops them when a process dies.
"""

import fcntl
import math
import mmap
import os
import struct

from gwcore.state.base import NEVER

__all__ = ["SharedTable", "NEVER", "SLOT_BYTES", "STRIPE_SLOTS", "RING", "MAX_LIMIT", "LOCK_KIND"]

MAGIC = b"GWSTATE1"
VERSION = 1
SLOT_BYTES = 128
STRIPE_SLOTS = 64
RING = 16                    # buckets in a sliding window: the current one and the 15 before it
SPAN = RING - 1              # bucket width = period / SPAN
MAX_LIMIT = 2**31 - 1        # bucket counts are 32-bit
LOCK_KIND = 2                # POSIX record locks (the C twin uses spinlocks: 1)
HEADER_BYTES = 4096
LOCK_STRIDE = 64
FULL_OFFSET = 48
KIND_WINDOW, KIND_QUOTA = 1, 2

_HEADER = struct.Struct("=8sIIQII16sQQ")     # 64 bytes, see the module docstring
_SLOT = struct.Struct("=QIIdddqQ16IQ")       # 128 bytes
_HEAD = struct.Struct("=QIIddd")             # check, kind, pad, period, start, expires
_U64 = struct.Struct("=Q")
assert _HEADER.size == 64 and _SLOT.size == SLOT_BYTES


def _geometry(slots: int):
    """(stripes, bytes before the first slot, total bytes) for a table of at least `slots` slots."""
    stripes = max(1, -(-slots // STRIPE_SLOTS))
    slots_offset = HEADER_BYTES + -(-stripes * LOCK_STRIDE // 4096) * 4096
    return stripes, slots_offset, slots_offset + stripes * STRIPE_SLOTS * SLOT_BYTES


class SharedTable:
    """Fixed-size table of counters in a memfd shared by the processes of one host."""

    def __init__(self, fd: int):
        size = os.fstat(fd).st_size
        if size < HEADER_BYTES:
            raise ValueError(f"fd {fd} is not a gwcore state table (only {size} bytes)")
        self._mm = mmap.mmap(fd, size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
        magic, version, slot_bytes, slots, stripe_slots, lock_kind, seed, _, _ = _HEADER.unpack_from(self._mm, 0)
        if magic != MAGIC or version != VERSION or slot_bytes != SLOT_BYTES or stripe_slots != STRIPE_SLOTS:
            self._mm.close()
            raise ValueError(f"fd {fd} is not a version {VERSION} gwcore state table")
        if lock_kind != LOCK_KIND:
            self._mm.close()
            raise ValueError("the state table was made by the C twin but this process uses the Python twin:"
                             " set GW_NO_EXTENSIONS alike for the supervisor and its workers")
        self.fd = fd
        self.slots = slots
        self.seed = seed
        self._stripes, self._slots_offset, _ = _geometry(slots)

    @classmethod
    def create(cls, slots: int) -> "SharedTable":
        """A new zeroed table of at least `slots` slots (rounded up to whole stripes); `.fd` is inheritable."""
        stripes, _, size = _geometry(slots)
        fd = os.memfd_create("gwcore-state", 0)   # no MFD_CLOEXEC: the workers inherit it
        os.ftruncate(fd, size)
        os.pwrite(fd, _HEADER.pack(MAGIC, VERSION, SLOT_BYTES, stripes * STRIPE_SLOTS, STRIPE_SLOTS,
                                   LOCK_KIND, os.urandom(16), 0, 0), 0)
        return cls(fd)

    @classmethod
    def attach(cls, fd: int) -> "SharedTable":
        """The table behind an fd inherited from the supervisor."""
        return cls(fd)

    def close(self) -> None:
        """Unmap and close the fd (the other processes keep their own mappings)."""
        if self._mm is not None:
            self._mm.close()
            self._mm = None
            os.close(self.fd)

    @property
    def full_count(self) -> int:
        """How many calls found their stripe full and were admitted uncounted, by every process."""
        return _U64.unpack_from(self._mm, FULL_OFFSET)[0]

    def stats(self, now: float) -> dict:
        """Slot occupancy at `now` (a full scan: for tests and diagnostics, not the request path)."""
        live = used = 0
        for off in range(self._slots_offset, self._slots_offset + self.slots * SLOT_BYTES, SLOT_BYTES):
            check, _, _, _, _, expires = _HEAD.unpack_from(self._mm, off)
            if check:
                used += 1
                live += expires > now
        return {"slots": self.slots, "used": used, "live": live, "full": self.full_count}

    # ------------------------------------------------------------ locking and probing

    def _lock(self, stripe: int) -> None:
        fcntl.lockf(self.fd, fcntl.LOCK_EX, 1, HEADER_BYTES + stripe * LOCK_STRIDE, os.SEEK_SET)

    def _unlock(self, stripe: int) -> None:
        fcntl.lockf(self.fd, fcntl.LOCK_UN, 1, HEADER_BYTES + stripe * LOCK_STRIDE, os.SEEK_SET)

    def _count_full(self) -> None:
        fcntl.lockf(self.fd, fcntl.LOCK_EX, 8, FULL_OFFSET, os.SEEK_SET)
        try:
            _U64.pack_into(self._mm, FULL_OFFSET, _U64.unpack_from(self._mm, FULL_OFFSET)[0] + 1)
        finally:
            fcntl.lockf(self.fd, fcntl.LOCK_UN, 8, FULL_OFFSET, os.SEEK_SET)

    def _find(self, stripe, h1, h2, kind, period, start, now):
        """(offset of the key's live slot or -1, offset of a slot it may claim or -1). Caller holds the lock."""
        mm = self._mm
        base = self._slots_offset + stripe * STRIPE_SLOTS * SLOT_BYTES
        first = (h1 >> 32) % STRIPE_SLOTS
        free = -1
        for i in range(STRIPE_SLOTS):
            off = base + ((first + i) % STRIPE_SLOTS) * SLOT_BYTES
            check, k, _, p, s, expires = _HEAD.unpack_from(mm, off)
            if check == 0:
                return -1, (off if free < 0 else free)
            if (check == h2 and k == kind and p == period and s == start
                    and _U64.unpack_from(mm, off + 120)[0] == h1):
                return (off, -1) if expires > now else (-1, off)
            if free < 0 and expires <= now:
                free = off
        return -1, free

    # ------------------------------------------------------------ sliding window

    def window(self, digest, limit, period, cost, now):
        """(1 admitted | 0 refused | 2 admitted uncounted: table full, limit, remaining, retry_after, reset)."""
        if cost < 0 or not 0 <= limit <= MAX_LIMIT or not period > 0:
            raise ValueError("window needs cost >= 0, 0 <= limit < 2**31 and period > 0")
        h1, h2 = digest
        h2 |= 1
        stripe = h1 % self._stripes
        w = period / SPAN
        b = math.floor(now / w)
        self._lock(stripe)
        try:
            off, free = self._find(stripe, h1, h2, KIND_WINDOW, period, 0.0, now)
            if off >= 0:
                fields = _SLOT.unpack_from(self._mm, off)
                head = fields[6]
                counts = list(fields[8:24])
                if b < head:
                    b = head
                elif b - head >= RING:
                    counts = [0] * RING
                else:
                    for j in range(head + 1, b + 1):
                        counts[j % RING] = 0
            else:
                counts = [0] * RING
            count = sum(counts)
            if count + cost > limit:
                return 0, limit, max(0, limit - count), _retry_after(counts, b, w, limit, cost, count, now), \
                    _reset(counts, b, w, now)
            if cost:
                if off < 0:
                    if free < 0:
                        self._count_full()
                        return 2, limit, max(0, limit - cost), 0, 0
                    off = free
                counts[b % RING] += cost
                count += cost
                _SLOT.pack_into(self._mm, off, h2, KIND_WINDOW, 0, period, 0.0, (b + RING) * w, b, 0, *counts, h1)
            return 1, limit, limit - count, 0, _reset(counts, b, w, now)
        finally:
            self._unlock(stripe)

    # ------------------------------------------------------------ quota

    def quota(self, digest, limit, period, cost, start, now):
        """Fixed-window quota decision; same reply shape as `window`."""
        return self._quota(digest, limit, period, cost, start, now, False)

    def quota_add(self, digest, period, amount, start, now) -> None:
        """Count `amount` in the current quota window without a limit."""
        self._quota(digest, 0, period, amount, start, now, True)

    def _quota(self, digest, limit, period, cost, start, now, add):
        if cost < 0 or limit < 0 or period < 0:
            raise ValueError("quota needs cost >= 0, limit >= 0 and period >= 0")
        h1, h2 = digest
        h2 |= 1
        stripe = h1 % self._stripes
        n = math.floor((now - start) / period) if period > 0 else 0
        self._lock(stripe)
        try:
            off, free = self._find(stripe, h1, h2, KIND_QUOTA, period, start, now)
            used = 0
            if off >= 0:
                fields = _SLOT.unpack_from(self._mm, off)
                if n <= fields[6]:
                    n, used = fields[6], fields[7]
            end = start + (n + 1) * period if period > 0 else math.inf
            reset = max(1, math.ceil(end - now)) if period > 0 else NEVER
            if not add and used + cost > limit:
                retry = NEVER if period <= 0 or cost > limit else reset
                return 0, limit, max(0, limit - used), retry, reset
            if cost:
                if off < 0:
                    if free < 0:
                        self._count_full()
                        return 2, limit, max(0, limit - cost), 0, reset
                    off = free
                used += cost
                _SLOT.pack_into(self._mm, off, h2, KIND_QUOTA, 0, period, start, end, n, used, *([0] * RING), h1)
            return 1, limit, max(0, limit - used), 0, reset
        finally:
            self._unlock(stripe)


def _retry_after(counts, b, w, limit, cost, count, now):
    """Seconds until enough of the oldest buckets have left the window for `cost` to fit."""
    if cost > limit:
        return NEVER
    need = count + cost - limit
    freed = 0
    for j in range(b - SPAN, b + 1):
        freed += counts[j % RING]
        if freed >= need:
            # bucket j leaves the counted span once the current bucket is j + RING
            return max(1, math.ceil((j + RING) * w - now))
    return NEVER  # unreachable: freeing every bucket always makes room when cost <= limit


def _reset(counts, b, w, now):
    """Seconds until every counted call has left the window (0 when nothing is counted)."""
    for j in range(b, b - RING, -1):
        if counts[j % RING]:
            return max(1, math.ceil((j + RING) * w - now))
    return 0
