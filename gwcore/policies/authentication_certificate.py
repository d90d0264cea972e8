"""authentication-certificate: authenticate to the backend with a TLS client certificate."""
from typing import Optional

from pydantic import Field, field_validator, model_validator

from gwcore.policies import policy
from gwcore.policies.base import PolicyConfig
from gwcore.policies.fields import AnyText, TextOrExpr, Thumbprint, base64_text, exactly_one, is_expression


@policy("authentication-certificate", sections=frozenset({"inbound"}))
class AuthenticationCertificate(PolicyConfig):
    """Presents a client certificate to the backend, named by thumbprint or certificate-id, or given in body."""

    thumbprint: Optional[Thumbprint] = Field(None, description="Thumbprint of the client certificate.")
    certificate_id: Optional[TextOrExpr] = Field(None, description="Name of the client certificate.")
    body: Optional[TextOrExpr] = Field(None, description="The certificate itself (base64 PKCS#12) or an"
                                                         " @(expression) giving its bytes.")
    password: Optional[AnyText] = Field(None, description="Password of the certificate in body.")

    @field_validator("body")
    @classmethod
    def _body(cls, value):
        return value if value is None or is_expression(value) else base64_text(value)

    @model_validator(mode="after")
    def _one_certificate(self):
        exactly_one(self, ("thumbprint", "certificate_id", "body"), "authentication-certificate")
        if self.password is not None and self.body is None:
            raise ValueError("password belongs to a certificate given in body; remove it or give body")
        return self
