"""cache-store: store the response in the response cache (pairs with cache-lookup)."""
from pydantic import Field

from gwcore.policies import policy
from gwcore.policies.base import PolicyConfig
from gwcore.policies.fields import Flag, duration

TimeToLive = duration(gt=0, expressions=True)


@policy("cache-store", sections=frozenset({"outbound"}))
class CacheStore(PolicyConfig):
    """Stores the response for `duration` seconds for later cache-lookup hits."""

    duration: TimeToLive = Field(description="Time to live of the entry, in seconds.")
    cache_response: Flag = Field(False, description="Store this response whatever its status; false: only"
                                                    " 200 responses are stored.")
