"""cache-remove-value: remove the value stored under a key."""
from pydantic import Field

from gwcore.pipeline.caching import cache_of
from gwcore.pipeline.steps import as_text, one_value
from gwcore.policies import policy
from gwcore.policies.base import PolicyConfig
from gwcore.policies.cache_lookup import CACHING_TYPE_HELP, CachingType
from gwcore.policies.fields import TextOrExpr


@policy("cache-remove-value", sections=frozenset({"inbound", "outbound", "backend"}))
class CacheRemoveValue(PolicyConfig):
    """Removes a key from the value cache."""

    key: TextOrExpr = Field(description="Cache key.")
    caching_type: CachingType = Field("prefer-external", description=CACHING_TYPE_HELP)

    def compile(self, c) -> list:
        key = one_value(c, self.key, as_text)
        caching_type = self.caching_type

        def cache_remove_value(ctx):
            return cache_of(ctx, caching_type).cache_delete("value:" + key(ctx))

        return [cache_remove_value]
