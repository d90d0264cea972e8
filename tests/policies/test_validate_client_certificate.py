"""validate-client-certificate: checks default on, identities with at least one claim."""

THUMB = "CA06F56B258B7A0D4F2B05470939478651151984"


def test_loads(policies):
    check = policies.statement(f"""
        - validate-client-certificate:
            validate-revocation: false
            identities:
              - subject: 'C=US, O="Contoso, Inc.", CN=*.contoso.com'
                issuer-subject: CN=FabrikamSign Root CA
              - thumbprint: '{THUMB.lower()}'
    """)
    assert (check.validate_revocation, check.validate_trust, check.validate_not_before) == (False, True, True)
    assert (check.validate_not_after, check.ignore_error) == (True, False)
    first, second = check.identities
    assert first.subject == 'C=US, O="Contoso, Inc.", CN=*.contoso.com'
    assert second.thumbprint == THUMB


def test_spelled_out_wrapper(policies):
    check = policies.statement("- validate-client-certificate: {identities: {identity: [{dns-name: api.example}]}}")
    assert check.identities[0].dns_name == "api.example"


def test_identity_needs_a_claim(policies):
    found = policies.error("""
        - validate-client-certificate:
            identities:
              - {}  # <-
    """)
    assert (found.line, found.path) == (found.marked_line,
                                        f"{policies.at()}.validate-client-certificate.identities[0]")
    assert found.message.startswith("an identity needs at least one of thumbprint, serial-number")


def test_thumbprint_shape(policies):
    found = policies.error("""
        - validate-client-certificate:
            identities:
              - thumbprint: abc  # <-
    """)
    assert found.line == found.marked_line
    assert found.path == f"{policies.at()}.validate-client-certificate.identities[0].thumbprint"
    assert found.message == "'abc' is not a certificate thumbprint (40 or 64 hex digits)"


def test_issuer_certificate_id_is_exclusive(policies):
    found = policies.error(f"- validate-client-certificate: {{identities: [{{issuer-certificate-id: ca,"
                           f" issuer-thumbprint: '{THUMB}'}}]}}  # <-")
    assert found.message.startswith("issuer-certificate-id excludes issuer-subject and issuer-thumbprint")


def test_no_expressions_in_switches(policies):
    found = policies.error("- validate-client-certificate: {validate-trust: '@(true)'}  # <-")
    assert found.path == f"{policies.at()}.validate-client-certificate.validate-trust"
    assert "valid boolean" in found.message
