"""wait: run the nested send-request, cache-lookup-value and choose statements in parallel."""
from typing import Literal

from pydantic import Field, field_validator

from gwcore.policies import policy
from gwcore.policies.base import PolicyConfig, Steps
from gwcore.policies.fields import only_children

WAIT_CHILDREN = frozenset({"send-request", "cache-lookup-value", "choose"})


@policy("wait", sections=frozenset({"inbound", "outbound", "backend"}))
class Wait(PolicyConfig):
    """Runs its direct statements in parallel and waits for all of them, or for the first to finish."""

    nested_steps = ("steps",)
    for_: Literal["all", "any"] = Field("all", description="all: wait for every statement; any: for the first,"
                                                           " the others are cancelled.")
    steps: Steps = Field(description="send-request, cache-lookup-value or choose statements.")

    @field_validator("steps")
    @classmethod
    def _steps(cls, steps):
        if not steps:
            raise ValueError("wait needs at least one statement under steps")
        return steps

    @classmethod
    def parse(cls, raw, path, ctx):
        statement = super().parse(raw, path, ctx)
        if statement is not None and not only_children(statement, WAIT_CHILDREN, ctx, "it may hold only "
                                                       "send-request, cache-lookup-value and choose"):
            return None
        return statement
