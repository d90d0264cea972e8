"""set-method: change the HTTP method of the request."""
from pydantic import Field

from gwcore.pipeline.steps import as_text, one_value
from gwcore.policies import policy
from gwcore.policies.base import PolicyConfig
from gwcore.policies.fields import Method


@policy("set-method", sections=frozenset({"inbound"}))
class SetMethod(PolicyConfig):
    """Sets the HTTP method of the request (`set-method: POST`)."""

    text_field = "value"
    value: Method = Field(description="The method, e.g. POST (the element's text).")

    def compile(self, c) -> list:
        method = one_value(c, self.value, lambda v: as_text(v).upper())

        def set_method(ctx):
            ctx.request.method = method(ctx)

        return [set_method]
