"""validate-jwt signing keys: parsed once into cryptography objects, each with the algorithms its type allows.

The algorithm of a token is decided by the key that checks it, never by the token: an HMAC secret
verifies HS256/384/512 only, an RSA key RS* and PS*, an EC key the one ES* of its curve, an OKP key
EdDSA. So `alg: none` fits no key, and an RSA public key can never be used as an HMAC secret (the
classic key-confusion attack), whatever the token's header claims.
"""
import base64
import json

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from jwt.algorithms import ECAlgorithm, HMACAlgorithm, OKPAlgorithm, RSAAlgorithm, get_default_algorithms
from jwt.exceptions import PyJWTError
from jwt.utils import base64url_decode

_ALGORITHMS = get_default_algorithms()
HMAC_ALGORITHMS = ("HS256", "HS384", "HS512")
RSA_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512")
# the curve decides the algorithm (RFC 7518 3.4): a P-256 key never checks an ES512 signature
EC_ALGORITHMS = {"secp256r1": ("ES256",), "secp384r1": ("ES384",), "secp521r1": ("ES512",),
                 "secp256k1": ("ES256K",)}
OKP_ALGORITHMS = ("EdDSA",)
ALL_ALGORITHMS = frozenset(HMAC_ALGORITHMS + RSA_ALGORITHMS + OKP_ALGORITHMS
                           + tuple(a for names in EC_ALGORITHMS.values() for a in names))


class SigningKey:
    """One key that may have signed a token: its `kid` (None: tried for every token) and, per allowed
    algorithm, PyJWT's implementation with the key already prepared for it."""

    __slots__ = ("kid", "kind", "verifiers")

    def __init__(self, kid, key, algorithms: tuple = None):
        self.kid = kid
        self.kind, allowed = _family(key)
        if algorithms is not None:
            wrong = [a for a in algorithms if a not in allowed]
            if wrong:
                raise ValueError(f"alg {', '.join(wrong)} does not fit a {self.kind} key (it allows"
                                 f" {', '.join(allowed)})")
            allowed = algorithms
        try:
            self.verifiers = {alg: (_ALGORITHMS[alg], _ALGORITHMS[alg].prepare_key(key)) for alg in allowed}
        except PyJWTError as exc:  # e.g. a PEM given as an HMAC secret
            raise ValueError(str(exc)) from None

    def verify(self, alg: str, signing_input: bytes, signature: bytes):
        """True or False; None when this key does not allow `alg`."""
        found = self.verifiers.get(alg)
        if found is None:
            return None
        algorithm, key = found
        return algorithm.verify(signing_input, key, signature)

    def __repr__(self) -> str:
        return f"SigningKey(kid={self.kid!r}, {self.kind}, {'/'.join(self.verifiers)})"


def _family(key) -> tuple:
    """(kind, algorithms) for a key object; ValueError for a type no JWS algorithm uses."""
    if isinstance(key, bytes):
        return "HMAC", HMAC_ALGORITHMS
    if isinstance(key, rsa.RSAPublicKey):
        return "RSA", RSA_ALGORITHMS
    if isinstance(key, ec.EllipticCurvePublicKey):
        algorithms = EC_ALGORITHMS.get(key.curve.name)
        if algorithms is None:
            raise ValueError(f"EC curve {key.curve.name} is not used by any JWS algorithm")
        return "EC", algorithms
    if isinstance(key, (ed25519.Ed25519PublicKey, ed448.Ed448PublicKey)):
        return "OKP", OKP_ALGORITHMS
    raise ValueError(f"a {type(key).__name__} cannot check JWT signatures")


def _public(key):
    """Only the public half is ever needed to verify; a private JWK or PEM is reduced to it."""
    public = getattr(key, "public_key", None)
    return public() if public is not None and not isinstance(key, bytes) else key


def from_config(key) -> SigningKey:
    """The SigningKey of one validate-jwt `issuer-signing-keys` entry (already schema-checked)."""
    if key.value is not None:  # APIM: the element's text is the base64 of the HMAC secret
        text = key.value.strip()
        return SigningKey(key.id, base64.b64decode(text + "=" * (-len(text) % 4)))
    if key.n is not None:
        n = int.from_bytes(base64url_decode(key.n.strip()), "big")
        e = int.from_bytes(base64url_decode(key.e.strip()), "big")
        return SigningKey(key.id, rsa.RSAPublicNumbers(e, n).public_key())
    if key.pem is not None:
        return SigningKey(key.id, _from_pem(key.pem.encode()))
    if key.jwk is not None:
        return from_jwk(json.loads(key.jwk), key.id)
    raise ValueError("certificate-id keys need a certificate store, which this gwcore version does not have"
                     " yet; give the certificate's public key as pem instead")


def _from_pem(data: bytes):
    try:
        return serialization.load_pem_public_key(data)
    except ValueError:
        return x509.load_pem_x509_certificate(data).public_key()


_JWK_TYPES = {"RSA": RSAAlgorithm, "EC": ECAlgorithm, "OKP": OKPAlgorithm, "oct": HMACAlgorithm}


def from_jwk(jwk: dict, kid=None) -> SigningKey:
    """The SigningKey of a JSON web key; its `alg`, when given, narrows the allowed algorithms to it."""
    if not isinstance(jwk, dict):
        raise ValueError("a JSON web key is an object")
    kty = jwk.get("kty")
    kind = _JWK_TYPES.get(kty) if isinstance(kty, str) else None
    if kind is None:
        raise ValueError(f"kty {kty!r} is not a signing key type (RSA, EC, OKP or oct)")
    try:
        key = _public(kind.from_jwk(jwk))
    except (PyJWTError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"not a usable {kty} key: {exc}") from None
    alg = jwk.get("alg")
    if alg is not None and not isinstance(alg, str):
        raise ValueError("alg of a JSON web key is text")
    if kid is None:
        kid = jwk.get("kid")
        if kid is not None and not isinstance(kid, str):
            raise ValueError("kid of a JSON web key is text")
    return SigningKey(kid, key, (alg,) if alg else None)
