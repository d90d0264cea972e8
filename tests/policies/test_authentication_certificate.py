"""authentication-certificate: thumbprint | certificate-id | body (+ password)."""

THUMB = "CA06F56B258B7A0D4F2B05470939478651151984"


def test_thumbprint(policies):
    auth = policies.statement(f"- authentication-certificate: {{thumbprint: '{THUMB}'}}")
    assert (auth.thumbprint, auth.certificate_id, auth.body) == (THUMB, None, None)


def test_body_with_password(policies):
    auth = policies.statement("- authentication-certificate: {body: '@(context.variables[\"cert\"])',"
                              " password: pw}")
    assert (auth.body, auth.password) == ('@(context.variables["cert"])', "pw")


def test_two_certificates(policies):
    found = policies.error(f"- authentication-certificate: {{thumbprint: '{THUMB}', certificate-id: c}}  # <-")
    assert (found.line, found.path) == (found.marked_line, f"{policies.at()}.authentication-certificate")
    assert found.message == ("thumbprint and certificate-id exclude each other; keep only one of thumbprint,"
                             " certificate-id or body")


def test_password_without_body(policies):
    found = policies.error("- authentication-certificate: {certificate-id: c, password: pw}  # <-")
    assert found.message == "password belongs to a certificate given in body; remove it or give body"


def test_literal_body_is_base64(policies):
    found = policies.error("""
        - authentication-certificate:
            body: 'not base64!'  # <-
    """)
    assert (found.line, found.path) == (found.marked_line, f"{policies.at()}.authentication-certificate.body")
    assert found.message == "is not valid base64 text"


def test_a_store_gwcore_lacks_is_refused_at_load(write_config):
    import pytest

    from gwcore.config import ConfigError, load_plan
    text = ("backends: {b: {url: 'https://127.0.0.1:9'}}\napis:\n  a: {path: a, backend: b, subscription_required:"
            f" false, policies: {{inbound: [{{authentication-certificate: {{thumbprint: '{THUMB}'}}}}]}}}}\n")
    with pytest.raises(ConfigError) as info:
        load_plan(write_config(text))
    (problem,) = info.value.problems
    assert problem.line == 3
    assert "names a certificate in a store gwcore does not have" in problem.message
