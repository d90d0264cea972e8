"""json-to-xml: apply is required; consider-accept-header and parse-date default true."""


def test_loads(policies):
    convert = policies.statement("- json-to-xml: {apply: always, consider-accept-header: false}",
                                 section="outbound")
    assert (convert.apply, convert.consider_accept_header, convert.parse_date) == ("always", False, True)


def test_apply_enum(policies):
    found = policies.error("- json-to-xml: {apply: content-type-xml}  # <-")
    assert (found.line, found.path) == (found.marked_line, f"{policies.at()}.json-to-xml.apply")
    assert found.message == "Input should be 'always' or 'content-type-json'"


def test_attributes_left_out_are_refused(policies):
    found = policies.error("- json-to-xml: {apply: always, namespace-separator: ':'}  # <-")
    assert found.path == f"{policies.at()}.json-to-xml.namespace-separator"
    assert found.message == "unknown attribute; known attributes: apply, consider-accept-header, id, parse-date"
