"""cache-store: store the response in the response cache (pairs with cache-lookup)."""
from pydantic import Field

import time

from gwcore.pipeline.caching import cache_of, pack
from gwcore.pipeline.steps import as_text, one_value
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

    def compile(self, c) -> list:
        """Stores what cache-lookup missed: 200 answers (any status with cache-response), never one
        marked no-store, and one marked private or setting a cookie only when entries are kept
        per developer."""
        c.reads_body()
        from gwcore.policies.cache_lookup import CacheLookup
        ttl = one_value(c, self.duration, float)
        any_status = one_value(c, self.cache_response, lambda v: v is True or as_text(v).lower() == "true")

        def cache_store(ctx):
            looked = (ctx._state or {}).get(CacheLookup)
            if looked is None:
                return None
            key, caching_type, coalescer, per_developer = looked
            response = ctx.response
            if response.status_code != 200 and not any_status(ctx):
                return None
            control = (response.headers.get("cache-control") or "").lower()
            if "no-store" in control:
                return None
            if not per_developer and ("private" in control or "set-cookie" in response.headers):
                return None
            seconds = ttl(ctx)
            body = response.body.bytes if response.body is not None else b""
            value = pack(response.status_code, response.reason, list(response.headers._items), body,
                         time.time() + seconds)
            stored = cache_of(ctx, caching_type).cache_set(key, value, seconds)
            if hasattr(stored, "__await__"):
                _quietly(stored)
            coalescer.done(key, value)
            return None

        return [cache_store]


def _quietly(awaitable) -> None:
    """Let a store finish on its own; a failed store is only a later miss."""
    import asyncio
    asyncio.ensure_future(awaitable).add_done_callback(lambda f: f.cancelled() or f.exception())
