"""set-variable: store a value in a context variable (context.variables) for later statements."""
from pydantic import Field

from gwcore.policies import policy
from gwcore.policies.base import PolicyConfig
from gwcore.policies.fields import Scalar, Text


@policy("set-variable")
class SetVariable(PolicyConfig):
    """Stores a literal or the result of an expression in a named context variable."""

    name: Text = Field(description="Variable name.")
    value: Scalar = Field(description="Literal or @(expression).")
