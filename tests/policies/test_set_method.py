"""set-method: an element holding only text; the method is checked and upper-cased."""


def test_short_form(policies):
    assert policies.statement("- set-method: post").value == "POST"


def test_value_form_in_on_error(policies):
    assert policies.statement("- set-method: {value: DELETE}", section="on-error").value == "DELETE"


def test_bad_method(policies):
    found = policies.error("- set-method: 'GET /x'  # <-")
    assert (found.line, found.path) == (found.marked_line, f"{policies.at()}.set-method.value")
    assert found.message == "'GET /x' is not an HTTP method (e.g. GET, POST)"


def test_not_in_outbound(policies):
    found = policies.error("- set-method: GET  # <-", section="outbound")
    assert found.message == "set-method may not stand in the outbound section"
