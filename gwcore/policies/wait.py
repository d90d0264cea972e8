"""wait: run the nested send-request, cache-lookup-value and choose statements in parallel."""
import asyncio
from typing import Literal

from pydantic import Field, field_validator

from gwcore.pipeline.runner import RESPOND, Branch
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

    def compile(self, c) -> list:
        children = [tuple(c.steps([child])) for child in self.steps]
        wait_for_all = self.for_ == "all"

        def wait(ctx):
            loop = ctx._run.loop
            results = [Branch(steps, ctx, loop).start() for steps in children]
            pending = [r for r in results if asyncio.isfuture(r)]
            if not pending or (not wait_for_all and len(pending) < len(results)):
                for future in pending:
                    future.cancel()
                return RESPOND if RESPOND in results else None
            return _join(loop, pending, wait_for_all, RESPOND in results)

        return [wait]


def _join(loop, pending: list, wait_for_all: bool, responded: bool):
    """A Future: RESPOND if any branch answered, else None; for="any" ends at the first branch
    and cancels the others. A branch's error becomes the wait's error."""
    joined = loop.create_future()
    state = {"left": len(pending), "responded": responded}

    def one_done(future):
        if joined.done() or future.cancelled():
            return
        if future.exception() is not None:
            joined.set_exception(future.exception())
        else:
            state["responded"] |= future.result() is RESPOND
            state["left"] -= 1
            if state["left"] and wait_for_all:
                return
            joined.set_result(RESPOND if state["responded"] else None)
        for other in pending:
            if not other.done():
                other.cancel()

    for future in pending:
        future.add_done_callback(one_done)
    return joined
