"""rate-limit: at most `calls` per sliding `renewal-period` for each subscription (429 beyond)."""
from typing import ClassVar, Optional

from pydantic import Field, model_validator

from gwcore.observability.metrics import count_decision
from gwcore.pipeline.errors import PolicyError
from gwcore.pipeline.limits import check_all, ratelimit_headers, state_of, then, unavailable
from gwcore.state.base import Decision, StateUnavailable
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

    def reporter(self):
        """A function (ctx, decision, period) that reports a decision as this statement's attributes
        ask and raises the 429 when it denies. Header names are encoded once, here."""
        remaining_variable = self.remaining_calls_variable_name
        retry_variable = self.retry_after_variable_name
        remaining_header = _name(self.remaining_calls_header_name)
        total_header = _name(self.total_calls_header_name)
        retry_header = _name(self.retry_after_header_name)
        policy_name = self.policy_name
        field_name = policy_name.encode("latin-1")   # the RateLimit fields' policy name, encoded once

        def report(ctx, decision, period: float) -> None:
            count_decision(policy_name, decision.allowed)
            if remaining_variable:
                ctx.variables[remaining_variable] = decision.remaining
            headers = ratelimit_headers(field_name, decision, period)
            if remaining_header:
                headers.append((remaining_header, b"%d" % decision.remaining))
            if total_header:
                headers.append((total_header, b"%d" % decision.limit))
            if decision.allowed:
                ctx._add_response_headers(headers)
                return
            wait = max(decision.retry_after, 1)
            if retry_variable:
                ctx.variables[retry_variable] = wait
            headers.append((retry_header, b"%d" % wait))
            raise PolicyError(429, f"Rate limit is exceeded. Try again in {wait} seconds.", "RateLimitExceeded",
                              source=policy_name, headers=tuple(headers))

        return report


def _name(header):
    return header.lower().encode("latin-1") if header else None


@policy("rate-limit", sections=frozenset({"inbound"}))
class RateLimit(ScopeRestricted, RateLimitHeaders):
    """Limits the call rate per subscription (calls without a subscription are not counted); beyond the limit
    the caller gets 429 with Retry-After."""

    scopes: ClassVar[tuple] = ("product", "api", "operation")
    calls: integer(ge=1) = Field(description="Calls allowed per renewal-period.")
    renewal_period: RenewalPeriod = Field(description="Sliding window in seconds, at most 300.")
    api: many(ApiLimit) = Field((), description="Per-API limits inside a product: a list of {name|id, calls,"
                                                " renewal-period, operation}.")

    def compile(self, c) -> list:
        """Per subscription: this statement's limit, then the limit of the called API and of the
        called operation when the statement names them. Calls without a subscription pass."""
        where = ".".join(str(p) for p in self.path)   # one counter set per statement
        apis = {}
        for limit in self.api:
            operations = {(op.id or op.name): (op.calls, op.renewal_period) for op in limit.operation}
            apis[limit.id or limit.name] = (limit.calls, limit.renewal_period, operations)

        report = self.reporter()
        calls, period = self.calls, self.renewal_period
        counters = {}   # subscription id -> its counter key, built once

        def rate_limit(ctx):
            subscription = ctx.subscription
            if subscription is None:
                return None
            base = counters.get(subscription.id)
            if base is None:
                base = counters[subscription.id] = f"rl:{where}:{subscription.id}"
            api = apis.get(ctx.api.name)
            if api is None:  # the common case: one limit, and a local answer needs no callback
                try:
                    result = state_of(ctx).rate_limit(base, calls, period)
                except StateUnavailable:
                    raise unavailable() from None
                if type(result) is Decision:
                    return report(ctx, result, period)
                return then(result, lambda decision: report(ctx, decision, period), ctx._run.loop)
            checks = [(base, calls, period), (f"{base}:api:{ctx.api.name}", api[0], api[1])]
            operation = api[2].get(ctx.operation.id)
            if operation is not None:
                checks.append((f"{base}:op:{ctx.api.name}:{ctx.operation.id}", *operation))
            return check_all(ctx, checks, state_of(ctx).rate_limit,
                             lambda decision, limit, window: report(ctx, decision, window))

        return [rate_limit]
