"""set-status: set the status code and reason phrase of the response."""
from pydantic import Field

from gwcore.policies import policy
from gwcore.policies.base import PolicyConfig
from gwcore.policies.fields import Status, Text


@policy("set-status", sections=frozenset({"inbound", "outbound", "backend"}))
class SetStatus(PolicyConfig):
    """Sets the HTTP status code and reason phrase of the response."""

    code: Status = Field(description="HTTP status code, 100-599.")
    reason: Text = Field(description="Reason phrase, e.g. Not Found.")

    def compile(self, c) -> list:
        code, reason = self.code, self.reason

        def set_status(ctx):
            response = ctx.response
            response.status_code = code
            response.reason = reason

        return [set_status]
