"""xml-to-json: kind and apply required."""


def test_loads(policies):
    convert = policies.statement("- xml-to-json: {kind: direct, apply: always, consider-accept-header: false}",
                                 section="outbound")
    assert (convert.kind, convert.apply, convert.consider_accept_header) == ("direct", "always", False)
    assert convert.always_array_child_elements is False


def test_kind_required(policies):
    found = policies.error("- xml-to-json: {apply: always}  # <-")
    assert (found.line, found.path) == (found.marked_line, f"{policies.at()}.xml-to-json.kind")
    assert found.message == "required, but missing"


def test_not_in_backend(policies):
    found = policies.error("- xml-to-json: {kind: direct, apply: always}  # <-", section="backend")
    assert found.message == "xml-to-json may not stand in the backend section"
