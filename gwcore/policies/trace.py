"""trace: write a custom trace record (message and metadata) for this request."""
from typing import Literal

from pydantic import Field, field_validator

from gwcore.policies import policy
from gwcore.policies.base import PolicyConfig
from gwcore.policies.fields import Element, Text, TextOrExpr, many
from gwcore.policies.send_request import unwrap_text


class Metadata(Element):
    """A custom property added to the trace record."""

    name: TextOrExpr = Field(description="Property name.")
    value: TextOrExpr = Field(description="Property value.")


@policy("trace", sections=frozenset({"inbound", "outbound", "backend"}))
class Trace(PolicyConfig):
    """Adds a custom trace record with a source, a severity, a message and optional metadata."""

    source: Text = Field(description="What the record is about, shown by trace viewers.")
    severity: Literal["verbose", "information", "error"] = Field("verbose", description="Severity, lowest to"
                                                                                        " highest.")
    message: TextOrExpr = Field(description="Text or @(expression) to record.")
    metadata: many(Metadata) = Field((), description="Custom properties: a list of {name, value}.")

    @field_validator("message", mode="before")
    @classmethod
    def _message(cls, value):
        return unwrap_text(value)
