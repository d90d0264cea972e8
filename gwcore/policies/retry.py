"""retry: run the nested statements, then again while the condition holds, up to count retries."""
from typing import Optional

from pydantic import Field, field_validator, model_validator

from gwcore.policies import REGISTRY, policy
from gwcore.policies.base import PolicyConfig, Steps
from gwcore.policies.fields import Flag, duration, integer, only_children


@policy("retry")
class Retry(PolicyConfig):
    """Runs `steps` once, then retries them while `condition` is true, at most `count` times, waiting
    interval (fixed), interval + n*delta (linear) or up to max-interval (exponential) between tries."""

    nested_steps = ("steps",)
    condition: Flag = Field(description="Retry while this is true; usually an @(expression) over"
                                        " context.response.")
    count: integer(1, 50, expressions=True) = Field(description="Most retries, 1-50.")
    interval: duration(expressions=True) = Field(description="Wait before each retry.")
    max_interval: Optional[duration(expressions=True)] = Field(None, description="Longest wait (exponential"
                                                                                 " back-off; needs delta).")
    delta: Optional[duration(expressions=True)] = Field(None, description="Growth of the wait per retry.")
    first_fast_retry: Flag = Field(False, description="Make the first retry at once.")
    steps: Steps = Field(description="The statements to run and retry.")

    @field_validator("steps")
    @classmethod
    def _steps(cls, steps):
        if not steps:
            raise ValueError("retry needs at least one statement under steps")
        return steps

    @model_validator(mode="after")
    def _backoff(self):
        if self.max_interval is not None and self.delta is None:
            raise ValueError("max-interval needs delta: exponential back-off uses interval, delta and max-interval")
        if isinstance(self.max_interval, float) and isinstance(self.interval, float) \
                and self.max_interval < self.interval:
            raise ValueError(f"max-interval ({self.max_interval:g}s) is shorter than interval"
                             f" ({self.interval:g}s)")
        return self

    @classmethod
    def parse(cls, raw, path, ctx):
        statement = super().parse(raw, path, ctx)
        allowed = frozenset(REGISTRY) - {"wait"}
        if statement is not None and not only_children(statement, allowed, ctx,
                                                       "retry may hold any statement but wait"):
            return None
        return statement
