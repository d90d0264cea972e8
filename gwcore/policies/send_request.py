"""send-request: call another service and keep its response in a context variable."""
from typing import Literal, Optional

from pydantic import Field, model_validator

from gwcore.policies import policy
from gwcore.policies.base import PolicyConfig
from gwcore.policies.fields import Flag, HttpUrl, Method, Text, duration, many, one
from gwcore.policies.set_body import SetBody
from gwcore.policies.set_header import SetHeader


def unwrap_text(value):
    """`set-url: x` and `set-url: {value: x}` are the same (an element holding only text)."""
    if isinstance(value, dict) and set(value) == {"value"}:
        return value["value"]
    return value


class RequestFields(PolicyConfig):
    """The request built by send-request and send-one-way-request."""

    mode: Literal["new", "copy"] = Field("new", description="new: an empty request; copy: a copy of the"
                                                            " current request's headers and body.")
    timeout: duration(gt=0, expressions=True) = Field(60.0, description="Seconds before the call fails.")
    set_url: Optional[HttpUrl] = Field(None, description="URL of the request (required with mode new).")
    set_method: Optional[Method] = Field(None, description="Method of the request (required with mode new).")
    set_header: many(SetHeader) = Field((), description="Request headers: one or a list of {name,"
                                                        " exists-action, value}.")
    set_body: Optional[one(SetBody)] = Field(None, description="Request body: text or {value, template}.")

    @model_validator(mode="before")
    @classmethod
    def _text_children(cls, data):
        if isinstance(data, dict):
            data = {k: unwrap_text(v) if k in ("set-url", "set-method") else v for k, v in data.items()}
        return data

    @model_validator(mode="after")
    def _new_needs_target(self):
        if self.mode == "new":
            missing = [n for n, v in (("set-url", self.set_url), ("set-method", self.set_method)) if v is None]
            if missing:
                raise ValueError(f"mode new builds a request from scratch and needs {' and '.join(missing)};"
                                 " or use mode: copy")
        return self


@policy("send-request")
class SendRequest(RequestFields):
    """Sends a request and waits (up to timeout) for its response, stored in response-variable-name."""

    response_variable_name: Text = Field(description="Context variable receiving the response.")
    ignore_error: Flag = Field(False, description="On a failed call, go on with the variable set to null"
                                                  " instead of running on-error.")
