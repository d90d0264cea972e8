"""cache-lookup-value: read a value stored under a key into a context variable."""
from typing import Optional

from pydantic import Field

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
