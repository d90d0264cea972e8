"""authentication-basic: authenticate to the backend with HTTP Basic credentials."""
from pydantic import Field, field_validator

from gwcore.policies import policy
from gwcore.policies.base import PolicyConfig
from gwcore.policies.fields import AnyText, TextOrExpr


@policy("authentication-basic", sections=frozenset({"inbound"}))
class AuthenticationBasic(PolicyConfig):
    """Sets the backend request's Authorization header to Basic credentials."""

    username: TextOrExpr = Field(description="User name; may not contain ':'.")
    password: AnyText = Field(description="Password; use a {{named value}} taken from the environment.")

    @field_validator("username")
    @classmethod
    def _username(cls, value: str):
        if ":" in value and not value.strip().startswith("@("):
            raise ValueError("a Basic user name cannot contain ':' (it separates user name and password)")
        return value
