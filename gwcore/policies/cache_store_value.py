"""cache-store-value: store a value in the value cache under a key."""
from pydantic import Field

from gwcore.policies import policy
from gwcore.policies.base import PolicyConfig
from gwcore.policies.cache_lookup import CACHING_TYPE_HELP, CachingType
from gwcore.policies.fields import Scalar, TextOrExpr, duration

TimeToLive = duration(gt=0, expressions=True)


@policy("cache-store-value", sections=frozenset({"inbound", "outbound", "backend"}))
class CacheStoreValue(PolicyConfig):
    """Stores a value under a key for `duration` seconds."""

    key: TextOrExpr = Field(description="Cache key.")
    value: Scalar = Field(description="Value to store.")
    duration: TimeToLive = Field(description="Time to live of the entry, in seconds.")
    caching_type: CachingType = Field("prefer-external", description=CACHING_TYPE_HELP)
