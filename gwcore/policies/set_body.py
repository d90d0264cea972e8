"""set-body: replace the body of the request or the response."""
from typing import Literal

from pydantic import Field

from gwcore.pipeline.context import Body
from gwcore.pipeline.steps import as_text, message_of, one_value
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

    def compile(self, c) -> list:
        if self.template == "liquid":
            body = c.template(self.value)
        else:
            body = one_value(c, self.value, lambda v: v if isinstance(v, bytes) else as_text(v).encode("utf-8"))
        message = message_of(c.section)
        # the body it replaces is read whole first: the client's is not left half-read on the
        # connection, and the backend's connection goes back to the pool
        c.reads_body()

        def set_body(ctx):
            message(ctx).body = Body(body(ctx))

        return [set_body]
