"""validate-jwt signatures: parse a compact JWS, pick the keys its kid names, verify, and remember verified tokens.

A token that verified once is kept (by SHA-256 of its text) in a bounded LRU until its exp, and
never across a change of the key set (an OpenID refresh that brings other keys), so a client
calling with the same token costs a dict lookup instead of a signature check. Only the signature
and decoding are cached: the time, audience, issuer and claim rules run on every request
(jwt_claims), as they may depend on the clock and on expressions.
"""
import asyncio
import hashlib
import re
import time
from base64 import urlsafe_b64decode
from collections import OrderedDict

import orjson

from gwcore.policies.jwt_keys import ALL_ALGORITHMS

TOKEN_CACHE_SIZE = 10_000
NO_EXP_TTL = 300.0          # seconds a verified token without exp is remembered
KEY_WAIT = 3.0              # seconds a request waits for a key fetch it needs (first load, unknown kid)
MAX_TOKEN = 16 * 1024       # longer text is not a token we accept
_SHAPE = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\Z")
_NO_KID = object()          # a kid that is not text: matches no key


class Invalid(Exception):
    """The token is refused: APIM's LastError reason and message."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason
        self.message = message


def denied(reason: str, detail: str) -> Invalid:
    """APIM's "<message from jwt library>. Access denied." form."""
    return Invalid(reason, f"{detail}. Access denied.")


def not_present() -> Invalid:
    return Invalid("TokenNotPresent", "JWT not present.")


_NOT_ALLOWED = "The specified alg value is not allowed"


class Claims(dict):
    """Verified claims, shared by every request presenting the token: read-only, nested lists as tuples.

    A dict subclass so expressions and orjson treat it as the plain JSON object it is."""

    __slots__ = ()

    def _read_only(self, *args, **kwargs):
        raise TypeError("JWT claims are read-only")

    __setitem__ = __delitem__ = __ior__ = _read_only
    clear = pop = popitem = setdefault = update = _read_only


def _frozen(value):
    if isinstance(value, dict):
        return _claims({k: _frozen(v) for k, v in value.items()})
    if isinstance(value, list):
        return tuple(_frozen(v) for v in value)
    return value


def _claims(items: dict) -> Claims:
    claims = Claims()
    dict.update(claims, items)
    return claims


class Verifier:
    """The keys of one validate-jwt statement (inline and from openid-config URLs) and its token cache."""

    def __init__(self, static_keys: tuple, sources: tuple, cache_size: int = TOKEN_CACHE_SIZE):
        self.static_keys = static_keys
        self.sources = sources          # OpenIdKeys, shared per URL
        self.cache_size = cache_size
        self._cache = OrderedDict()     # sha256(token) -> (claims, until, generation)
        self._set = _KeySet(0 if not sources else -1, static_keys, sources)

    # ---- per request

    def claims(self, token: str, now: float, slack: float):
        """The verified claims of `token`, or an awaitable giving them (a key fetch must finish first);
        raises Invalid. `slack` (the clock skew) extends how long a verified token is remembered."""
        sources = self.sources
        for source in sources:
            source.use()
        if len(token) > MAX_TOKEN or not token.isascii():
            raise Invalid("JwtInvalid", "Invalid token: not a compact JWS")
        data = token.encode("ascii")
        digest = hashlib.sha256(data).digest()
        keys = self._keys() if sources else self._set
        cache = self._cache
        entry = cache.get(digest)
        if entry is not None:
            if entry[2] == keys.generation and now < entry[1]:
                cache.move_to_end(digest)
                return entry[0]
            del cache[digest]
        parsed = _parse(token, data)
        found = self._verify(parsed, keys, retried=False)
        if found is not None:  # keys must be fetched first
            return self._after_fetch(found, parsed, digest, slack)
        return self._remember(digest, parsed, keys.generation, now, slack)

    def issuers(self) -> tuple:
        """Issuers named by the OpenID configurations (checked when the statement lists none)."""
        return self._keys().issuers

    # ----

    def _keys(self) -> "_KeySet":
        current = self._set
        if current.generation != sum(s.generation for s in self.sources):
            current = self._set = _KeySet(sum(s.generation for s in self.sources), self.static_keys,
                                          self.sources)
        return current

    def _verify(self, parsed, keys, retried: bool):
        """None when the signature checks out (raises Invalid when not); a list of futures to wait for
        when the keys that could check it may still come from an OpenID configuration."""
        header, signing_input, signature, _ = parsed
        alg = header.get("alg")
        if type(alg) is not str or alg not in ALL_ALGORITHMS:  # none, or what no key could check: no fetch helps
            raise denied("TokenSignatureInvalid", _NOT_ALLOWED)
        kid = header.get("kid", None)
        if kid is not None and not isinstance(kid, str):
            kid = _NO_KID
        named = keys.by_kid.get(kid, ()) if kid is not None else ()
        if not named and not retried and self.sources:
            waits = []
            for source in self.sources:
                if not source.loaded and source.pending() is not None:
                    waits.append(source.pending())
                elif kid is not None:
                    refresh = source.refresh_for_unknown_kid()
                    if refresh is not None:
                        waits.append(refresh)
            if waits:
                return waits
        candidates = named + keys.unnamed if kid is not None else keys.all
        if not candidates:
            if self.sources and not all(s.loaded for s in self.sources):
                raise denied("TokenSignatureKeyNotFound", "The signing keys of the OpenID configuration are not"
                                                          " available")
            raise denied("TokenSignatureKeyNotFound", "Unable to find a signing key that matches the token's kid")
        allowed = False
        for key in candidates:
            checked = key.verify(alg, signing_input, signature)
            if checked:
                return None
            allowed = allowed or checked is not None
        raise denied("TokenSignatureInvalid", "Signature verification failed" if allowed else _NOT_ALLOWED)

    async def _after_fetch(self, waits: list, parsed, digest: bytes, slack: float):
        await asyncio.wait(waits, timeout=KEY_WAIT)  # never cancels the shared fetches
        keys = self._keys()
        self._verify(parsed, keys, retried=True)
        return self._remember(digest, parsed, keys.generation, time.time(), slack)

    def _remember(self, digest: bytes, parsed, generation: int, now: float, slack: float) -> Claims:
        claims = _payload(parsed[3])
        exp = claims.get("exp")
        if exp is None:
            until = now + NO_EXP_TTL
        elif type(exp) in (int, float):
            until = exp + slack
        else:
            return claims  # malformed exp: refused by the claim rules, not worth remembering
        if until > now:
            cache = self._cache
            cache[digest] = (claims, until, generation)
            if len(cache) > self.cache_size:
                cache.popitem(last=False)
        return claims


class _KeySet:
    """Every key of a Verifier at one generation, indexed by kid."""

    __slots__ = ("generation", "by_kid", "unnamed", "all", "issuers")

    def __init__(self, generation: int, static_keys: tuple, sources: tuple):
        self.generation = generation
        every = tuple(static_keys) + tuple(k for s in sources for k in s.keys)
        self.all = every
        self.unnamed = tuple(k for k in every if k.kid is None)
        by_kid = {}
        for key in every:
            if key.kid is not None:
                by_kid[key.kid] = by_kid.get(key.kid, ()) + (key,)
        self.by_kid = by_kid
        self.issuers = tuple(dict.fromkeys(s.issuer for s in sources if s.issuer))


def _b64(segment: str) -> bytes:
    return urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def _parse(token: str, data: bytes) -> tuple:
    """(header, signing input, signature, payload segment) of a compact JWS; Invalid if it is not one."""
    if not _SHAPE.match(token):
        if token.count(".") == 4:
            raise Invalid("JwtInvalid", "Encrypted tokens (JWE) are not supported")
        raise Invalid("JwtInvalid", "Invalid token: not a compact JWS (header.payload.signature)")
    head, payload, signature = token.split(".")
    try:
        header = orjson.loads(_b64(head))
    except ValueError:  # binascii.Error and orjson's JSONDecodeError are ValueErrors
        raise Invalid("JwtInvalid", "Invalid header: not base64url JSON") from None
    try:
        signature = _b64(signature)
    except ValueError:
        raise Invalid("JwtInvalid", "Invalid signature: not base64url") from None
    if not isinstance(header, dict):
        raise Invalid("JwtInvalid", "Invalid header: not a JSON object")
    if "crit" in header or header.get("b64", True) is not True:
        # RFC 7515 4.1.11: extensions we do not understand must make the token invalid
        raise Invalid("JwtInvalid", "Invalid header: critical extensions are not supported")
    return header, data[:len(head) + 1 + len(payload)], signature, payload


def _payload(segment: str) -> Claims:
    try:
        claims = orjson.loads(_b64(segment))
    except ValueError:
        raise Invalid("JwtInvalid", "Invalid payload: not base64url JSON") from None
    if not isinstance(claims, dict):
        raise Invalid("JwtInvalid", "Invalid payload: must be a JSON object")
    return _claims({k: _frozen(v) for k, v in claims.items()})
