"""The local state backend: counters in the host's shared-memory table, responses in a per-worker cache."""
import hashlib
import logging
import time

from gwcore.state import shm
from gwcore.state.base import StateBackend, decision
from gwcore.state.cache import ResponseCache

DEFAULT_SLOTS = 65536                 # 8 MiB of counters; pages are only touched as keys arrive
DEFAULT_CACHE_BYTES = 64 * 2**20
FULL_LOG_SECONDS = 60.0
DIGEST_CACHE = 65536

log = logging.getLogger("gwcore.state")


class LocalBackend(StateBackend):
    """Limits exact across the workers of one host (they share `table`); answers synchronously."""

    kind = "local"

    def __init__(self, table=None, *, clock=None, slots: int = DEFAULT_SLOTS, cache_bytes: int = DEFAULT_CACHE_BYTES):
        # A process without a supervisor-made region (tests, a single process) makes its own.
        self._owns_table = table is None
        self.table = table if table is not None else shm.SharedTable.create(slots)
        self._clock = clock or time.time
        self._seed = self.table.seed
        self._window = self.table.window
        self._quota = self.table.quota
        self._quota_add = self.table.quota_add
        self._digests = {}
        self._full_logged = None
        self.cache = ResponseCache(cache_bytes, self._clock)

    def _digest(self, key: str):
        """Two 64-bit halves of a keyed BLAKE2b of the key: the seed lives in the table, so every
        worker agrees, and no one can craft keys that crowd one stripe (which would make it fail open)."""
        raw = hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=16, key=self._seed).digest()
        digest = (int.from_bytes(raw[:8], "little"), int.from_bytes(raw[8:], "little"))
        if len(self._digests) >= DIGEST_CACHE:
            self._digests.clear()
        self._digests[key] = digest
        return digest

    def rate_limit(self, key, limit, period, cost=1):
        reply = self._window(self._digests.get(key) or self._digest(key), limit, period, cost, self._clock())
        return decision(reply) if reply[0] != 2 else self._table_full(reply)

    def quota(self, key, limit, period, cost=1, start=0.0):
        reply = self._quota(self._digests.get(key) or self._digest(key), limit, period, cost, start, self._clock())
        return decision(reply) if reply[0] != 2 else self._table_full(reply)

    def quota_add(self, key, period, amount, start=0.0):
        self._quota_add(self._digests.get(key) or self._digest(key), period, amount, start, self._clock())

    def _table_full(self, reply):
        """Fail open: admit what could not be counted, and say so now and then."""
        now = time.monotonic()
        if self._full_logged is None or now - self._full_logged >= FULL_LOG_SECONDS:
            self._full_logged = now
            log.warning("state table full (%d slots): calls of new keys are admitted without counting"
                        " (%d so far on this host); give the supervisor a larger table",
                        self.table.slots, self.table.full_count)
        return decision((1,) + tuple(reply[1:]))

    def cache_get(self, key):
        return self.cache.get(key)

    def cache_set(self, key, value, ttl):
        self.cache.set(key, value, ttl)

    def cache_delete(self, key):
        self.cache.delete(key)

    def health(self) -> dict:
        return {"kind": "local", "connected": True, "since": None, "errors": 0, "latency_ms": None,
                "slots": self.table.slots, "table_full": self.table.full_count}

    async def close(self) -> None:
        if self._owns_table:
            self.table.close()
