"""rate-limit-by-key: at most `calls` per sliding `renewal-period` for each value of counter-key."""
from typing import Optional

from pydantic import Field

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
