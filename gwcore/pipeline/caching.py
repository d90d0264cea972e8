"""The response and value caches the cache-* policies share: stores, entry format, coalescing.

A stored response is `status`, its headers and its body in one bytes value (a JSON head line,
then the body), so every store — per-worker memory or Redis — keeps it as it is.
"""
import orjson

from gwcore.pipeline.limits import then


def cache_of(ctx, caching_type: str):
    """internal: this worker's memory; external / prefer-external: the configured state store
    (Redis when there is one, else this worker's memory)."""
    state = ctx._exchange.worker.state
    if caching_type == "internal":
        return getattr(state, "fallback", state)
    return state


def pack(status: int, reason, headers: list, body: bytes, expires: float) -> bytes:
    head = orjson.dumps([status, reason, [[n.decode("latin-1"), v.decode("latin-1")] for n, v in headers],
                         expires])
    return head + b"\n" + body


def unpack(value: bytes):
    """(status, reason, headers, body, expires at) of a stored response."""
    head, _, body = value.partition(b"\n")
    status, reason, headers, expires = orjson.loads(head)
    return status, reason, [(n.encode("latin-1"), v.encode("latin-1")) for n, v in headers], body, expires


class Coalescer:
    """Per worker: while one request fetches what a key misses, the others wait for its answer
    instead of going to the backend too. The first one to miss leads; when it stores the
    response (or gives up) the waiters are released with the stored bytes (or None)."""

    def __init__(self):
        self.waiting = {}   # key -> list of futures; present while a leader fetches

    def lead_or_wait(self, key: str, loop):
        """None: the caller leads (goes to the backend). Else a Future of the leader's bytes."""
        waiters = self.waiting.get(key)
        if waiters is None:
            self.waiting[key] = []
            return None
        future = loop.create_future()
        waiters.append(future)
        return future

    def done(self, key: str, value) -> None:
        for future in self.waiting.pop(key, ()):
            if not future.done():
                future.set_result(value)


def fetch(cache, key: str, loop, found):
    """`found(bytes or None)` now for a local store, else a Future of it."""
    return then(cache.cache_get(key), found, loop)
