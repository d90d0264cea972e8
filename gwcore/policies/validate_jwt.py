"""validate-jwt: require a valid JSON web token (signature, expiry, audience, issuer, claims)."""
import json
from time import time
from typing import Annotated, Literal, Optional

from pydantic import AfterValidator, Field, PrivateAttr, field_validator, model_validator

from gwcore.config.durations import parse_duration
from gwcore.pipeline.errors import PolicyError
from gwcore.pipeline.steps import as_text, each_value, evaluator, one_value
from gwcore.policies import policy
from gwcore.policies.base import PolicyConfig
from gwcore.policies.fields import (AnyText, Element, Flag, HeaderNameOrExpr, HttpUrl, Label, StatusOrExpr, Text,
                                    TextOrExpr, base64_text, duration, exactly_one, is_expression, many)
from gwcore.policies.jwt_claims import ClaimRules
from gwcore.policies.jwt_keys import from_config
from gwcore.policies.jwt_openid import keys_for
from gwcore.policies.jwt_verify import Claims, Invalid, Verifier, not_present


class Key(Element):
    """One key: a base64 symmetric key (`- c2VjcmV0...`), or an RSA n/e pair, a PEM, a JWK, or a certificate id."""

    text_field = "value"
    id: Optional[Text] = Field(None, description="Matches the token's `kid` header; absent: the key is tried"
                                                 " for every token.")
    value: Optional[Text] = Field(None, description="Base64 symmetric key (HS256/384/512) (the element's text).")
    certificate_id: Optional[Text] = Field(None, description="Identifier of a certificate holding the public key;"
                                                             " not supported yet (a load error): use pem.")
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


def _literal_url(url: str) -> str:
    if is_expression(url):
        raise ValueError("must be a literal URL: keys are fetched per URL in the background, not per request")
    return url


class OpenIdConfig(Element):
    """An OpenID configuration endpoint; its JWKS keys and issuer are fetched in the background and cached per URL
    and worker, refreshed after the JWKS answer's max-age (1 min to 1 day; 1 hour without one) and when a token
    names an unknown kid (at most once a minute; that request waits up to 3 s for the fetch)."""

    text_field = "url"
    url: Annotated[HttpUrl, AfterValidator(_literal_url), Label("http(s) URL")] = Field(
        description="URL of the .well-known/openid-configuration document.")


@policy("validate-jwt", sections=frozenset({"inbound"}))
class ValidateJwt(PolicyConfig):
    """Requires a valid JWT from a header, a query parameter or an expression; failures answer 401
    (configurable). The key decides the algorithm, never the token: an HMAC key checks HS256/384/512, an RSA
    key RS*/PS*, an EC key the ES* of its curve, an OKP key EdDSA; alg none is always refused. A token that
    verified is remembered until its exp (and while the keys stay the same), so repeated calls skip the
    signature check."""

    header_name: Optional[HeaderNameOrExpr] = Field(None, description="Header holding the token, e.g."
                                                                " Authorization.")
    query_parameter_name: Optional[TextOrExpr] = Field(None, description="Query parameter holding the token.")
    token_value: Optional[TextOrExpr] = Field(None, description="@(expression) giving the token (without"
                                                                " `Bearer `).")
    failed_validation_httpcode: StatusOrExpr = Field(401, description="Status code when validation fails.")
    failed_validation_error_message: Optional[AnyText] = Field(
        None, description="Message sent when validation fails; absent: APIM's text for the reason, e.g. JWT not"
                          " present. context.last_error.message keeps APIM's text either way.")
    require_expiration_time: Flag = Field(True, description="The token must have an exp claim.")
    require_scheme: Optional[TextOrExpr] = Field(None, description="Scheme required before the token in the"
                                                                   " header, e.g. Bearer; absent: a leading"
                                                                   " scheme is dropped.")
    require_signed_tokens: Flag = Field(True, description="The token must be signed; gwcore accepts only true"
                                                          " (unsigned tokens are always refused).")
    clock_skew: duration(expressions=True) = Field(0.0, description="Tolerated clock difference with the"
                                                                    " issuer, in seconds.")
    output_token_variable_name: Optional[Text] = Field(None, description="Context variable receiving the"
                                                                         " validated token's claims (as"
                                                                         " context.jwt).")
    openid_config: many(OpenIdConfig) = Field((), description="OpenID configuration endpoints: a list of {url}.")
    issuer_signing_keys: many(Key, child="key") = Field((), description="Keys that may have signed the token.")
    decryption_keys: many(Key, child="key") = Field((), description="Keys to decrypt an encrypted token; not"
                                                                    " supported yet (a load error).")
    audiences: many(TextOrExpr, child="audience") = Field((), description="Accepted aud values; one must match.")
    issuers: many(TextOrExpr, child="issuer") = Field((), description="Accepted iss values; one must match. None"
                                                                      " listed: the OpenID configurations'"
                                                                      " issuers.")
    required_claims: many(Claim, child="claim") = Field((), description="Claims the token must carry: a list of"
                                                                        " {name, match, separator, value}.")

    @model_validator(mode="after")
    def _token_source_and_keys(self):
        exactly_one(self, ("header_name", "query_parameter_name", "token_value"),
                    "validate-jwt (where the token is)")
        if self.require_signed_tokens is True and not self.issuer_signing_keys and not self.openid_config:
            raise ValueError("signed tokens are required but no key can check them: add issuer-signing-keys or"
                             " openid-config")
        return self

    _verifier = PrivateAttr(None)  # keys and verified-token cache, shared by every pipeline holding the statement

    def compile(self, c) -> list:
        """One step: find the token, verify it (cached), check the claim rules; refuse with APIM's texts."""
        problems = self._unsupported()
        if problems:
            for problem in problems:
                c.problem(self, problem)
            return []
        verifier = self._verifier or self._prepare(c)
        if verifier is None:
            return []
        token_of = _token_source(self, c)
        status = one_value(c, self.failed_validation_httpcode, int)
        custom = None
        if self.failed_validation_error_message is not None:
            custom = one_value(c, self.failed_validation_error_message, as_text)
        skew = one_value(c, self.clock_skew, parse_duration)
        rules = ClaimRules(
            one_value(c, self.require_expiration_time, _truthy), _texts(c, self.audiences),
            _texts(c, self.issuers), verifier.issuers if verifier.sources else None,
            tuple((claim.name, claim.match, claim.separator, each_value(c, claim.value, as_text))
                  for claim in self.required_claims))
        output = self.output_token_variable_name

        def refusal(ctx, refused) -> PolicyError:
            message = refused.message if custom is None else custom(ctx)
            return PolicyError(status(ctx), message, refused.reason, source="validate-jwt", last_message=refused.message)

        def accept(ctx, claims) -> None:
            ctx.jwt = claims
            if output is not None:
                ctx.variables[output] = claims

        async def after_fetch(ctx, pending, slack):
            try:
                claims = await pending
                rules.check(ctx, claims, time(), slack)
            except Invalid as refused:
                raise refusal(ctx, refused) from None
            accept(ctx, claims)

        def validate_jwt(ctx):
            try:
                token = token_of(ctx)
                if not token:
                    raise not_present()
                now = time()
                slack = skew(ctx)
                claims = verifier.claims(token, now, slack)
                if type(claims) is not Claims:  # an awaitable: keys are being fetched
                    return after_fetch(ctx, claims, slack)
                rules.check(ctx, claims, now, slack)
            except Invalid as refused:
                raise refusal(ctx, refused) from None
            accept(ctx, claims)

        return [validate_jwt]

    def _unsupported(self) -> list:
        """What this statement asks for that gwcore will not do: a load error, never a silent skip."""
        problems = []
        if self.require_signed_tokens is not True:
            problems.append("require-signed-tokens may only be true: gwcore never accepts unsigned tokens"
                            " (alg none); remove the attribute")
        if self.decryption_keys:
            problems.append("encrypted tokens (decryption-keys) are not supported by this gwcore version yet;"
                            " remove decryption-keys")
        return problems

    def _prepare(self, c):
        """Parse the keys once into cryptography objects; the OpenID sources are shared per URL."""
        keys = []
        for index, key in enumerate(self.issuer_signing_keys):
            try:
                keys.append(from_config(key))
            except ValueError as exc:
                c.problem(self, f"issuer-signing-keys[{index}]: {exc}")
        if len(keys) < len(self.issuer_signing_keys):
            return None
        sources = tuple(keys_for(config.url) for config in self.openid_config)
        self._verifier = Verifier(tuple(keys), tuple(dict.fromkeys(sources)))
        return self._verifier


def _token_source(statement, c):
    """A function of the context giving the token text, or None when there is none."""
    if statement.token_value is not None:
        return one_value(c, statement.token_value, lambda v: as_text(v).strip())
    if statement.query_parameter_name is not None:
        name = one_value(c, statement.query_parameter_name, as_text)
        return lambda ctx: ctx.request.url.query.get(name(ctx))
    header = one_value(c, statement.header_name, lambda v: as_text(v).lower().encode("latin-1"))
    scheme = None
    if statement.require_scheme is not None:
        scheme = one_value(c, statement.require_scheme, lambda v: as_text(v).strip().lower())

    def from_header(ctx):
        """The token of `Bearer <token>`. With require-scheme, another scheme (or none) means no token;
        without, a leading scheme is dropped as APIM does, so `Authorization: Bearer …` just works."""
        key = header(ctx)
        for name, value in ctx.request.headers._items:
            if name == key:
                given, space, rest = value.decode("latin-1").strip().partition(" ")
                if scheme is not None and (not space or given.lower() != scheme(ctx)):
                    return None
                return rest.strip() if space else given
        return None

    return from_header


def _texts(c, raws):
    """A tuple of the texts when all are literals (checked without a call per request), else a function."""
    compiled = [evaluator(c, raw) for raw in raws]
    if any(dynamic for _, dynamic in compiled):
        return each_value(c, raws, as_text)
    return tuple(as_text(value) for value, _ in compiled)


def _truthy(value) -> bool:
    return value is True or as_text(value).strip().lower() == "true"
