"""validate-jwt: require a valid JSON web token (signature, expiry, audience, issuer, claims)."""
import json
from typing import Literal, Optional

from pydantic import Field, field_validator, model_validator

from gwcore.policies import policy
from gwcore.policies.base import PolicyConfig
from gwcore.policies.fields import (AnyText, Element, Flag, HeaderNameOrExpr, HttpUrl, StatusOrExpr, Text,
                                    TextOrExpr, base64_text, duration, exactly_one, many)


class Key(Element):
    """One key: a base64 symmetric key (`- c2VjcmV0...`), or an RSA n/e pair, a PEM, a JWK, or a certificate id."""

    text_field = "value"
    id: Optional[Text] = Field(None, description="Matches the token's `kid` header; absent: the key is tried"
                                                 " for every token.")
    value: Optional[Text] = Field(None, description="Base64 symmetric key (HS256/384/512) (the element's text).")
    certificate_id: Optional[Text] = Field(None, description="Identifier of a certificate holding the public key.")
    n: Optional[Text] = Field(None, description="RSA modulus, base64url; goes with e.")
    e: Optional[Text] = Field(None, description="RSA exponent, base64url; goes with n.")
    pem: Optional[Text] = Field(None, description="gwcore: a PEM public key or certificate.")
    jwk: Optional[str] = Field(None, description="gwcore: a JSON web key, written as a mapping or its JSON text;"
                                                 " kept as JSON text.")

    @field_validator("value")
    @classmethod
    def _base64(cls, value):
        return value if value is None else base64_text(value)

    @field_validator("n", "e")
    @classmethod
    def _base64url(cls, value):
        return value if value is None else base64_text(value, urlsafe=True)

    @field_validator("pem")
    @classmethod
    def _pem(cls, value):
        if value is None:
            return value
        from cryptography import x509
        from cryptography.hazmat.primitives import serialization
        data = value.encode()
        for load in (serialization.load_pem_public_key, x509.load_pem_x509_certificate):
            try:
                load(data)
                return value
            except (ValueError, TypeError):
                continue
        raise ValueError("pem is not a PEM public key or certificate (-----BEGIN PUBLIC KEY----- ...)")

    @field_validator("jwk", mode="before")
    @classmethod
    def _jwk(cls, value):
        """Kept as canonical JSON text, so the statement stays immutable and hashable."""
        if value is None:
            return value
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                value = None
        if not isinstance(value, dict):
            raise ValueError("jwk is a mapping (or its JSON text) like {kty: RSA, n: ..., e: ...}")
        import jwt
        try:
            jwt.PyJWK(value)
        except jwt.PyJWTError as exc:
            raise ValueError(f"jwk is not a usable JSON web key: {exc}") from None
        return json.dumps(value, sort_keys=True, separators=(",", ":"))

    @model_validator(mode="after")
    def _one_source(self):
        if (self.n is None) != (self.e is None):
            raise ValueError("n and e go together: give both the RSA modulus and the exponent")
        modulus = "n" if self.n is not None else None
        present = [self.value, self.certificate_id, modulus, self.pem, self.jwk]
        given = [name for name, v in zip(("value", "certificate-id", "n/e", "pem", "jwk"), present) if v is not None]
        if len(given) != 1:
            what = "has none" if not given else f"has {' and '.join(given)}"
            raise ValueError(f"a key is exactly one of: base64 value, certificate-id, n with e, pem, jwk; this one"
                             f" {what}")
        return self


class Claim(Element):
    """A claim the token must carry, optionally with one or all of the listed values."""

    name: Text = Field(description="Claim name as it appears in the token.")
    match: Literal["all", "any"] = Field("all", description="all: every listed value must be present; any: one"
                                                            " is enough.")
    separator: Optional[str] = Field(None, description="Splits a multi-valued claim held in one string, e.g. ','.")
    value: many(TextOrExpr) = Field((), description="Expected values; none listed: the claim must only exist.")


class OpenIdConfig(Element):
    """An OpenID configuration endpoint; its JWKS keys and issuer are fetched and cached."""

    text_field = "url"
    url: HttpUrl = Field(description="URL of the .well-known/openid-configuration document.")


@policy("validate-jwt", sections=frozenset({"inbound"}))
class ValidateJwt(PolicyConfig):
    """Requires a valid JWT from a header, a query parameter or an expression; failures answer 401
    (configurable)."""

    header_name: Optional[HeaderNameOrExpr] = Field(None, description="Header holding the token, e.g."
                                                                " Authorization.")
    query_parameter_name: Optional[TextOrExpr] = Field(None, description="Query parameter holding the token.")
    token_value: Optional[TextOrExpr] = Field(None, description="@(expression) giving the token (without"
                                                                " `Bearer `).")
    failed_validation_httpcode: StatusOrExpr = Field(401, description="Status code when validation fails.")
    failed_validation_error_message: Optional[AnyText] = Field(
        None, description="Message when validation fails; absent: the reason, e.g. JWT not present.")
    require_expiration_time: Flag = Field(True, description="The token must have an exp claim.")
    require_scheme: Optional[TextOrExpr] = Field(None, description="Scheme required before the token in the"
                                                                   " Authorization header, e.g. Bearer.")
    require_signed_tokens: Flag = Field(True, description="The token must be signed.")
    clock_skew: duration(expressions=True) = Field(0.0, description="Tolerated clock difference with the"
                                                                    " issuer, in seconds.")
    output_token_variable_name: Optional[Text] = Field(None, description="Context variable receiving the"
                                                                         " validated token.")
    openid_config: many(OpenIdConfig) = Field((), description="OpenID configuration endpoints: a list of {url}.")
    issuer_signing_keys: many(Key, child="key") = Field((), description="Keys that may have signed the token.")
    decryption_keys: many(Key, child="key") = Field((), description="Keys to decrypt an encrypted token.")
    audiences: many(TextOrExpr, child="audience") = Field((), description="Accepted aud values; one must match.")
    issuers: many(TextOrExpr, child="issuer") = Field((), description="Accepted iss values; one must match.")
    required_claims: many(Claim, child="claim") = Field((), description="Claims the token must carry: a list of"
                                                                        " {name, match, separator, value}.")

    @model_validator(mode="after")
    def _token_source_and_keys(self):
        exactly_one(self, ("header_name", "query_parameter_name", "token_value"),
                    "validate-jwt (where the token is)")
        if self.require_signed_tokens is True and not self.issuer_signing_keys and not self.openid_config:
            raise ValueError("signed tokens are required but no key can check them: add issuer-signing-keys or"
                             " openid-config (or set require-signed-tokens: false)")
        return self
