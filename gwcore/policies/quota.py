"""quota: at most `calls` and/or `bandwidth` KB per renewal-period for each subscription (403 beyond)."""
from typing import ClassVar, Optional

from pydantic import Field, model_validator

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
