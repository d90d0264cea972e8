"""cache-store-value: store a value in the value cache under a key."""
from pydantic import Field

import orjson

from gwcore.pipeline.caching import cache_of
from gwcore.pipeline.steps import as_text, one_value
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

    def compile(self, c) -> list:
        key = one_value(c, self.key, as_text)
        value = one_value(c, self.value)
        ttl = one_value(c, self.duration, float)
        caching_type = self.caching_type

        def cache_store_value(ctx):
            # a remote store is waited for, so a lookup later in this request reads what was stored
            return cache_of(ctx, caching_type).cache_set("value:" + key(ctx), orjson.dumps(value(ctx)), ttl(ctx))

        return [cache_store_value]
