"""retry: run the nested statements, then again while the condition holds, up to count retries."""
import random
from typing import Optional

from pydantic import Field, field_validator, model_validator

from gwcore.pipeline.steps import as_text, one_value
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

    def compile(self, c) -> list:
        """Laid flat: a start that resets the count, the steps, and a check that jumps back
        to the first step (after the wait) while the condition holds and retries are left."""
        forwarded_before = c.forwards
        body = c.steps(self.steps)
        if c.forwards and not forwarded_before:
            c.request_body = True  # the request may be sent again: keep its body
        condition = one_value(c, self.condition, lambda v: v is True or as_text(v).lower() == "true")
        count = one_value(c, self.count, int)
        interval = one_value(c, self.interval, float)
        delta = one_value(c, self.delta, float) if self.delta is not None else None
        longest = one_value(c, self.max_interval, float) if self.max_interval is not None else None
        first_fast = one_value(c, self.first_fast_retry, lambda v: v is True or as_text(v).lower() == "true")
        back = -len(body)
        key = object()

        def retry_start(ctx):
            if ctx._state is None:
                ctx._state = {}
            ctx._state[key] = 0

        def retry_check(ctx):
            done = ctx._state[key]
            if done >= count(ctx) or not condition(ctx):
                return None
            ctx._state[key] = done + 1
            if done == 0 and first_fast(ctx):
                return back
            pause = interval(ctx)
            if delta is not None:
                step = delta(ctx)
                if longest is None:
                    pause += done * step
                else:  # exponential, with some jitter so retries of many callers spread out
                    pause = min(pause + (2 ** done - 1) * step * random.uniform(0.8, 1.2), longest(ctx))
            if pause <= 0:
                return back
            loop = ctx._run.loop
            waited = loop.create_future()
            loop.call_later(pause, _set, waited, back)
            return waited

        return [retry_start, *body, retry_check]


def _set(future, value) -> None:
    if not future.done():
        future.set_result(value)
