"""mock-response: answer with a mocked response instead of calling the backend."""
from typing import Optional

from pydantic import Field

from gwcore.pipeline.runner import RESPOND
from gwcore.pipeline.steps import answer
from gwcore.policies import policy
from gwcore.policies.base import PolicyConfig
from gwcore.policies.fields import Status, Text


@policy("mock-response", sections=frozenset({"inbound", "outbound"}))
class MockResponse(PolicyConfig):
    """Stops the pipeline and returns a mocked response with the given status and content type."""

    status_code: Status = Field(200, description="Status code of the mocked response.")
    content_type: Optional[Text] = Field(None, description="Content-Type of the mocked response.")

    def compile(self, c) -> list:
        status, body, content_type = c.example(self.status_code, self.content_type)

        def mock_response(ctx):
            answer(ctx, status, body, content_type)
            return RESPOND

        return [mock_response]
