"""rate-limit-by-key: at most `calls` per sliding `renewal-period` for each value of counter-key."""
import asyncio
from typing import Optional

from pydantic import Field

from gwcore.pipeline.limits import state_of, then, unavailable
from gwcore.state.base import Decision, StateUnavailable
from gwcore.pipeline.steps import as_text, one_value
from gwcore.policies import policy
from gwcore.policies.fields import Flag, TextOrExpr, duration, integer
from gwcore.policies.rate_limit import RateLimitHeaders


@policy("rate-limit-by-key", sections=frozenset({"inbound"}))
class RateLimitByKey(RateLimitHeaders):
    """Limits the call rate per key (e.g. the caller's IP); one counter per key value across all scopes;
    beyond the limit the caller gets 429 with Retry-After."""

    calls: integer(ge=1, expressions=True) = Field(description="Calls allowed per renewal-period.")
    renewal_period: duration(gt=0, le=300, expressions=True) = Field(description="Sliding window in seconds,"
                                                                                " at most 300.")
    counter_key: TextOrExpr = Field(description="The key counted, usually an @(expression) like"
                                                " @(context.request.ip_address).")
    increment_condition: Optional[Flag] = Field(None, description="Count the request only when this is true.")
    increment_count: integer(ge=1, expressions=True) = Field(1, description="How much one request adds to the"
                                                                            " counter.")

    def compile(self, c) -> list:
        """Without increment-condition the call is counted as it is admitted, in one atomic step.
        With one, APIM counts after the response: the limit is checked (peeked) on the way in and
        the call counted on the way out when the condition holds; concurrent calls may then pass
        the peek together, so that form can admit a little more than `calls`."""
        key = one_value(c, self.counter_key, as_text)
        calls = one_value(c, self.calls, int)
        period = one_value(c, self.renewal_period, float)
        count = one_value(c, self.increment_count, int)
        condition = None
        if self.increment_condition is not None:
            condition = one_value(c, self.increment_condition, lambda v: v is True or as_text(v).lower() == "true")

        report = self.reporter()

        def rate_limit_by_key(ctx):
            counter = f"rlk:{key(ctx)}"
            limit, window, cost = calls(ctx), period(ctx), count(ctx)
            state = state_of(ctx)
            try:
                result = state.rate_limit(counter, limit, window, 0 if condition else cost)
            except StateUnavailable:
                raise unavailable() from None

            def decided(decision):
                if condition is not None:
                    if decision.remaining < cost:  # the peek: would this call fit?
                        wait = max(decision.reset, 1)
                        decision = Decision(False, decision.limit, decision.remaining, wait, wait)
                    else:
                        ctx._on_end(lambda: _count_later(ctx, condition, state, counter, limit, window, cost))
                report(ctx, decision, window)
            return then(result, decided, ctx._run.loop)

        return [rate_limit_by_key]


def _count_later(ctx, condition, state, counter: str, limit: int, window: float, cost: int) -> None:
    """After the response: count the call when increment-condition holds (the decision no longer matters)."""
    try:
        if not condition(ctx):
            return
        result = state.rate_limit(counter, limit, window, cost)
    except Exception:  # noqa: BLE001 - the answer is sent; a failure here must not touch it
        return
    if not isinstance(result, Decision):
        asyncio.ensure_future(result).add_done_callback(lambda f: f.cancelled() or f.exception())
