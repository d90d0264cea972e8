"""validate-jwt claim rules, run on every request: lifetime (exp, nbf, clock skew), audiences, issuers, claims.

Messages are APIM's: "<message>. Access denied." for the named reasons, the bare message for
JwtInvalid, and the claim lists as APIM words them.
"""
from gwcore.pipeline.steps import as_text
from gwcore.policies.jwt_verify import Invalid, denied


class ClaimRules:
    """The checks of one statement; every rule is a function of the context (constants were fixed at load)."""

    __slots__ = ("require_exp", "audiences", "issuers", "openid_issuers", "required")

    def __init__(self, require_exp, audiences, issuers, openid_issuers, required: tuple):
        self.require_exp = require_exp      # ctx -> bool
        self.audiences = audiences          # a tuple of text, or ctx -> list of text; empty: any audience
        self.issuers = issuers              # the same; empty: the OpenID configurations' issuers, if any
        self.openid_issuers = openid_issuers  # None, or () -> tuple of text
        self.required = required            # (name, match, separator, ctx -> list of text)

    def check(self, ctx, claims, now: float, skew: float) -> None:
        """Raise Invalid for the first rule the claims break; `skew` is the clock-skew in seconds."""
        exp = claims.get("exp")
        if exp is None:
            if self.require_exp(ctx):
                raise Invalid("JwtInvalid", 'Token is missing the "exp" claim')
        elif not _number(exp):
            raise Invalid("JwtInvalid", "Expiration Time claim (exp) must be a number")
        elif now >= exp + skew:
            raise denied("TokenExpired", "Signature has expired")
        nbf = claims.get("nbf")
        if nbf is not None:
            if not _number(nbf):
                raise Invalid("JwtInvalid", "Not Before claim (nbf) must be a number")
            if nbf > now + skew:
                raise Invalid("JwtInvalid", "The token is not yet valid (nbf)")
        audiences = self.audiences
        if type(audiences) is not tuple:
            audiences = audiences(ctx)
        if audiences:
            _check_audience(claims.get("aud"), audiences)
        issuers = self.issuers
        if type(issuers) is not tuple:
            issuers = issuers(ctx)
        if not issuers and self.openid_issuers is not None:
            issuers = self.openid_issuers()
        if issuers:
            issuer = claims.get("iss")
            if issuer is None:
                raise denied("TokenIssuerNotAllowed", 'Token is missing the "iss" claim')
            if issuer not in issuers:
                raise denied("TokenIssuerNotAllowed", "Invalid issuer")
        if self.required:
            self._check_required(ctx, claims)

    def _check_required(self, ctx, claims) -> None:
        missing = [name for name, _, _, _ in self.required if name not in claims]
        if missing:
            raise denied("TokenClaimNotFound", f"JWT token is missing the following claims: {', '.join(missing)}")
        for name, match, separator, expected in self.required:
            wanted = expected(ctx)
            if not wanted:
                continue  # no values listed: the claim only has to be there
            value = claims[name]
            present = _values(value, separator)
            test = all if match == "all" else any
            if not test(v in present for v in wanted):
                shown = ", ".join(_values(value, None))
                raise denied("TokenClaimValueNotAllowed", f"Claim {name} value of {shown} is not allowed")


def _number(value) -> bool:
    return type(value) in (int, float)


def _values(value, separator) -> list:
    """A claim's values as text: a list's items, a string split on `separator` when there is one."""
    items = value if isinstance(value, (list, tuple)) else (value,)
    texts = [as_text(item) for item in items]
    if separator:
        texts = [part for text in texts for part in text.split(separator)]
    return texts


def _check_audience(aud, audiences) -> None:
    if aud is None:
        raise denied("TokenAudienceNotAllowed", 'Token is missing the "aud" claim')
    if isinstance(aud, str):
        aud = (aud,)
    elif not isinstance(aud, (list, tuple)) or not all(isinstance(a, str) for a in aud):
        raise denied("TokenAudienceNotAllowed", "Invalid claim format in token")
    if not any(a in audiences for a in aud):
        raise denied("TokenAudienceNotAllowed", "Audience doesn't match")
