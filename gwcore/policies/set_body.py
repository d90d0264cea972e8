"""set-body: replace the body of the request or the response."""
from typing import Literal

from pydantic import Field

from gwcore.policies import policy
from gwcore.policies.base import PolicyConfig
from gwcore.policies.fields import AnyText


@policy("set-body", sections=frozenset({"inbound", "outbound", "backend"}))
class SetBody(PolicyConfig):
    """Sets the message body (`set-body: text`, or `{value: text, template: liquid}`)."""

    text_field = "value"
    value: AnyText = Field(description="The new body: text, or an @(expression) (the element's text).")
    template: Literal["none", "liquid"] = Field("none", description="liquid: render the text as a Liquid"
                                                                    " template.")
    xsi_nil: Literal["blank", "null"] = Field("blank", description="How XML elements marked xsi:nil=\"true\""
                                                                   " are represented.")
