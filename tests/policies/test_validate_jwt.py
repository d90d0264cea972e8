"""validate-jwt: the schema, then valid and attack tokens through a real gateway, OpenID keys from a local IdP."""
import asyncio
import base64
import hashlib
import hmac
import json
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt as pyjwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

from gwcore.config import load_plan
from gwcore.pipeline.context import Context, Headers, Query, Request, Url
from gwcore.pipeline.runner import Program, Run
from gwcore.policies import jwt_openid

SECRET = "c2VjcmV0LXNlY3JldC1zZWNyZXQ="  # base64 of a symmetric key


def test_full_statement(policies):
    jwt_policy = policies.statement(f"""
        - validate-jwt:
            header-name: Authorization
            require-scheme: Bearer
            failed-validation-error-message: Unauthorized. Access token is missing or invalid.
            clock-skew: 30s
            output-token-variable-name: jwt
            openid-config: [{{url: 'https://login.example.com/.well-known/openid-configuration'}}]
            issuer-signing-keys:
              - {SECRET}
              - {{id: k2, n: 'sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1Wl', e: AQAB}}
            audiences: [api://inventory]
            issuers: ['https://login.example.com/']
            required-claims:
              - name: group
                match: any
                value: [finance, logistics]
              - name: scp
                separator: ' '
                value: read
    """)
    assert (jwt_policy.header_name, jwt_policy.query_parameter_name, jwt_policy.token_value) == (
        "Authorization", None, None)
    assert (jwt_policy.failed_validation_httpcode, jwt_policy.clock_skew) == (401, 30.0)
    assert jwt_policy.require_expiration_time is True and jwt_policy.require_signed_tokens is True
    assert jwt_policy.openid_config[0].url == "https://login.example.com/.well-known/openid-configuration"
    symmetric, rsa = jwt_policy.issuer_signing_keys
    assert (symmetric.value, symmetric.id) == (SECRET, None)
    assert (rsa.id, rsa.e) == ("k2", "AQAB")
    assert jwt_policy.audiences == ("api://inventory",) and jwt_policy.issuers == ("https://login.example.com/",)
    group, scope = jwt_policy.required_claims
    assert (group.name, group.match, group.value) == ("group", "any", ("finance", "logistics"))
    assert (scope.match, scope.separator, scope.value) == ("all", " ", ("read",))
    assert jwt_policy.decryption_keys == ()


def test_spelled_out_wrappers_pem_and_jwk(policies):
    pem = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    block = "\n".join(" " * 22 + line for line in pem.splitlines())
    jwt_policy = policies.statement(f"""
        - validate-jwt:
            query-parameter-name: token
            failed-validation-httpcode: 403
            issuer-signing-keys:
              key:
                - pem: |
{block}
                - jwk: {{kty: oct, k: c2VjcmV0}}
            decryption-keys: {{key: [{SECRET}]}}
            audiences: {{audience: [a, b]}}
    """)
    pem_key, jwk_key = jwt_policy.issuer_signing_keys
    assert pem_key.pem.startswith("-----BEGIN PUBLIC KEY-----")
    assert json.loads(jwk_key.jwk) == {"kty": "oct", "k": "c2VjcmV0"}
    assert hash(jwt_policy)  # immutable all the way down
    assert jwt_policy.decryption_keys[0].value == SECRET
    assert jwt_policy.audiences == ("a", "b") and jwt_policy.failed_validation_httpcode == 403


def test_token_value_expression_without_signature(policies):
    jwt_policy = policies.statement("- validate-jwt: {token-value: '@(context.variables[\"t\"])',"
                                    " require-signed-tokens: false}")
    assert jwt_policy.token_value == '@(context.variables["t"])'


@pytest.mark.parametrize("sources, message", [
    ("", "validate-jwt (where the token is) needs one of header-name, query-parameter-name or token-value"),
    ("header-name: Authorization, query-parameter-name: t",
     "header-name and query-parameter-name exclude each other; keep only one of header-name,"
     " query-parameter-name or token-value"),
])
def test_exactly_one_token_source(policies, sources, message):
    found = policies.error(f"- validate-jwt: {{{sources}{', ' if sources else ''}require-signed-tokens: false}}"
                           "  # <-")
    assert (found.line, found.path) == (found.marked_line, f"{policies.at()}.validate-jwt")
    assert found.message == message


def test_signed_tokens_need_a_key(policies):
    found = policies.error("- validate-jwt: {header-name: Authorization}  # <-")
    assert found.line == found.marked_line
    assert found.message.startswith("signed tokens are required but no key can check them")


@pytest.mark.parametrize("key, message", [
    ("{n: abc}", "n and e go together: give both the RSA modulus and the exponent"),
    ("{id: k1}", "a key is exactly one of: base64 value, certificate-id, n with e, pem, jwk; this one has none"),
    ("{value: " + SECRET + ", certificate-id: c}",
     "a key is exactly one of: base64 value, certificate-id, n with e, pem, jwk; this one has value and"
     " certificate-id"),
    ("{jwk: {kty: RSA}}", "jwk is not a usable JSON web key: Not a public or private key"),
    ("{pem: not-a-pem}", "pem is not a PEM public key or certificate (-----BEGIN PUBLIC KEY----- ...)"),
])
def test_bad_keys(policies, key, message):
    found = policies.error(f"""
        - validate-jwt:
            header-name: Authorization
            issuer-signing-keys:
              - {key}  # <-
    """)
    assert found.line == found.marked_line
    assert found.path.startswith(f"{policies.at()}.validate-jwt.issuer-signing-keys[0]")
    assert found.message == message


def test_symmetric_key_must_be_base64(policies):
    found = policies.error("""
        - validate-jwt:
            header-name: Authorization
            issuer-signing-keys:
              - 'not base64!'  # <-
    """)
    assert found.line == found.marked_line
    assert found.path == f"{policies.at()}.validate-jwt.issuer-signing-keys[0].value"
    assert found.message == "is not valid base64 text"


def test_claim_match_enum(policies):
    found = policies.error(f"""
        - validate-jwt:
            header-name: Authorization
            issuer-signing-keys: [{SECRET}]
            required-claims:
              - name: group
                match: some  # <-
    """)
    assert (found.line, found.path) == (found.marked_line,
                                        f"{policies.at()}.validate-jwt.required-claims[0].match")
    assert found.message == "Input should be 'all' or 'any'"


def test_openid_config_url_is_a_literal(policies):
    found = policies.error("""
        - validate-jwt:
            header-name: Authorization
            openid-config:
              - url: '@(context.variables["idp"])'  # <-
    """)
    assert (found.line, found.path) == (found.marked_line, f"{policies.at()}.validate-jwt.openid-config[0].url")
    assert found.message == "must be a literal URL: keys are fetched per URL in the background, not per request"


def test_inbound_only(policies):
    found = policies.error("- validate-jwt: {header-name: a, require-signed-tokens: false}  # <-",
                           section="outbound")
    assert found.message == "validate-jwt may not stand in the outbound section"


def test_what_gwcore_will_not_do_is_a_load_error(policies):
    path = policies.config(f"""
        - validate-jwt:
            header-name: Authorization
            require-signed-tokens: false
            issuer-signing-keys: [{SECRET}]
            decryption-keys: [{SECRET}]
        - validate-jwt:
            header-name: Authorization
            issuer-signing-keys: [{{certificate-id: signer}}]
    """)
    with pytest.raises(Exception) as info:
        load_plan(path)
    messages = [p.message for p in info.value.problems]
    assert messages == [
        "require-signed-tokens may only be true: gwcore never accepts unsigned tokens (alg none); remove the"
        " attribute",
        "encrypted tokens (decryption-keys) are not supported by this gwcore version yet; remove decryption-keys",
        "issuer-signing-keys[0]: certificate-id keys need a certificate store, which this gwcore version does not"
        " have yet; give the certificate's public key as pem instead",
    ]


# ---- tokens and keys for the end-to-end tests ----------------------------------------------------

RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())
ED_KEY = ed25519.Ed25519PrivateKey.generate()
HS_SECRET = b"gwcore-test-hmac-secret-of-64-bytes-as-rfc-7518-asks-for-hs512.."
ISSUER, AUDIENCE = "https://issuer.test/", "api://gateway"
CUSTOM = "Unauthorized. Access token is missing or invalid."


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def public_pem(key) -> str:
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def public_jwk(key, **extra) -> dict:
    family = OKPAlgorithm
    if isinstance(key, rsa.RSAPrivateKey):
        family = RSAAlgorithm
    elif isinstance(key, ec.EllipticCurvePrivateKey):
        family = ECAlgorithm
    return {**family.to_jwk(key.public_key(), as_dict=True), **extra}


def claims(**changes) -> dict:
    """Good claims for the static API; a change to None removes the claim."""
    now = int(time.time())
    base = {"iss": ISSUER, "aud": AUDIENCE, "sub": "alice", "iat": now, "exp": now + 600}
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def token(key, alg: str = "RS256", kid: str = None, **changes) -> str:
    return pyjwt.encode(claims(**changes), key, algorithm=alg, headers={"kid": kid} if kid else None)


def forge(header: dict, payload: dict, signer=None) -> str:
    """A compact JWS written by hand, as an attacker would: any header, any signature."""
    signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(payload).encode())}"
    signature = signer(signing_input.encode()) if signer else b""
    return f"{signing_input}.{b64url(signature)}"


def hs256(secret: bytes):
    return lambda data: hmac.new(secret, data, hashlib.sha256).digest()


def tampered(jws: str, **changes) -> str:
    """The same header and signature over a payload the attacker changed."""
    head, payload, signature = jws.split(".")
    body = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    body.update(changes)
    return f"{head}.{b64url(json.dumps(body).encode())}.{signature}"


class IdentityProvider:
    """OpenID configuration and JWKS documents per tenant (/<tenant>/...), counting every fetch."""

    def __init__(self):
        self.tenants = {}       # name -> {"keys": [jwk, ...], "status": int, "max_age": seconds}
        self.hits = Counter()   # (tenant, "config" | "jwks") -> requests
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                tenant, _, rest = self.path.strip("/").partition("/")
                kind = {".well-known/openid-configuration": "config", "jwks": "jwks"}.get(rest)
                settings = provider.tenants.get(tenant)
                if kind is None or settings is None:
                    return self._answer(404, {}, {})
                provider.hits[tenant, kind] += 1
                if kind == "config":
                    document = {"issuer": provider.issuer(tenant), "jwks_uri": provider.url(tenant, "jwks")}
                else:
                    document = {"keys": settings["keys"]}
                self._answer(settings.get("status", 200), document, settings)

            def _answer(self, status, document, settings):
                body = json.dumps(document).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Cache-Control", f"public, max-age={settings.get('max_age', 3600)}")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def issuer(self, tenant: str) -> str:
        return f"https://idp.test/{tenant}"

    def url(self, tenant: str, what: str = ".well-known/openid-configuration") -> str:
        return f"http://127.0.0.1:{self.port}/{tenant}/{what}"

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def idp():
    provider = IdentityProvider()
    provider.tenants["good"] = {"keys": [
        public_jwk(RSA_KEY, kid="good-1", alg="RS256", use="sig"),
        public_jwk(OTHER_RSA_KEY, kid="enc-1", use="enc"),      # an encryption key is never used to verify
        {"kty": "weird", "kid": "odd"},                          # skipped, the rest of the set still loads
    ]}
    provider.tenants["rotate"] = {"keys": [public_jwk(RSA_KEY, kid="r1")]}
    provider.tenants["down"] = {"keys": [], "status": 500}
    yield provider
    provider.stop()


def api(path: str, **attributes) -> dict:
    return {"path": path, "backend": "origin", "subscription_required": False,
            "policies": {"inbound": [{"validate-jwt": attributes}]}}


def gateway_config(idp) -> str:
    rsa_numbers = RSA_KEY.public_key().public_numbers()
    hs_key = {"value": base64.b64encode(HS_SECRET).decode()}
    bearer = {"header-name": "Authorization", "require-scheme": "Bearer"}
    return json.dumps({"apis": {
        "static": api("static", **bearer, audiences=[AUDIENCE], issuers=[ISSUER], **{"issuer-signing-keys": [
            {"id": "rsa-1", "pem": public_pem(RSA_KEY)},
            {"id": "rsa-ne", "n": b64url(rsa_numbers.n.to_bytes(256, "big")), "e": b64url(b"\x01\x00\x01")},
            {"id": "ec-1", "jwk": public_jwk(EC_KEY)},
            {"id": "ed-1", "jwk": public_jwk(ED_KEY)},
            {"id": "hs-1", **hs_key},
        ]}),
        "claims": api("claims", **bearer, **{"issuer-signing-keys": [hs_key], "required-claims": [
            {"name": "group", "match": "any", "value": ["finance", "logistics"]},
            {"name": "scp", "separator": " ", "value": ["read", "write"]},
            {"name": "tenant"},
        ]}),
        "query": api("query", **{"query-parameter-name": "access_token", "require-expiration-time": False,
                                 "issuer-signing-keys": [hs_key]}),
        "custom": api("custom", **{"header-name": "X-Token", "failed-validation-httpcode": 403,
                                   "failed-validation-error-message": CUSTOM, "clock-skew": "2m",
                                   "output-token-variable-name": "claims", "issuer-signing-keys": [hs_key]}),
        "oidc": api("oidc", **bearer, audiences=[AUDIENCE], **{"openid-config": [{"url": idp.url("good")}]}),
        "rotate": api("rotate", **bearer, **{"openid-config": [{"url": idp.url("rotate")}]}),
        "down": api("down", **bearer, **{"openid-config": [{"url": idp.url("down")}]}),
    }})


@pytest.fixture(scope="module")
def gw(serve, idp):
    return serve(gateway_config(idp), name="jwt")


def call(gw, path: str, jws: str = None, scheme: str = "Bearer", header: str = "Authorization"):
    return gw.get(path, headers={} if jws is None else {header: f"{scheme} {jws}".strip()})


def refused(answer, message: str, status: int = 401) -> bool:
    assert (answer.status, answer.json()) == (status, {"statusCode": status, "message": message}), answer.body
    return True


# ---- end to end: valid tokens reach the backend ----------------------------------------------

@pytest.mark.parametrize("make", [
    lambda: token(RSA_KEY, "RS256", "rsa-1"),
    lambda: token(RSA_KEY, "RS512", "rsa-1"),
    lambda: token(RSA_KEY, "PS256", "rsa-1"),
    lambda: token(RSA_KEY, "RS256", "rsa-ne"),
    lambda: token(EC_KEY, "ES256", "ec-1"),
    lambda: token(ED_KEY, "EdDSA", "ed-1"),
    lambda: token(HS_SECRET, "HS256", "hs-1"),
    lambda: token(HS_SECRET, "HS512", "hs-1"),
], ids=["RS256-pem", "RS512-pem", "PS256-pem", "RS256-n-e", "ES256-jwk", "EdDSA-jwk", "HS256-base64",
        "HS512-base64"])
def test_valid_tokens_reach_the_backend(gw, make):
    jws = make()
    answer = call(gw, "/static/items?x=1", jws)
    assert answer.status == 200, answer.body
    sent = answer.echo
    assert sent["target"] == "/api/items?x=1"
    assert sent["headers"]["authorization"] == f"Bearer {jws}"  # APIM forwards the token as it came


def test_a_repeated_token_is_accepted_again(gw):
    jws = token(RSA_KEY, "RS256", "rsa-1")
    assert [call(gw, "/static/x", jws).status for _ in range(3)] == [200, 200, 200]


def test_scheme_is_case_insensitive(gw):
    assert call(gw, "/static/x", token(RSA_KEY, kid="rsa-1"), scheme="bearer").status == 200


# ---- end to end: attack tokens are refused -----------------------------------------------------

SIGNATURE_INVALID = "Signature verification failed. Access denied."
ALG_NOT_ALLOWED = "The specified alg value is not allowed. Access denied."
KEY_NOT_FOUND = "Unable to find a signing key that matches the token's kid. Access denied."
ATTACKS = {
    "alg-none": (lambda: forge({"alg": "none", "kid": "rsa-1"}, claims()), ALG_NOT_ALLOWED),
    "alg-None-no-kid": (lambda: forge({"alg": "None"}, claims()), ALG_NOT_ALLOWED),
    "alg-missing": (lambda: forge({"kid": "hs-1"}, claims(), hs256(HS_SECRET)), ALG_NOT_ALLOWED),
    "alg-not-text": (lambda: forge({"alg": ["HS256"], "kid": "hs-1"}, claims(), hs256(HS_SECRET)),
                     ALG_NOT_ALLOWED),
    # key confusion: HS256 keyed with the RSA public key the gateway holds as rsa-1
    "hs256-with-rsa-pem": (lambda: forge({"alg": "HS256", "kid": "rsa-1"}, claims(),
                                         hs256(public_pem(RSA_KEY).encode())), ALG_NOT_ALLOWED),
    "hs256-with-rsa-pem-no-kid": (lambda: forge({"alg": "HS256"}, claims(), hs256(public_pem(RSA_KEY).encode())),
                                  SIGNATURE_INVALID),
    "rs256-against-hmac-key": (lambda: token(RSA_KEY, "RS256", "hs-1"), ALG_NOT_ALLOWED),
    "es256-against-rsa-key": (lambda: token(EC_KEY, "ES256", "rsa-1"), ALG_NOT_ALLOWED),
    "eddsa-against-ec-key": (lambda: token(ED_KEY, "EdDSA", "ec-1"), ALG_NOT_ALLOWED),
    "es384-against-p256-key": (lambda: token(ec.generate_private_key(ec.SECP384R1()), "ES384", "ec-1"),
                               ALG_NOT_ALLOWED),
    "expired": (lambda: token(RSA_KEY, kid="rsa-1", exp=int(time.time()) - 60),
                "Signature has expired. Access denied."),
    "not-yet-valid": (lambda: token(RSA_KEY, kid="rsa-1", nbf=int(time.time()) + 3600),
                      "The token is not yet valid (nbf)"),
    "tampered-payload": (lambda: tampered(token(RSA_KEY, kid="rsa-1"), sub="admin"), SIGNATURE_INVALID),
    "tampered-exp": (lambda: tampered(token(RSA_KEY, kid="rsa-1", exp=int(time.time()) - 60),
                                      exp=int(time.time()) + 3600), SIGNATURE_INVALID),
    "signature-stripped": (lambda: token(RSA_KEY, kid="rsa-1").rsplit(".", 1)[0] + ".", SIGNATURE_INVALID),
    "other-rsa-key": (lambda: token(OTHER_RSA_KEY, kid="rsa-1"), SIGNATURE_INVALID),
    "other-hmac-secret": (lambda: token(HS_SECRET[::-1], "HS256", "hs-1"), SIGNATURE_INVALID),
    # keys the token brings along itself are never trusted
    "embedded-jwk": (lambda: forge({"alg": "RS256", "kid": "rsa-1", "jwk": public_jwk(OTHER_RSA_KEY)}, claims(),
                                   lambda data: RSAAlgorithm(RSAAlgorithm.SHA256).sign(data, OTHER_RSA_KEY)),
                     SIGNATURE_INVALID),
    "jku-header": (lambda: pyjwt.encode(claims(), OTHER_RSA_KEY, algorithm="RS256",
                                        headers={"kid": "rsa-1", "jku": "http://127.0.0.1:1/jwks"}),
                   SIGNATURE_INVALID),
    "unknown-kid": (lambda: token(RSA_KEY, kid="rsa-2"), KEY_NOT_FOUND),
    "kid-path-traversal": (lambda: token(HS_SECRET, "HS256", "../../../../../../dev/null"), KEY_NOT_FOUND),
    "kid-sql": (lambda: token(HS_SECRET, "HS256", "x' UNION SELECT 'c2VjcmV0' --"), KEY_NOT_FOUND),
    "kid-nul": (lambda: token(RSA_KEY, kid="rsa-1\x00"), KEY_NOT_FOUND),
    "kid-url": (lambda: token(RSA_KEY, kid="http://127.0.0.1:1/key.pem"), KEY_NOT_FOUND),
    "kid-not-text": (lambda: forge({"alg": "HS256", "kid": {"$ne": ""}}, claims(), hs256(HS_SECRET)),
                     KEY_NOT_FOUND),
    "wrong-issuer": (lambda: token(RSA_KEY, kid="rsa-1", iss="https://evil.test/"),
                     "Invalid issuer. Access denied."),
    "no-issuer": (lambda: token(RSA_KEY, kid="rsa-1", iss=None),
                  'Token is missing the "iss" claim. Access denied.'),
    "wrong-audience": (lambda: token(RSA_KEY, kid="rsa-1", aud="api://other"),
                       "Audience doesn't match. Access denied."),
    "no-audience": (lambda: token(RSA_KEY, kid="rsa-1", aud=None),
                    'Token is missing the "aud" claim. Access denied.'),
    "no-exp": (lambda: token(RSA_KEY, kid="rsa-1", exp=None), 'Token is missing the "exp" claim'),
    "exp-not-a-number": (lambda: forge({"alg": "HS256", "kid": "hs-1"}, claims(exp="tomorrow"), hs256(HS_SECRET)),
                         "Expiration Time claim (exp) must be a number"),
    "garbage": (lambda: "not-a-token", "Invalid token: not a compact JWS (header.payload.signature)"),
    "bad-header": (lambda: "e30x.e30.", "Invalid header: not base64url JSON"),
    "encrypted": (lambda: "eyJhbGciOiJSU0EtT0FFUCJ9.a.b.c.d", "Encrypted tokens (JWE) are not supported"),
    "crit-header": (lambda: forge({"alg": "HS256", "kid": "hs-1", "crit": ["exp"]}, claims(), hs256(HS_SECRET)),
                    "Invalid header: critical extensions are not supported"),
}


@pytest.mark.parametrize("attack", ATTACKS)
def test_attack_tokens_are_refused(gw, origin, attack):
    make, message = ATTACKS[attack]
    before = origin.count()
    assert refused(call(gw, "/static/x", make()), message)
    assert origin.count() == before  # nothing reached the backend


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Basic YWxpY2U6c2VjcmV0"}, {"Authorization": "Bearer"},
                                     {"Authorization": "Bearer   "}, {"Authorization": ""},
                                     {"X-Token": "Bearer x"}],
                         ids=["none", "basic", "bearer-alone", "bearer-blank", "empty", "other-header"])
def test_missing_token_or_wrong_scheme(gw, headers):
    assert refused(gw.get("/static/x", headers=headers), "JWT not present.")


def test_wrong_scheme_with_a_valid_token(gw):
    assert refused(call(gw, "/static/x", token(RSA_KEY, kid="rsa-1"), scheme="Token"), "JWT not present.")


# ---- end to end: required claims, token sources, custom replies -------------------------------------

def test_required_claims(gw):
    good = {"group": "logistics", "scp": "read write admin", "tenant": "t1"}
    assert call(gw, "/claims/x", token(HS_SECRET, "HS256", **good)).status == 200
    either = token(HS_SECRET, "HS256", **{**good, "group": ["sales", "finance"]})  # match any
    assert call(gw, "/claims/x", either).status == 200
    assert refused(call(gw, "/claims/x", token(HS_SECRET, "HS256", scp="read")),
                   "JWT token is missing the following claims: group, tenant. Access denied.")
    assert refused(call(gw, "/claims/x", token(HS_SECRET, "HS256", **{**good, "group": "sales"})),
                   "Claim group value of sales is not allowed. Access denied.")
    assert refused(call(gw, "/claims/x", token(HS_SECRET, "HS256", **{**good, "scp": "read"})),
                   "Claim scp value of read is not allowed. Access denied.")  # match all: write is missing


def test_token_in_a_query_parameter(gw):
    jws = token(HS_SECRET, "HS256", exp=None)  # require-expiration-time: false
    answer = gw.get(f"/query/x?access_token={jws}&b=2")
    assert answer.status == 200 and answer.echo["target"] == f"/api/x?access_token={jws}&b=2"
    assert refused(gw.get("/query/x?b=2"), "JWT not present.")
    assert refused(gw.get(f"/query/x?access_token={token(OTHER_RSA_KEY)}"), ALG_NOT_ALLOWED)


def test_custom_status_and_message_and_clock_skew(gw):
    now = int(time.time())
    # clock-skew 2m: just expired or just not yet valid still passes; the header carries no scheme
    for jws in (token(HS_SECRET, "HS256", exp=now - 30), token(HS_SECRET, "HS256", nbf=now + 30)):
        assert call(gw, "/custom/x", jws, scheme="", header="X-Token").status == 200
    assert refused(call(gw, "/custom/x", token(HS_SECRET, "HS256", exp=now - 300), scheme="", header="X-Token"),
                   CUSTOM, status=403)
    assert refused(gw.get("/custom/x"), CUSTOM, status=403)


# ---- end to end: keys from an OpenID configuration -----------------------------------------------------

def test_openid_config_keys_and_issuer(gw, idp):
    good = token(RSA_KEY, kid="good-1", iss=idp.issuer("good"))
    assert [call(gw, "/oidc/x", good).status for _ in range(3)] == [200, 200, 200]
    other = token(RSA_KEY, kid="good-1", iss=idp.issuer("good"), sub="bob")
    assert call(gw, "/oidc/x", other).status == 200
    # no issuers listed: the discovery document's issuer is the one accepted
    assert refused(call(gw, "/oidc/x", token(RSA_KEY, kid="good-1")), "Invalid issuer. Access denied.")
    assert idp.hits["good", "config"] == idp.hits["good", "jwks"] == 1  # fetched once, in the background
    # the encryption key of the set is not a signing key: its kid is unknown, which refreshes once
    assert refused(call(gw, "/oidc/x", token(OTHER_RSA_KEY, kid="enc-1", iss=idp.issuer("good"))),
                   KEY_NOT_FOUND)
    assert idp.hits["good", "config"] == idp.hits["good", "jwks"] == 2


def test_key_rotation_and_the_refresh_rate_limit(gw, idp, origin):
    first = token(RSA_KEY, kid="r1", iss=idp.issuer("rotate"))
    assert [call(gw, "/rotate/x", first).status for _ in range(2)] == [200, 200]
    assert idp.hits["rotate", "jwks"] == 1
    # the IdP rotates: r1 is gone, r2 is new; the first token naming r2 refreshes the keys once
    idp.tenants["rotate"]["keys"] = [public_jwk(OTHER_RSA_KEY, kid="r2")]
    second = token(OTHER_RSA_KEY, kid="r2", iss=idp.issuer("rotate"))
    assert call(gw, "/rotate/x", second).status == 200
    assert call(gw, "/rotate/x", second).status == 200
    assert idp.hits["rotate", "jwks"] == 2
    # the first token verified before and is remembered, but not beyond the key set it verified with
    assert refused(call(gw, "/rotate/x", first), KEY_NOT_FOUND)
    # made-up kids within the minute cost no fetch: the refresh is rate-limited per URL
    before = origin.count()
    for kid in ("r3", "../../jwks", "' OR 1=1 --", "r4", "r5"):
        assert refused(call(gw, "/rotate/x", token(OTHER_RSA_KEY, kid=kid, iss=idp.issuer("rotate"))),
                       KEY_NOT_FOUND)
    assert idp.hits["rotate", "jwks"] == 2 and idp.hits["rotate", "config"] == 2
    assert origin.count() == before


def test_an_unreachable_openid_config_refuses_quickly(gw, idp):
    started = time.monotonic()
    assert refused(call(gw, "/down/x", token(RSA_KEY, kid="d1", iss=idp.issuer("down"))),
                   "The signing keys of the OpenID configuration are not available. Access denied.")
    assert time.monotonic() - started < 3
    assert idp.hits["down", "config"] == 1 and idp.hits["down", "jwks"] == 0


# ---- in process: what on-error reads, and what requests share ----------------------------------------

class Sink:
    """The exchange's side of a Run: keeps what would be sent."""

    def send_response(self, ctx):
        self.ctx = ctx

    def send_error(self, error):
        self.error = error


def run_inbound(plan, headers: list):
    """Run the API's inbound and on-error sections for one request, in this process."""
    program = plan.apis["a"].operations["*"].pipelines[None].program
    request = Request("GET", Url("http", "gw.test", "/a/x", Query(b"")), Headers(headers), "127.0.0.1", {})
    ctx = Context(None, request, None, None, None, None, "request-1", time.time(), "/x")
    sink = Sink()
    Run(Program(program.sections[0], (), (), program.sections[3], False, False, False), ctx, sink, None).start()
    return ctx


def in_process_plan(write_config, **attributes):
    """A Plan whose API `a` runs validate-jwt inbound and has an on-error section."""
    statement = {"validate-jwt": {"header-name": "Authorization",
                                  "issuer-signing-keys": [base64.b64encode(HS_SECRET).decode()], **attributes}}
    return load_plan(write_config(json.dumps({
        "backends": {"b": {"url": "http://127.0.0.1:9"}},
        "apis": {"a": {"path": "a", "backend": "b", "subscription_required": False, "policies": {
            "inbound": [statement], "on-error": [{"set-header": {"name": "x-error", "value": "seen"}}]}}}})))


def test_last_error_keeps_apims_text_while_the_caller_gets_the_configured_one(write_config):
    plan = in_process_plan(write_config, **{"failed-validation-error-message": CUSTOM})
    ctx = run_inbound(plan, [(b"authorization", f"Bearer {token(HS_SECRET, 'HS256', exp=1)}".encode())])
    assert ctx.response.status_code == 401 and ctx.response.headers.get("x-error") == "seen"
    assert json.loads(ctx.response.body.bytes) == {"statusCode": 401, "message": CUSTOM}
    error = ctx.last_error
    assert (error.source, error.reason, error.message) == ("validate-jwt", "TokenExpired",
                                                            "Signature has expired. Access denied.")


def test_claims_are_shared_read_only(write_config):
    plan = in_process_plan(write_config, **{"output-token-variable-name": "token"})
    jws = token(HS_SECRET, "HS256", roles=["reader"], address={"city": "Oslo"})
    first, second = (run_inbound(plan, [(b"authorization", f"Bearer {jws}".encode())]) for _ in range(2))
    assert first.last_error is None and first.jwt["sub"] == "alice" and first.variables["token"] is first.jwt
    assert second.jwt is first.jwt  # the second request was answered from the verified-token cache
    assert first.jwt["roles"] == ("reader",) and first.jwt["address"] == {"city": "Oslo"}
    for change in (lambda c: c.__setitem__("sub", "mallory"), lambda c: c.pop("exp"),
                   lambda c: c["address"].update(city="Paris"), lambda c: c["roles"].append("admin")):
        with pytest.raises((TypeError, AttributeError)):
            change(first.jwt)
    assert json.loads(json.dumps(first.jwt))["address"] == {"city": "Oslo"}


def test_openid_keys_refresh_while_used_and_rest_when_not(idp, monkeypatch):
    monkeypatch.setattr(jwt_openid, "MIN_REFRESH", 0.2)  # max-age 0 is clamped to this instead of a minute
    idp.tenants["schedule"] = {"keys": [public_jwk(RSA_KEY, kid="s1")], "max_age": 0}
    source = jwt_openid.OpenIdKeys(idp.url("schedule"))  # a private one, not the process-wide registry's
    hits = lambda: idp.hits["schedule", "jwks"]  # noqa: E731

    async def scenario():
        source.use()
        await source.pending()
        assert source.loaded and [key.kid for key in source.keys] == ["s1"] and hits() == 1
        deadline = time.monotonic() + 10
        while hits() < 3:  # in use: refreshed every 0.2 s in the background
            assert time.monotonic() < deadline, "no scheduled refresh"
            source.use()
            await asyncio.sleep(0.05)
        resting = -1
        while resting != hits():  # unused: one more refresh at most, then the timer stops
            assert time.monotonic() < deadline, "still refreshing while unused"
            resting = hits()
            await asyncio.sleep(0.6)
        source.use()  # used again: a fetch starts at once
        await source.pending()
        assert hits() == resting + 1

    asyncio.run(scenario())
