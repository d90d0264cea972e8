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
