"""quota: at most `calls` and/or `bandwidth` KB per renewal-period for each subscription (403 beyond)."""
from typing import ClassVar, Optional

from pydantic import Field, model_validator

from gwcore.pipeline.limits import check_quotas
from gwcore.policies import policy
from gwcore.policies.base import PolicyConfig
from gwcore.policies.fields import Element, ScopeRestricted, Text, duration, integer, many

Period = duration()


def check_volume(obj, what: str):
    if obj.calls is None and obj.bandwidth is None:
        raise ValueError(f"{what} needs calls, bandwidth or both")
    return obj


class QuotaTarget(Element):
    """Shared by the per-API and per-operation quotas: what is counted, and the `name`/`id` check."""

    kind: ClassVar[str] = "a quota"
    calls: Optional[integer(ge=1)] = Field(None, description="Calls allowed per renewal-period.")
    bandwidth: Optional[integer(ge=1)] = Field(None, description="Kilobytes allowed per renewal-period.")
    renewal_period: Period = Field(description="Fixed window in seconds; 0 means for ever.")

    @model_validator(mode="after")
    def _valid(self):
        if self.name is None and self.id is None:
            raise ValueError(f"{self.kind} needs name or id")
        return check_volume(self, self.kind)


class OperationQuota(QuotaTarget):
    """A separate quota for one operation of the API, named by `name` or `id` (id wins when both are given)."""

    kind: ClassVar[str] = "an operation quota"
    name: Optional[Text] = Field(None, description="Operation name; gwcore operations are named by id, so"
                                                   " this is matched against the id.")
    id: Optional[Text] = Field(None, description="Operation id (`id` under the API's operations).")


class ApiQuota(QuotaTarget):
    """A separate quota for one API of the product, named by `name` or `id`, with optional operation quotas."""

    kind: ClassVar[str] = "an API quota"
    name: Optional[Text] = Field(None, description="API name (its key under `apis:`).")
    id: Optional[Text] = Field(None, description="API id; in gwcore the same as the name.")
    operation: many(OperationQuota) = Field((), description="Per-operation quotas: a list of {name|id, calls,"
                                                            " bandwidth, renewal-period}.")


@policy("quota", sections=frozenset({"inbound"}))
class Quota(ScopeRestricted, PolicyConfig):
    """Limits call volume and/or bandwidth per subscription over a fixed window (or for ever); beyond it the
    caller gets 403 with Retry-After. Product scope only, as in APIM."""

    scopes: ClassVar[tuple] = ("product",)
    calls: Optional[integer(ge=1)] = Field(None, description="Calls allowed per renewal-period.")
    bandwidth: Optional[integer(ge=1)] = Field(None, description="Kilobytes allowed per renewal-period.")
    renewal_period: Period = Field(description="Fixed window in seconds from the subscription's start; 0 means"
                                               " for ever.")
    api: many(ApiQuota) = Field((), description="Per-API quotas: a list of {name|id, calls, bandwidth,"
                                                " renewal-period, operation}.")

    @model_validator(mode="after")
    def _volume(self):
        return check_volume(self, "quota")

    def compile(self, c) -> list:
        """Per subscription, windows counted from the epoch (gwcore keeps no subscription start
        dates): this statement's quota, then the called API's and operation's when named."""
        where = ".".join(str(p) for p in self.path)
        apis = {}
        for target in self.api:
            operations = {(op.id or op.name): op for op in target.operation}
            apis[target.id or target.name] = (target, operations)

        def quota(ctx):
            subscription = ctx.subscription
            if subscription is None:
                return None
            base = f"q:{where}:{subscription.id}"
            checks = volume_checks(base, self)
            found = apis.get(ctx.api.name)
            if found is not None:
                checks += volume_checks(f"{base}:api:{ctx.api.name}", found[0])
                operation = found[1].get(ctx.operation.id)
                if operation is not None:
                    checks += volume_checks(f"{base}:op:{ctx.api.name}:{ctx.operation.id}", operation)
            return check_quotas(ctx, checks, 0.0, 1, "quota")

        return [quota]


def volume_checks(key: str, target) -> list:
    """(key, limit, period, is_bandwidth) for the calls and the bandwidth (KB) a target limits."""
    checks = []
    if target.calls is not None:
        checks.append((key + ":calls", target.calls, target.renewal_period, False))
    if target.bandwidth is not None:
        checks.append((key + ":bytes", target.bandwidth * 1024, target.renewal_period, True))
    return checks
