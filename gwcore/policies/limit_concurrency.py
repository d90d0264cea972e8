"""limit-concurrency: let at most max-count requests run the nested statements at once."""
from pydantic import Field, field_validator

from collections import deque

from gwcore.pipeline.errors import PolicyError
from gwcore.pipeline.runner import DONE
from gwcore.pipeline.steps import as_text, one_value
from gwcore.policies import policy
from gwcore.policies.base import PolicyConfig, Steps
from gwcore.policies.fields import TextOrExpr, integer


@policy("limit-concurrency")
class LimitConcurrency(PolicyConfig):
    """Runs `steps` for at most max-count requests per key at a time; others wait in a queue of max-queue,
    and beyond that get 429."""

    nested_steps = ("steps",)
    key: TextOrExpr = Field(description="Concurrency scope; statements with the same key share the count.")
    max_count: integer(ge=1) = Field(description="Most requests inside the statements at once.")
    max_queue: integer(ge=0) = Field(0, description="gwcore: requests that may wait for a free slot; 0 refuses"
                                                    " at once with 429, as APIM does.")
    steps: Steps = Field(description="The statements being limited.")

    @field_validator("steps")
    @classmethod
    def _steps(cls, steps):
        if not steps:
            raise ValueError("limit-concurrency needs at least one statement under steps")
        return steps

    def compile(self, c) -> list:
        """Laid flat: enter (take a place, or queue, or 429), the steps, leave. The place is also
        given back when the request ends early (an error, a return-response, a lost client)."""
        body = c.steps(self.steps)
        key = one_value(c, self.key, as_text)
        most, queue_room = self.max_count, self.max_queue
        mine = object()

        def enter(ctx):
            name = key(ctx)
            gate = _GATES.get(name)
            if gate is None:
                gate = _GATES[name] = _Gate(name)
            if ctx._state is None:
                ctx._state = {}
            if gate.active < most:
                gate.active += 1
                _hold(ctx, mine, gate)
                return None
            if len(gate.waiting) >= queue_room:
                raise PolicyError(429, "Too many concurrent requests. Try again later.",
                                  "ConcurrencyLimitExceeded", source="limit-concurrency")
            place = ctx._run.loop.create_future()
            gate.waiting.append(place)
            place.add_done_callback(lambda f: _granted(f, ctx, mine, gate))
            ctx._on_end(place.cancel)  # gone while queued: the place goes to the next one
            return place

        def leave(ctx):
            _release(ctx, mine)

        return [enter, *body, leave]


# Per worker: key -> _Gate. Shared by every statement with that key, as APIM's key is the
# concurrency scope "shared by multiple policies"; a gate goes when nothing holds or awaits it.
_GATES = {}


class _Gate:
    __slots__ = ("key", "active", "waiting")

    def __init__(self, key: str):
        self.key = key
        self.active = 0
        self.waiting = deque()


def _hold(ctx, mine, gate) -> None:
    ctx._state[mine] = gate
    ctx._on_end(lambda: _release(ctx, mine))


def _granted(place, ctx, mine, gate) -> None:
    if place.cancelled():
        return
    _hold(ctx, mine, gate)
    if ctx._run.section == DONE:  # ended between the hand-over and this callback
        _release(ctx, mine)


def _release(ctx, mine) -> None:
    gate = ctx._state.pop(mine, None)
    if gate is None:
        return
    while gate.waiting:  # hand the place straight to the next live waiter
        place = gate.waiting.popleft()
        if not place.done():
            place.set_result(None)
            return
    gate.active -= 1
    if gate.active == 0 and _GATES.get(gate.key) is gate:
        del _GATES[gate.key]
