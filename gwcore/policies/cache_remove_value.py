"""cache-remove-value: remove the value stored under a key."""
from pydantic import Field

from gwcore.policies import policy
from gwcore.policies.base import PolicyConfig
from gwcore.policies.cache_lookup import CACHING_TYPE_HELP, CachingType
from gwcore.policies.fields import TextOrExpr


@policy("cache-remove-value", sections=frozenset({"inbound", "outbound", "backend"}))
class CacheRemoveValue(PolicyConfig):
    """Removes a key from the value cache."""

    key: TextOrExpr = Field(description="Cache key.")
    caching_type: CachingType = Field("prefer-external", description=CACHING_TYPE_HELP)
