"""What the rate-limit and quota policies share: asking the state backend, and answering its Decision.

The state backend answers a local decision at once and a Redis one with an awaitable; `then`
keeps the request on the callback path in both cases (no Task for a local decision).
"""
import asyncio

from gwcore.observability.metrics import count_decision
from gwcore.pipeline.errors import PolicyError
from gwcore.state.base import Decision, StateUnavailable

NEVER_SECONDS = 2**31 - 1


def state_of(ctx):
    """The worker's state backend (local shared memory, or Redis)."""
    return ctx._exchange.worker.state


def then(result, decided, loop):
    """`decided(result)` now when the backend answered at once, else a Future of it."""
    if not hasattr(result, "__await__"):
        return decided(result)
    out = loop.create_future()

    def done(future):
        if out.cancelled():
            return
        try:
            out.set_result(decided(future.result()))
        except BaseException as exc:  # noqa: BLE001 - the step's failure, for the runner
            out.set_exception(exc)

    asyncio.ensure_future(result, loop=loop).add_done_callback(done)
    return out


def check_all(ctx, checks: list, ask, on_decision):
    """Ask the backend `ask(key, limit, period)` for each (key, limit, period) in turn until one
    denies; `on_decision(decision, limit, period)` answers each (raising when denied)."""
    loop = ctx._run.loop

    def step(index):
        if index == len(checks):
            return None
        key, limit, period = checks[index]
        try:
            result = ask(key, limit, period)
        except StateUnavailable:
            raise unavailable() from None

        def decided(decision):
            on_decision(decision, limit, period)
            return step(index + 1)
        return then(result, decided, loop)

    return step(0)


def unavailable() -> PolicyError:
    """The limit cannot be decided and the gateway fails closed (on_state_failure: closed)."""
    return PolicyError(503, "Service unavailable: the rate-limit and quota store cannot be reached.",
                       "StateUnavailable", source="state")


def ratelimit_headers(name: bytes, decision: Decision, period: float) -> list:
    """IETF RateLimit-Policy / RateLimit fields (draft-ietf-httpapi-ratelimit-headers) for one limit."""
    window = max(int(period), 1)
    reset = min(decision.reset, window) if decision.reset < NEVER_SECONDS else window
    return [(b"ratelimit-policy", b'"%s";q=%d;w=%d' % (name, decision.limit, window)),
            (b"ratelimit", b'"%s";r=%d;t=%d' % (name, decision.remaining, reset))]


def replenished_in(seconds: int) -> str:
    """hh:mm:ss, as APIM words the quota message (hours may pass 24)."""
    seconds = max(int(seconds), 0)
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def quota_denied(decision: Decision, bandwidth: bool, source: str) -> PolicyError:
    """APIM's 403 for a spent quota, with Retry-After unless it never renews."""
    what = "bandwidth" if bandwidth else "call volume"
    if decision.retry_after >= NEVER_SECONDS:
        return PolicyError(403, f"Out of {what} quota.", "QuotaExceeded", source=source)
    wait = max(decision.retry_after, 1)
    return PolicyError(403, f"Out of {what} quota. Quota will be replenished in {replenished_in(wait)}.",
                       "QuotaExceeded", source=source, headers=((b"retry-after", b"%d" % wait),))


def check_quotas(ctx, checks: list, start: float, cost: int, source: str, count_now: bool = True,
                 admitted=None):
    """Quota checks in turn: (key, limit, period, is_bandwidth). Calls are counted as they are
    admitted (unless `count_now` is false: increment-condition decides after the response,
    from `admitted()`, called once every check passed); bandwidth is peeked now and its bytes
    are added when the request ends."""
    state = state_of(ctx)
    loop = ctx._run.loop

    def step(index):
        if index == len(checks):
            if admitted is not None:
                admitted()
            return None
        key, limit, period, bandwidth = checks[index]
        try:
            result = state.quota(key, limit, period, 0 if bandwidth or not count_now else cost, start)
        except StateUnavailable:
            raise unavailable() from None

        def decided(decision):
            if (bandwidth or not count_now) and decision.remaining < (1 if bandwidth else cost):
                wait = decision.reset if decision.reset else NEVER_SECONDS
                decision = Decision(False, decision.limit, decision.remaining, wait, wait)
            count_decision(source, decision.allowed)
            if not decision.allowed:
                raise quota_denied(decision, bandwidth, source)
            if bandwidth:
                ctx._on_end(lambda: state.quota_add(key, period, transferred(ctx), start))
            return step(index + 1)
        return then(result, decided, loop)

    return step(0)


def transferred(ctx) -> int:
    """Bytes of request and response bodies this call moved (for bandwidth quotas)."""
    exchange = ctx._exchange
    return exchange.body_received + exchange.bytes_out
