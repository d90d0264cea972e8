"""forward-request: send the request to the backend (backend section; global scope by default)."""
from typing import Literal, Optional

from pydantic import Field

from gwcore.config.durations import Duration
from gwcore.pipeline.compiled_steps import Forward
from gwcore.pipeline.errors import BackendError
from gwcore.policies import policy
from gwcore.policies.base import PolicyConfig


@policy("forward-request", sections=frozenset({"backend"}))
class ForwardRequest(PolicyConfig):
    """Forwards the request to the selected backend and waits for its response."""

    timeout: Duration = Field(300.0, description="Seconds to wait for the backend's response headers.")
    fail_on_error_status_code: bool = Field(False, description="Backend 400-599 answers run on-error.")
    buffer_response: bool = Field(True, description="Accepted for APIM compatibility; responses stream.")
    buffer_request_body: bool = Field(False, description="Accepted for APIM compatibility.")
    follow_redirects: bool = Field(False, description="Accepted for APIM compatibility; redirects pass through.")
    http_version: Optional[Literal["1", "2", "2or1"]] = Field(None, description="Only 1 is supported.")

    def compile(self, c) -> list:
        c.forwards = True
        # the backend's own timeout applies unless this statement sets one
        timeout = self.timeout if "timeout" in self.model_fields_set else None
        if not self.fail_on_error_status_code:
            return [Forward(timeout)]

        def check_status(ctx):
            status = ctx.response.status_code
            if 400 <= status <= 599:
                raise BackendError(status, f"Backend returned status code {status}", "BackendErrorStatusCode")

        return [Forward(timeout), check_status]
