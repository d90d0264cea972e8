"""set-query-parameter: add, replace, append to or delete a query parameter of the request."""
from typing import Literal

from pydantic import Field, model_validator

from gwcore.pipeline.steps import as_text, each_value, one_value
from gwcore.policies import policy
from gwcore.policies.base import PolicyConfig
from gwcore.policies.fields import Scalar, TextOrExpr, many


@policy("set-query-parameter", sections=frozenset({"inbound", "backend"}))
class SetQueryParameter(PolicyConfig):
    """Adds, replaces, appends to or deletes a query parameter of the request to the backend."""

    name: TextOrExpr = Field(description="Query parameter name.")
    exists_action: Literal["override", "skip", "append", "delete"] = Field(
        "override", description="What to do when the parameter is already present.")
    value: many(Scalar) = Field((), description="Value or values (repeated parameters); literal, {{named value}}"
                                                " or @(expression).")

    @model_validator(mode="after")
    def _needs_value(self):
        if self.exists_action != "delete" and not self.value:
            raise ValueError(f"set-query-parameter {self.name!r} needs a value (or exists-action: delete)")
        return self

    def compile(self, c) -> list:
        name = one_value(c, self.name, as_text)
        action = self.exists_action
        values = each_value(c, self.value, as_text)

        def set_query_parameter(ctx):
            query = ctx.request.url.query
            key = name(ctx)
            pairs = query._parsed()
            present = any(k == key for k, _ in pairs)
            if action == "skip" and present:
                return
            if action in ("override", "delete"):
                pairs = [(k, v) for k, v in pairs if k != key]
            if action != "delete":
                pairs = pairs + [(key, v) for v in values(ctx)]
            query._set(pairs)

        return [set_query_parameter]
