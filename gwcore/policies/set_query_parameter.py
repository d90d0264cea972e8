"""set-query-parameter: add, replace, append to or delete a query parameter of the request."""
from typing import Literal

from pydantic import Field, model_validator

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
