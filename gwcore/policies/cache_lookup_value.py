"""cache-lookup-value: read a value stored under a key into a context variable."""
from typing import Optional

from pydantic import Field

import orjson

from gwcore.pipeline.caching import cache_of, fetch
from gwcore.pipeline.steps import as_text, one_value
from gwcore.policies import policy
from gwcore.policies.base import PolicyConfig
from gwcore.policies.cache_lookup import CACHING_TYPE_HELP, CachingType
from gwcore.policies.fields import Scalar, Text, TextOrExpr


@policy("cache-lookup-value", sections=frozenset({"inbound", "outbound", "backend"}))
class CacheLookupValue(PolicyConfig):
    """Looks a key up in the value cache and puts the value in a context variable."""

    key: TextOrExpr = Field(description="Cache key.")
    default_value: Optional[Scalar] = Field(None, description="Value assigned on a miss; absent: the variable"
                                                              " is not set.")
    variable_name: Text = Field(description="Context variable receiving the value.")
    caching_type: CachingType = Field("prefer-external", description=CACHING_TYPE_HELP)

    def compile(self, c) -> list:
        key = one_value(c, self.key, as_text)
        default = one_value(c, self.default_value) if self.default_value is not None else None
        name, caching_type = self.variable_name, self.caching_type

        def cache_lookup_value(ctx):
            def found(value):
                if value is not None:
                    ctx.variables[name] = orjson.loads(value)
                elif default is not None:
                    ctx.variables[name] = default(ctx)
            return fetch(cache_of(ctx, caching_type), "value:" + key(ctx), ctx._run.loop, found)

        return [cache_lookup_value]
