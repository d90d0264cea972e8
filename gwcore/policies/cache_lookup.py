"""cache-lookup: answer from the response cache when a stored response matches."""
from typing import Literal

from pydantic import Field

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
