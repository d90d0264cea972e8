"""json-to-xml: convert a JSON request or response body to XML."""
from typing import Literal

from pydantic import Field

from gwcore.policies import policy
from gwcore.policies.base import PolicyConfig
from gwcore.policies.fields import Flag


@policy("json-to-xml", sections=frozenset({"inbound", "outbound"}))
class JsonToXml(PolicyConfig):
    """Converts the body from JSON to XML."""

    apply: Literal["always", "content-type-json"] = Field(description="always, or only when Content-Type says"
                                                                      " JSON.")
    consider_accept_header: Flag = Field(True, description="Convert only when the Accept header asks for XML.")
    parse_date: bool = Field(True, description="Convert date strings to XML dates; false copies them as text.")
