"""return-response: stop the pipeline and answer the caller with the given response."""
from typing import Optional

from pydantic import Field

from gwcore.pipeline.runner import RESPOND
from gwcore.pipeline.steps import answer
from gwcore.policies import policy
from gwcore.policies.base import PolicyConfig
from gwcore.policies.fields import Text, many, one
from gwcore.policies.set_body import SetBody
from gwcore.policies.set_header import SetHeader
from gwcore.policies.set_status import SetStatus


@policy("return-response")
class ReturnResponse(PolicyConfig):
    """Ends processing and returns a response: 200 with no body unless set-status/set-header/set-body say
    otherwise; with response-variable-name, that stored response is returned (modified by the children)."""

    response_variable_name: Optional[Text] = Field(None, description="Context variable holding a response"
                                                                     " (e.g. from send-request).")
    set_status: Optional[one(SetStatus)] = Field(None, description="Status of the response: {code, reason}.")
    set_header: many(SetHeader) = Field((), description="Headers of the response: one or a list of"
                                                        " {name, exists-action, value}.")
    set_body: Optional[one(SetBody)] = Field(None, description="Body of the response: text or"
                                                               " {value, template}.")

    def compile(self, c) -> list:
        if self.response_variable_name is not None:
            name = self.response_variable_name

            def start(ctx):
                stored = ctx.variables.get(name)
                if stored is None or not hasattr(stored, "status_code"):
                    raise ValueError(f"variable {name!r} holds no response")
                ctx.response = stored
        else:
            def start(ctx):
                answer(ctx, 200)
        children = [s for s in (self.set_status, *self.set_header, self.set_body) if s is not None]
        with c.answering():
            steps = c.steps(children)
        return [start, *steps, lambda ctx: RESPOND]
