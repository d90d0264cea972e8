"""Per-worker response cache: an LRU of byte strings under a byte budget, each entry with its own TTL."""
from collections import OrderedDict

# Dict slot, tuple and key object per entry, roughly: without it a flood of tiny entries would
# hold far more memory than the budget says.
ENTRY_OVERHEAD = 128


class ResponseCache:
    """Least recently used entries go first when a new one would pass the budget; expired ones read as absent."""

    def __init__(self, budget: int, clock):
        self.budget = budget
        self.size = 0
        self._clock = clock
        self._entries = OrderedDict()   # key -> (expires, value)

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: str):
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry[0] <= self._clock():
            self._remove(key)
            return None
        self._entries.move_to_end(key)
        return entry[1]

    def set(self, key: str, value: bytes, ttl: float) -> None:
        self._remove(key)
        cost = len(key) + len(value) + ENTRY_OVERHEAD
        if ttl <= 0 or cost > self.budget:
            return
        while self.size + cost > self.budget:
            old_key, (_, old_value) = self._entries.popitem(last=False)
            self.size -= len(old_key) + len(old_value) + ENTRY_OVERHEAD
        self._entries[key] = (self._clock() + ttl, value)
        self.size += cost

    def delete(self, key: str) -> None:
        self._remove(key)

    def _remove(self, key: str) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self.size -= len(key) + len(entry[1]) + ENTRY_OVERHEAD
