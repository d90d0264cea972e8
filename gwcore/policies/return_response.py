"""return-response: stop the pipeline and answer the caller with the given response."""
from typing import Optional

from pydantic import Field

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
