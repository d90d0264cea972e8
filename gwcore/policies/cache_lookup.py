"""cache-lookup: answer from the response cache when a stored response matches."""
from typing import Literal

from pydantic import Field

import time

from gwcore.observability.metrics import count_cache
from gwcore.pipeline.caching import Coalescer, cache_of, fetch, unpack
from gwcore.pipeline.limits import then
from gwcore.pipeline.runner import RESPOND
from gwcore.pipeline.steps import answer, as_text, one_value
from gwcore.policies import policy
from gwcore.policies.base import PolicyConfig
from gwcore.policies.fields import Flag, HeaderName, Text, many

CachingType = Literal["internal", "external", "prefer-external"]
CACHING_TYPE_HELP = ("internal: this gateway's memory; external: the shared state backend (Redis);"
                     " prefer-external: external when configured, else internal.")


@policy("cache-lookup", sections=frozenset({"inbound"}))
class CacheLookup(PolicyConfig):
    """Looks the request up in the response cache (GET only) and answers with the stored response on a hit;
    pair it with cache-store in outbound."""

    vary_by_developer: Flag = Field(description="Keep separate entries per subscription owner.")
    vary_by_developer_groups: Flag = Field(description="Keep separate entries per user group.")
    downstream_caching_type: Literal["none", "private", "public"] = Field(
        "none", description="Cache-Control sent to clients: none, private or public caching.")
    must_revalidate: Flag = Field(True, description="Add must-revalidate when downstream caching is on.")
    allow_private_response_caching: Flag = Field(False, description="Cache requests carrying an Authorization"
                                                                    " header.")
    caching_type: CachingType = Field("prefer-external", description=CACHING_TYPE_HELP)
    vary_by_header: many(HeaderName) = Field((), description="Keep separate entries per value of these request"
                                                             " headers.")
    vary_by_query_parameter: many(Text) = Field((), description="Keep separate entries per value of these query"
                                                                " parameters (; separates several in one item).")

    def compile(self, c) -> list:
        """GET only. The key: API, operation, path, the listed query parameters (all of the query
        when none is listed) and headers, and the subscription with vary-by-developer. A request
        with Authorization is neither looked up nor stored unless allow-private-response-caching.
        Many misses of one key at once: the first goes to the backend, the others wait for it."""
        flag = lambda v: v is True or as_text(v).lower() == "true"  # noqa: E731
        per_developer = one_value(c, self.vary_by_developer, flag)
        private_ok = one_value(c, self.allow_private_response_caching, flag)
        revalidate = one_value(c, self.must_revalidate, flag)
        headers = [h.lower() for h in self.vary_by_header]
        params = sorted({p.strip() for item in self.vary_by_query_parameter for p in item.split(";") if p.strip()})
        downstream, caching_type = self.downstream_caching_type, self.caching_type
        coalescer = Coalescer()

        def serve(ctx, value) -> object:
            status, reason, stored, body, expires = unpack(value)
            extra = ()
            if downstream != "none":
                age = max(int(expires - time.time()), 0)
                control = f"{downstream}, max-age={age}" + (", must-revalidate" if revalidate(ctx) else "")
                stored = [h for h in stored if h[0] != b"cache-control"]
                extra = ((b"cache-control", control.encode("ascii")),)
            answer(ctx, status, body, headers=tuple(stored) + extra)
            ctx.response.reason = reason
            return RESPOND

        def cache_lookup(ctx):
            request = ctx.request
            if request.method != "GET" or (not private_ok(ctx) and "authorization" in request.headers):
                return None
            query = request.url.query
            parts = [ctx.api.name, ctx.operation.id, request.url.path,
                     "&".join(f"{p}={query.get(p, '')}" for p in params) if params else str(query)]
            parts += [f"{h}={request.headers.get(h, '')}" for h in headers]
            dev = per_developer(ctx)
            if dev:
                parts.append(f"dev={ctx.subscription.id if ctx.subscription else ''}")
            key = "resp:" + "|".join(parts)
            if ctx._state is None:
                ctx._state = {}
            ctx._state[CacheLookup] = (key, caching_type, coalescer, dev)
            loop = ctx._run.loop

            def found(value):
                count_cache(value is not None)
                if value is not None:
                    return serve(ctx, value)
                waiting = coalescer.lead_or_wait(key, loop)
                if waiting is None:  # we fetch: whatever happens, the waiters are let go at the end
                    ctx._on_end(lambda: coalescer.done(key, None))
                    return None
                return then(waiting, lambda value: serve(ctx, value) if value is not None else None, loop)
            return fetch(cache_of(ctx, caching_type), key, loop, found)

        return [cache_lookup]
