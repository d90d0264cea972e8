"""The StateBackend interface the policies call: rate-limit and quota decisions, response cache entries."""
import inspect
from dataclasses import dataclass
from datetime import datetime, timezone

__all__ = ["Decision", "StateBackend", "StateUnavailable", "NEVER", "decision", "resolve", "iso"]

# retry_after / reset when nothing will ever free up: a lifetime quota, or a cost above the limit.
NEVER = 2**31 - 1


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int       # calls (or units) left in the window after this decision, >= 0
    retry_after: int     # whole seconds (ceil, >= 1 when denied) until a call of this cost would be admitted; 0 when allowed
    reset: int           # whole seconds until the window frees up completely (for RateLimit headers)


class StateUnavailable(Exception):
    """The shared state store cannot answer and the gateway fails closed (on_state_failure: closed): 503."""


class StateBackend:
    """What every store offers. Local backends answer synchronously (the value itself); the Redis
    backend answers with awaitables, or with the value itself while it serves from its fallback.
    Callers check `isinstance(result, Decision)` / `inspect.isawaitable(result)`."""

    kind: str = "none"

    def rate_limit(self, key: str, limit: int, period: float, cost: int = 1):
        """Sliding window of `period` seconds: admit when the calls admitted in the last `period`
        seconds plus `cost` is <= limit, then count it. NEVER over-admits: in any interval of
        length `period`, at most `limit` units are admitted (across every worker / gateway sharing
        the backend). cost=0 peeks without counting."""
        raise NotImplementedError

    def quota(self, key: str, limit: int, period: float, cost: int = 1, start: float = 0.0):
        """Fixed windows of `period` seconds counted from epoch time `start` (APIM
        first-period-start); period 0 = one lifetime window. Admit when used + cost <= limit.
        cost=0 peeks. Used for calls and for bandwidth (the caller adds bytes after the response
        with `quota_add`)."""
        raise NotImplementedError

    def quota_add(self, key: str, period: float, amount: int, start: float = 0.0) -> None:
        """Add `amount` to the current quota window without a decision (fire and forget)."""
        raise NotImplementedError

    def cache_get(self, key: str):
        """The cached bytes, or None when absent or expired."""
        raise NotImplementedError

    def cache_set(self, key: str, value: bytes, ttl: float):
        """Store `value` for `ttl` seconds (ttl <= 0 removes the entry)."""
        raise NotImplementedError

    def cache_delete(self, key: str):
        raise NotImplementedError

    def health(self) -> dict:
        """{"kind", "connected", "since", "errors", "latency_ms", ...} for /internal/status."""
        raise NotImplementedError

    def problems(self) -> list:
        """Reasons the backend cannot serve (empty when fine), for the readiness probe."""
        return []

    def degraded(self) -> list:
        """Reasons the backend serves worse than configured but still serves (empty when fine):
        shown in the probe's 200 body, never a reason to take the gateway out of rotation."""
        return []

    async def start(self, timeout: float = 1.0) -> None:
        """Connect before the first request (a no-op for local backends); returns after `timeout`
        at the latest, connected or not (a backend that is not connected serves per on_failure)."""

    async def close(self) -> None:
        """Release connections and memory this backend owns."""


_decisions = {}
_new = object.__new__
# The slots' own setters: what the frozen dataclass __init__ ends up calling, minus its detours
# through object.__setattr__ (half the cost of a Decision).
_set_allowed, _set_limit, _set_remaining, _set_retry_after, _set_reset = (
    getattr(Decision, name).__set__ for name in ("allowed", "limit", "remaining", "retry_after", "reset"))


def decision(reply: tuple) -> Decision:
    """The Decision for an (allowed, limit, remaining, retry_after, reset) reply tuple.

    Decisions are immutable values that repeat a lot and building one costs more than the
    table lookup that decided it, so replies are interned (bounded: cleared when large)."""
    found = _decisions.get(reply)
    if found is None:
        if len(_decisions) >= 8192:
            _decisions.clear()
        found = _new(Decision)
        _set_allowed(found, bool(reply[0]))
        _set_limit(found, reply[1])
        _set_remaining(found, reply[2])
        _set_retry_after(found, reply[3])
        _set_reset(found, reply[4])
        _decisions[reply] = found
    return found


async def resolve(result):
    """The value of a backend call, whether the backend answered at once or with an awaitable."""
    if inspect.isawaitable(result):
        return await result
    return result


def iso(ts: float) -> str:
    """An epoch time in the format of the status endpoints: 2024-05-01T12:00:00.000Z."""
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
