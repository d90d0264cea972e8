"""authentication-basic: authenticate to the backend with HTTP Basic credentials."""
import base64

from pydantic import Field, field_validator

from gwcore.pipeline.errors import PolicyError
from gwcore.pipeline.steps import as_text, one_value
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

    def compile(self, c) -> list:
        username = one_value(c, self.username, as_text)
        password = one_value(c, self.password, as_text)

        def authentication_basic(ctx):
            user = username(ctx)
            if ":" in user:
                raise PolicyError(500, "A Basic user name cannot contain ':'.", "InvalidCredentials",
                                  source="authentication-basic")
            token = base64.b64encode(f"{user}:{password(ctx)}".encode("utf-8"))
            headers = ctx.request.headers
            headers._remove(b"authorization")
            headers._add(b"authorization", (b"Basic " + token,))

        return [authentication_basic]
