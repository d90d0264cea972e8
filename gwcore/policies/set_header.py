"""set-header: set, append, skip or delete a request or response header."""
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, model_validator

from gwcore.pipeline.compiled_steps import SetHeaderValues
from gwcore.pipeline.steps import REQUEST_SECTIONS, each_value, header_value, message_of
from gwcore.policies import policy
from gwcore.policies.base import PolicyConfig, Value
from gwcore.policies.fields import HeaderName

# The gateway writes these from the body it sends; a policy's value would desynchronise the
# framing (a client reading a wrong Content-Length takes the rest as its next response).
FRAMING = frozenset({b"content-length", b"transfer-encoding"})


def as_list(value):
    """`value: a` and `value: [a, b]` both mean a list of values (repeated <value> elements)."""
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


Values = Annotated[tuple[Value, ...], BeforeValidator(as_list)]


@policy("set-header", sections=frozenset({"inbound", "outbound", "backend"}))
class SetHeader(PolicyConfig):
    """Sets a header of the request (inbound, backend) or the response (outbound, on-error)."""

    name: HeaderName = Field(description="Header name.")
    exists_action: Literal["override", "skip", "append", "delete"] = Field(
        "override", description="What to do when the header is already present.")
    value: Values = Field((), description="Value or values; literal, {{named value}} or @(expression).")

    @model_validator(mode="after")
    def _not_framing(self):
        if self.name.lower().encode("latin-1") in FRAMING and self.exists_action != "delete":
            raise ValueError(f"{self.name} cannot be set: the gateway frames the message itself from the body"
                             " it sends (set-body changes the body and its length)")
        return self

    def compile(self, c) -> list:
        key = self.name.lower().encode("latin-1")
        message = message_of(c.section)
        action = self.exists_action
        values = each_value(c, self.value, header_value)
        fixed = getattr(values, "constant", None)
        if action == "override" and fixed is not None:  # the common statement: constant values
            return [SetHeaderValues(key, fixed, c.section in REQUEST_SECTIONS)]

        def set_header(ctx):
            headers = message(ctx).headers
            if action == "delete":
                headers._remove(key)
            elif action == "override":
                headers._remove(key)
                headers._add(key, values(ctx))
            elif action == "append":
                headers._add(key, values(ctx))
            elif key not in (k for k, _ in headers._items):  # skip: only when absent
                headers._add(key, values(ctx))

        return [set_header]
