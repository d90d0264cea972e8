"""Shared-memory counter table, C twin: same API, byte layout and replies as `_shm_py.py`.

The layout, the sliding-window scheme and its error bound are described in `_shm_py.py`. Here
the per-call work runs in C on the mmap'd region and a stripe is guarded by a spinlock taken
with GCC __atomic builtins: the word holds the owner's pid, so a waiter can take over a stripe
whose owner was killed inside its (sub-microsecond, syscall-free) critical section. setup.py
compiles with boundscheck and wraparound off: no index here may be negative.
"""

import os
import struct

from gwcore.state.base import NEVER

from libc.stdint cimport int64_t, uint32_t, uint64_t
from libc.math cimport ceil, floor, INFINITY
from libc.string cimport memcmp, memcpy, memset
from posix.mman cimport MAP_FAILED, MAP_SHARED, PROT_READ, PROT_WRITE, mmap, munmap

cdef extern from *:
    """
    #include <errno.h>
    #include <sched.h>
    #include <signal.h>
    #include <stdint.h>
    #include <sys/types.h>

    typedef struct {
        uint64_t check; uint32_t kind; uint32_t pad; double period; double start; double expires;
        int64_t head; uint64_t used; uint32_t counts[16]; uint64_t h1;
    } gw_slot;
    _Static_assert(sizeof(gw_slot) == 128, "a slot is 128 bytes, as in _shm_py.py");

    typedef struct {
        char magic[8]; uint32_t version; uint32_t slot_bytes; uint64_t slots; uint32_t stripe_slots;
        uint32_t lock_kind; unsigned char seed[16]; uint64_t full; uint64_t reserved;
    } gw_header;
    _Static_assert(sizeof(gw_header) == 64, "the header is 64 bytes, as in _shm_py.py");

    static inline void gw_pause(void) {
    #if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
    #elif defined(__aarch64__)
        __asm__ __volatile__("yield");
    #endif
    }

    static void gw_lock(uint32_t *word, uint32_t me) {
        unsigned spins = 0;
        for (;;) {
            uint32_t owner = 0;
            if (__atomic_compare_exchange_n(word, &owner, me, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
                return;
            if (++spins < 100) { gw_pause(); continue; }
            sched_yield();  /* two cores, many processes: let the owner run */
            /* Every 256 yields, ask whether the owner still exists: a worker killed inside its
               critical section would otherwise hold the stripe for ever. A holder with our own
               pid is a dead predecessor whose pid was reused: we never wait while holding. */
            if ((spins & 255) == 0 && (owner == me || (kill((pid_t)owner, 0) == -1 && errno == ESRCH))) {
                if (__atomic_compare_exchange_n(word, &owner, me, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
                    return;
            }
        }
    }

    static inline void gw_unlock(uint32_t *word) { __atomic_store_n(word, 0, __ATOMIC_RELEASE); }
    static inline void gw_count_full(gw_header *h) { __atomic_fetch_add(&h->full, 1, __ATOMIC_RELAXED); }
    static inline uint64_t gw_full(gw_header *h) { return __atomic_load_n(&h->full, __ATOMIC_RELAXED); }
    """
    ctypedef struct gw_slot:
        uint64_t check
        uint32_t kind
        uint32_t pad
        double period
        double start
        double expires
        int64_t head
        uint64_t used
        uint32_t counts[16]
        uint64_t h1

    ctypedef struct gw_header:
        char magic[8]
        uint32_t version
        uint32_t slot_bytes
        uint64_t slots
        uint32_t stripe_slots
        uint32_t lock_kind
        unsigned char seed[16]
        uint64_t full
        uint64_t reserved

    void gw_lock(uint32_t *word, uint32_t me) nogil
    void gw_unlock(uint32_t *word) nogil
    void gw_count_full(gw_header *h) nogil
    uint64_t gw_full(gw_header *h) nogil

__all__ = ["SharedTable", "NEVER", "SLOT_BYTES", "STRIPE_SLOTS", "RING", "MAX_LIMIT", "LOCK_KIND"]

MAGIC = b"GWSTATE1"
VERSION = 1
SLOT_BYTES = 128
STRIPE_SLOTS = 64
RING = 16
MAX_LIMIT = 2**31 - 1
LOCK_KIND = 1                # spinlocks (the Python twin uses POSIX record locks: 2)

cdef enum:
    C_STRIPE = 64
    C_RING = 16
    C_HEADER_BYTES = 4096
    C_LOCK_STRIDE = 64
    C_NEVER = 2147483647
    C_MAX_LIMIT = 2147483647
    KIND_WINDOW = 1
    KIND_QUOTA = 2

cdef double C_SPAN = 15.0    # bucket width = period / C_SPAN

_HEADER = struct.Struct("=8sIIQII16sQQ")

cdef uint32_t _pid = os.getpid()


def _after_fork():
    global _pid
    _pid = os.getpid()


os.register_at_fork(after_in_child=_after_fork)


def _geometry(slots):
    """(stripes, bytes before the first slot, total bytes) for a table of at least `slots` slots."""
    stripes = max(1, -(-slots // STRIPE_SLOTS))
    slots_offset = C_HEADER_BYTES + -(-stripes * C_LOCK_STRIDE // 4096) * 4096
    return stripes, slots_offset, slots_offset + stripes * STRIPE_SLOTS * SLOT_BYTES


cdef inline int64_t _ceil_at_least_1(double x) noexcept:
    cdef double c = ceil(x)
    return 1 if c < 1.0 else <int64_t>c


cdef class SharedTable:
    """Fixed-size table of counters in a memfd shared by the processes of one host."""

    cdef char *_base
    cdef size_t _size
    cdef gw_header *_header
    cdef gw_slot *_slots
    cdef uint64_t _stripes
    cdef readonly int fd
    cdef readonly uint64_t slots
    cdef readonly bytes seed

    def __cinit__(self, int fd):
        self._base = NULL
        size = os.fstat(fd).st_size
        if size < C_HEADER_BYTES:
            raise ValueError(f"fd {fd} is not a gwcore state table (only {size} bytes)")
        cdef void *mapped = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)
        if mapped == MAP_FAILED:
            raise OSError(f"cannot map the state table (fd {fd})")
        self._base = <char *>mapped
        self._size = size
        self._header = <gw_header *>mapped
        cdef gw_header *h = self._header
        if (memcmp(h.magic, b"GWSTATE1", 8) != 0 or h.version != VERSION or h.slot_bytes != SLOT_BYTES
                or h.stripe_slots != STRIPE_SLOTS):
            raise ValueError(f"fd {fd} is not a version {VERSION} gwcore state table")
        if h.lock_kind != LOCK_KIND:
            raise ValueError("the state table was made by the Python twin but this process uses the C twin:"
                             " set GW_NO_EXTENSIONS alike for the supervisor and its workers")
        stripes, slots_offset, total = _geometry(h.slots)
        if total > size:
            raise ValueError(f"the state table behind fd {fd} is truncated")
        self.fd = fd
        self.slots = h.slots
        self.seed = (<char *>h.seed)[:16]
        self._stripes = stripes
        self._slots = <gw_slot *>(self._base + <size_t>slots_offset)

    def __dealloc__(self):
        if self._base != NULL:
            munmap(self._base, self._size)
            self._base = NULL

    @classmethod
    def create(cls, slots):
        """A new zeroed table of at least `slots` slots (rounded up to whole stripes); `.fd` is inheritable."""
        stripes, _, size = _geometry(slots)
        fd = os.memfd_create("gwcore-state", 0)   # no MFD_CLOEXEC: the workers inherit it
        os.ftruncate(fd, size)
        os.pwrite(fd, _HEADER.pack(MAGIC, VERSION, SLOT_BYTES, stripes * STRIPE_SLOTS, STRIPE_SLOTS,
                                   LOCK_KIND, os.urandom(16), 0, 0), 0)
        return cls(fd)

    @classmethod
    def attach(cls, fd):
        """The table behind an fd inherited from the supervisor."""
        return cls(fd)

    def close(self) -> None:
        """Unmap and close the fd (the other processes keep their own mappings)."""
        if self._base != NULL:
            munmap(self._base, self._size)
            self._base = NULL
            os.close(self.fd)

    @property
    def full_count(self) -> int:
        """How many calls found their stripe full and were admitted uncounted, by every process."""
        self._check_open()
        return gw_full(self._header)

    def stats(self, double now) -> dict:
        """Slot occupancy at `now` (a full scan: for tests and diagnostics, not the request path)."""
        self._check_open()
        cdef uint64_t i, used = 0, live = 0
        for i in range(self.slots):
            if self._slots[i].check:
                used += 1
                live += self._slots[i].expires > now
        return {"slots": self.slots, "used": used, "live": live, "full": gw_full(self._header)}

    cdef inline void _check_open(self) except *:
        if self._base == NULL:
            raise ValueError("the state table is closed")

    cdef inline uint32_t *_lock_word(self, uint64_t stripe) noexcept:
        return <uint32_t *>(self._base + C_HEADER_BYTES + stripe * C_LOCK_STRIDE)

    cdef gw_slot *_find(self, uint64_t stripe, uint64_t h1, uint64_t h2, uint32_t kind, double period,
                        double start, double now, gw_slot **free) noexcept:
        """The key's live slot or NULL; *free: a slot it may claim or NULL. Caller holds the lock."""
        cdef gw_slot *base = self._slots + stripe * C_STRIPE
        cdef uint64_t first = (h1 >> 32) % C_STRIPE
        cdef gw_slot *s
        cdef int i
        free[0] = NULL
        for i in range(C_STRIPE):
            s = base + (first + <uint64_t>i) % C_STRIPE
            if s.check == 0:
                if free[0] == NULL:
                    free[0] = s
                return NULL
            if s.check == h2 and s.kind == kind and s.period == period and s.start == start and s.h1 == h1:
                if s.expires > now:
                    return s
                free[0] = s
                return NULL
            if free[0] == NULL and s.expires <= now:
                free[0] = s
        return NULL

    # ------------------------------------------------------------ sliding window

    def window(self, tuple digest, long long limit, double period, long long cost, double now):
        """(1 admitted | 0 refused | 2 admitted uncounted: table full, limit, remaining, retry_after, reset)."""
        if cost < 0 or limit < 0 or limit > C_MAX_LIMIT or not period > 0:
            raise ValueError("window needs cost >= 0, 0 <= limit < 2**31 and period > 0")
        self._check_open()
        cdef uint64_t h1 = digest[0]
        cdef uint64_t h2 = digest[1]
        h2 |= 1
        cdef uint64_t stripe = h1 % self._stripes
        cdef double w = period / C_SPAN
        cdef int64_t b = <int64_t>floor(now / w)
        cdef uint32_t counts[C_RING]
        cdef gw_slot *free
        cdef gw_slot *s
        cdef int64_t head, j
        cdef long long count = 0, retry = 0, reset = 0, need, freed
        cdef int flag = 1, i
        cdef uint32_t *lock = self._lock_word(stripe)
        gw_lock(lock, _pid)
        s = self._find(stripe, h1, h2, KIND_WINDOW, period, 0.0, now, &free)
        if s != NULL:
            head = s.head
            memcpy(counts, s.counts, sizeof(counts))
            if b < head:
                b = head
            elif b - head >= C_RING:
                memset(counts, 0, sizeof(counts))
            else:
                j = head + 1
                while j <= b:
                    counts[j & (C_RING - 1)] = 0
                    j += 1
        else:
            memset(counts, 0, sizeof(counts))
        for i in range(C_RING):
            count += counts[i]
        if count + cost > limit:
            flag = 0
            if cost > limit:
                retry = C_NEVER
            else:
                need = count + cost - limit
                freed = 0
                j = b - (C_RING - 1)
                while j <= b:
                    freed += counts[j & (C_RING - 1)]
                    if freed >= need:
                        retry = _ceil_at_least_1((j + C_RING) * w - now)
                        break
                    j += 1
        elif cost:
            if s == NULL:
                s = free
                if s == NULL:
                    gw_count_full(self._header)
                    gw_unlock(lock)
                    return 2, limit, max(0, limit - cost), 0, 0
            counts[b & (C_RING - 1)] += <uint32_t>cost
            count += cost
            s.check = h2
            s.kind = KIND_WINDOW
            s.pad = 0
            s.period = period
            s.start = 0.0
            s.expires = (b + C_RING) * w
            s.head = b
            s.used = 0
            memcpy(s.counts, counts, sizeof(counts))
            s.h1 = h1
        gw_unlock(lock)
        j = b
        while j > b - C_RING:
            if counts[j & (C_RING - 1)]:
                reset = _ceil_at_least_1((j + C_RING) * w - now)
                break
            j -= 1
        return flag, limit, max(0, limit - count), retry, reset

    # ------------------------------------------------------------ quota

    def quota(self, tuple digest, long long limit, double period, long long cost, double start, double now):
        """Fixed-window quota decision; same reply shape as `window`."""
        return self._quota(digest, limit, period, cost, start, now, False)

    def quota_add(self, tuple digest, double period, long long amount, double start, double now):
        """Count `amount` in the current quota window without a limit."""
        self._quota(digest, 0, period, amount, start, now, True)

    cdef tuple _quota(self, tuple digest, long long limit, double period, long long cost, double start,
                      double now, bint add):
        if cost < 0 or limit < 0 or period < 0:
            raise ValueError("quota needs cost >= 0, limit >= 0 and period >= 0")
        self._check_open()
        cdef uint64_t h1 = digest[0]
        cdef uint64_t h2 = digest[1]
        h2 |= 1
        cdef uint64_t stripe = h1 % self._stripes
        cdef int64_t n = <int64_t>floor((now - start) / period) if period > 0 else 0
        cdef long long used = 0, reset, retry
        cdef double end
        cdef gw_slot *free
        cdef uint32_t *lock = self._lock_word(stripe)
        gw_lock(lock, _pid)
        cdef gw_slot *s = self._find(stripe, h1, h2, KIND_QUOTA, period, start, now, &free)
        if s != NULL and n <= s.head:
            n = s.head
            used = s.used
        end = start + (n + 1) * period if period > 0 else INFINITY
        reset = _ceil_at_least_1(end - now) if period > 0 else C_NEVER
        if not add and used + cost > limit:
            gw_unlock(lock)
            retry = C_NEVER if period <= 0 or cost > limit else reset
            return 0, limit, max(0, limit - used), retry, reset
        if cost:
            if s == NULL:
                s = free
                if s == NULL:
                    gw_count_full(self._header)
                    gw_unlock(lock)
                    return 2, limit, max(0, limit - cost), 0, reset
            used += cost
            s.check = h2
            s.kind = KIND_QUOTA
            s.pad = 0
            s.period = period
            s.start = start
            s.expires = end
            s.head = n
            s.used = used
            memset(s.counts, 0, sizeof(s.counts))
            s.h1 = h1
        gw_unlock(lock)
        return 1, limit, max(0, limit - used), 0, reset
