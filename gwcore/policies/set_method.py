"""set-method: change the HTTP method of the request."""
from pydantic import Field

from gwcore.policies import policy
from gwcore.policies.base import PolicyConfig
from gwcore.policies.fields import Method


@policy("set-method", sections=frozenset({"inbound"}))
class SetMethod(PolicyConfig):
    """Sets the HTTP method of the request (`set-method: POST`)."""

    text_field = "value"
    value: Method = Field(description="The method, e.g. POST (the element's text).")
