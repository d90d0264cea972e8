"""limit-concurrency: let at most max-count requests run the nested statements at once."""
from pydantic import Field, field_validator

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
