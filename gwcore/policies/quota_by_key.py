"""quota-by-key: at most `calls` and/or `bandwidth` KB per renewal-period for each value of counter-key."""
from datetime import date, datetime, time, timezone
from typing import Annotated, Optional

from pydantic import BeforeValidator, Field, model_validator

from gwcore.pipeline.limits import check_quotas
from gwcore.pipeline.steps import as_text, one_value
from gwcore.policies import policy
from gwcore.policies.base import PolicyConfig
from gwcore.policies.fields import Flag, Label, TextOrExpr, duration, integer
from gwcore.policies.quota import check_volume, volume_checks


def _instant(value) -> datetime:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(f"{value!r} is not a date-time; write it as 2024-01-01T00:00:00Z") from None
    elif isinstance(value, date) and not isinstance(value, datetime):
        value = datetime.combine(value, time())
    if not isinstance(value, datetime):
        raise ValueError("write a date-time like 2024-01-01T00:00:00Z")
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


Instant = Annotated[datetime, BeforeValidator(_instant), Label("ISO 8601 date-time")]


@policy("quota-by-key", sections=frozenset({"inbound"}))
class QuotaByKey(PolicyConfig):
    """Limits call volume and/or bandwidth per key over fixed windows counted from first-period-start (or for
    ever); beyond it the caller gets 403 with Retry-After."""

    calls: Optional[integer(ge=1)] = Field(None, description="Calls allowed per renewal-period.")
    bandwidth: Optional[integer(ge=1)] = Field(None, description="Kilobytes allowed per renewal-period.")
    renewal_period: duration() = Field(description="Fixed window in seconds; 0 means for ever.")
    counter_key: TextOrExpr = Field(description="The key counted, usually an @(expression).")
    increment_condition: Optional[Flag] = Field(None, description="Count the request only when this is true.")
    increment_count: integer(ge=1, expressions=True) = Field(1, description="How much one request adds to the"
                                                                            " counter.")
    first_period_start: Instant = Field(datetime(1, 1, 1, tzinfo=timezone.utc),
                                        description="Start of the first window; later windows follow on.")

    @model_validator(mode="after")
    def _volume(self):
        return check_volume(self, "quota-by-key")

    def compile(self, c) -> list:
        """Like quota, per counter-key value. With increment-condition the call is counted after the
        response when the condition holds (checked, not counted, on the way in)."""
        key = one_value(c, self.counter_key, as_text)
        cost = one_value(c, self.increment_count, int)
        start = self.first_period_start.timestamp()
        condition = None
        if self.increment_condition is not None:
            condition = one_value(c, self.increment_condition, lambda v: v is True or as_text(v).lower() == "true")

        def quota_by_key(ctx):
            checks = volume_checks(f"qk:{key(ctx)}", self)
            units = cost(ctx)
            if condition is None:
                return check_quotas(ctx, checks, start, units, "quota-by-key")
            return check_quotas(ctx, checks, start, units, "quota-by-key", count_now=False,
                                admitted=lambda: ctx._on_end(lambda: _count_later(ctx, condition, checks, start,
                                                                                  units)))

        return [quota_by_key]


def _count_later(ctx, condition, checks, start: float, units: int) -> None:
    try:
        if condition(ctx):
            state = ctx._exchange.worker.state
            for key, _, period, bandwidth in checks:
                if not bandwidth:
                    state.quota_add(key, period, units, start)
    except Exception:  # noqa: BLE001 - the answer is sent; a failure here must not touch it
        return
