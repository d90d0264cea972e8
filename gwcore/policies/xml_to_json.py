"""xml-to-json: convert an XML request or response body to JSON."""
from typing import Literal

from pydantic import Field

from gwcore.policies import policy
from gwcore.policies.base import PolicyConfig
from gwcore.policies.fields import Flag


@policy("xml-to-json", sections=frozenset({"inbound", "outbound"}))
class XmlToJson(PolicyConfig):
    """Converts the body from XML to JSON."""

    kind: Literal["javascript-friendly", "direct"] = Field(description="javascript-friendly, or direct (mirrors"
                                                                       " the XML structure).")
    apply: Literal["always", "content-type-xml"] = Field(description="always, or only when Content-Type says"
                                                                     " XML.")
    consider_accept_header: Flag = Field(True, description="Convert only when the Accept header asks for JSON.")
    always_array_child_elements: Flag = Field(False, description="Always make child elements a JSON array.")
