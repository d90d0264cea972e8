"""validate-jwt: one token source, keys of every kind, audiences/issuers/claims lists."""
import json

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

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


def test_inbound_only(policies):
    found = policies.error("- validate-jwt: {header-name: a, require-signed-tokens: false}  # <-",
                           section="outbound")
    assert found.message == "validate-jwt may not stand in the outbound section"
