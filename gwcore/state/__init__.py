"""Shared state for limits, quotas and the response cache: `open_backend` picks the store the config names."""
from gwcore.state.base import NEVER, Decision, StateBackend, StateUnavailable, resolve
from gwcore.state.local import LocalBackend

__all__ = ["open_backend", "LocalBackend", "Decision", "StateBackend", "StateUnavailable", "NEVER", "resolve"]


def open_backend(settings, shared_table=None, *, clock=None) -> StateBackend:
    """The backend `settings.state` names (local, or a Redis URL failing per `settings.on_state_failure`).

    `shared_table` is this host's SharedTable (the supervisor creates it, each worker attaches
    it); without one the process makes its own, so limits are exact for this process only.
    Redis falls back to the same table while it is unreachable."""
    local = LocalBackend(shared_table, clock=clock)
    if settings.state == "local":
        return local
    from gwcore.state.redis_backend import RedisBackend   # redis-py is only imported when used

    return RedisBackend(settings.state, fallback=local, on_failure=settings.on_state_failure, clock=clock)
