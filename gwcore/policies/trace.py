"""trace: write a custom trace record (message and metadata) for this request."""
import logging
from typing import Literal

import orjson

from pydantic import Field, field_validator

from gwcore.observability.tracing import add_event
from gwcore.pipeline.steps import as_text, one_value
from gwcore.policies import policy
from gwcore.policies.base import PolicyConfig
from gwcore.policies.fields import Element, Text, TextOrExpr, many
from gwcore.policies.send_request import unwrap_text

log = logging.getLogger("gwcore.trace")
# verbose is APIM's lowest severity, not a debug switch: it is written at INFO so it shows
LEVELS = {"verbose": logging.INFO, "information": logging.INFO, "error": logging.ERROR}


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

    def compile(self, c) -> list:
        """One JSON line in the worker's log (logger gwcore.trace), and an event on the request's
        server span when tracing is on."""
        message = one_value(c, self.message, as_text)
        metadata = [(one_value(c, m.name, as_text), one_value(c, m.value, as_text)) for m in self.metadata]
        source, severity, level = self.source, self.severity, LEVELS[self.severity]

        def trace(ctx):
            record = {"source": source, "severity": severity, "message": message(ctx),
                      "metadata": {name(ctx): value(ctx) for name, value in metadata},
                      "request_id": ctx.request_id, "api": ctx.api.id if ctx.api else None,
                      "operation": ctx.operation.id if ctx.operation else None}
            if log.isEnabledFor(level):
                log.log(level, "trace %s", orjson.dumps(record).decode())
            add_event(ctx, source, {"severity": severity, "message": record["message"],
                                    **{f"metadata.{k}": v for k, v in record["metadata"].items()}})

        return [trace]
