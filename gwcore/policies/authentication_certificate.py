"""authentication-certificate: authenticate to the backend with a TLS client certificate."""
import base64
import hashlib
import os
import tempfile
from typing import Optional

from pydantic import Field, field_validator, model_validator

from gwcore.policies import policy
from gwcore.policies.base import PolicyConfig
from gwcore.policies.fields import AnyText, TextOrExpr, Thumbprint, base64_text, exactly_one, is_expression


@policy("authentication-certificate", sections=frozenset({"inbound"}))
class AuthenticationCertificate(PolicyConfig):
    """Presents a client certificate to the backend's TLS handshake. gwcore takes it from body (a literal base64
    PKCS#12, with password); thumbprint and certificate-id name a certificate store gwcore does not have and are
    refused at load (a backend's own tls.client_cert/client_key is the other way)."""

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

    def compile(self, c) -> list:
        """Only a certificate given in the file can be used: backend connections are pooled per
        client certificate, so it must be known at load (and gwcore has no certificate store)."""
        if self.body is None:
            c.problem(self, f"{'thumbprint' if self.thumbprint else 'certificate-id'} names a certificate in a store"
                            " gwcore does not have: give the certificate in body (base64 PKCS#12, with password),"
                            " or set the backend's tls.client_cert and tls.client_key")
            return []
        if is_expression(self.body):
            c.problem(self, "body as an @(expression) is not supported: connections to the backend are pooled per"
                            " client certificate, which must be known at load; give the base64 PKCS#12 itself")
            return []
        try:
            identity = ClientIdentity.from_pkcs12(base64.b64decode(self.body), self.password)
        except ValueError as exc:
            c.problem(self, str(exc))
            return []

        def authentication_certificate(ctx):
            ctx._client_cert = identity

        return [authentication_certificate]


class ClientIdentity:
    """A client certificate (with its chain) and key for backend connections, as PEM; `id` names it."""

    def __init__(self, cert_pem: bytes, key_pem: bytes):
        self.cert_pem = cert_pem
        self.key_pem = key_pem
        self.id = hashlib.sha256(cert_pem).hexdigest()

    @classmethod
    def from_pkcs12(cls, data: bytes, password) -> "ClientIdentity":
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.serialization import pkcs12
        try:
            key, cert, chain = pkcs12.load_key_and_certificates(
                data, password.encode("utf-8") if password is not None else None)
        except (ValueError, TypeError):
            raise ValueError("body is not a PKCS#12 certificate this password opens") from None
        if key is None or cert is None:
            raise ValueError("the PKCS#12 in body needs both a certificate and its private key")
        pem = serialization.Encoding.PEM
        cert_pem = b"".join(c.public_bytes(pem) for c in [cert, *chain])
        key_pem = key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        return cls(cert_pem, key_pem)

    def load_into(self, ctx) -> None:
        """ssl reads a certificate chain only from files: a private file for the moment it takes."""
        with tempfile.TemporaryDirectory(prefix="gwcore-cert-") as directory:
            paths = []
            for name, data in (("cert.pem", self.cert_pem), ("key.pem", self.key_pem)):
                path = os.path.join(directory, name)
                with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as f:
                    f.write(data)
                paths.append(path)
            ctx.load_cert_chain(*paths)
