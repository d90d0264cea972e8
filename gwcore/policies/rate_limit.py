"""rate-limit: at most `calls` per sliding `renewal-period` for each subscription (429 beyond)."""
from typing import ClassVar, Optional

from pydantic import Field, model_validator

from gwcore.policies import policy
from gwcore.policies.base import PolicyConfig
from gwcore.policies.fields import Element, HeaderName, ScopeRestricted, Text, duration, integer, many

RenewalPeriod = duration(gt=0, le=300)


class LimitTarget(Element):
    """Shared by the per-API and per-operation limits: what is counted, and the `name`/`id` check."""

    kind: ClassVar[str] = "a limit"
    calls: integer(ge=1) = Field(description="Calls allowed per renewal-period.")
    renewal_period: RenewalPeriod = Field(description="Sliding window in seconds, at most 300.")

    @model_validator(mode="after")
    def _named(self):
        if self.name is None and self.id is None:
            raise ValueError(f"{self.kind} needs name or id")
        return self


class OperationLimit(LimitTarget):
    """A separate limit for one operation of the API, named by `name` or `id` (id wins when both are given)."""

    kind: ClassVar[str] = "an operation limit"
    name: Optional[Text] = Field(None, description="Operation name; gwcore operations are named by id, so"
                                                   " this is matched against the id.")
    id: Optional[Text] = Field(None, description="Operation id (`id` under the API's operations).")


class ApiLimit(LimitTarget):
    """A separate limit for one API of the product, named by `name` or `id`, with optional operation limits."""

    kind: ClassVar[str] = "an API limit"
    name: Optional[Text] = Field(None, description="API name (its key under `apis:`).")
    id: Optional[Text] = Field(None, description="API id; in gwcore the same as the name.")
    operation: many(OperationLimit) = Field((), description="Per-operation limits: a list of {name|id, calls,"
                                                            " renewal-period}.")


class RateLimitHeaders(PolicyConfig):
    """Response headers and variables reporting a call-rate limit's state."""

    retry_after_header_name: HeaderName = Field("Retry-After", description="Header carrying the seconds to wait"
                                                                           " once the limit is exceeded.")
    retry_after_variable_name: Optional[Text] = Field(None, description="Variable receiving the seconds to wait"
                                                                        " once the limit is exceeded.")
    remaining_calls_header_name: Optional[HeaderName] = Field(None, description="Header carrying the calls"
                                                                                " left in the window.")
    remaining_calls_variable_name: Optional[Text] = Field(None, description="Variable receiving the calls left"
                                                                            " in the window.")
    total_calls_header_name: Optional[HeaderName] = Field(None, description="Header carrying `calls`.")


@policy("rate-limit", sections=frozenset({"inbound"}))
class RateLimit(ScopeRestricted, RateLimitHeaders):
    """Limits the call rate per subscription (calls without a subscription are not counted); beyond the limit
    the caller gets 429 with Retry-After."""

    scopes: ClassVar[tuple] = ("product", "api", "operation")
    calls: integer(ge=1) = Field(description="Calls allowed per renewal-period.")
    renewal_period: RenewalPeriod = Field(description="Sliding window in seconds, at most 300.")
    api: many(ApiLimit) = Field((), description="Per-API limits inside a product: a list of {name|id, calls,"
                                                " renewal-period, operation}.")
