"""set-variable: store a value in a context variable (context.variables) for later statements."""
from pydantic import Field

from gwcore.pipeline.steps import one_value
from gwcore.policies import policy
from gwcore.policies.base import PolicyConfig
from gwcore.policies.fields import Scalar, Text


@policy("set-variable")
class SetVariable(PolicyConfig):
    """Stores a literal or the result of an expression in a named context variable."""

    name: Text = Field(description="Variable name.")
    value: Scalar = Field(description="Literal or @(expression).")

    def compile(self, c) -> list:
        name = self.name
        value = one_value(c, self.value)

        def set_variable(ctx):
            ctx.variables[name] = value(ctx)

        return [set_variable]
