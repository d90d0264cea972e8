"""mock-response: status-code defaults to 200."""


def test_defaults(policies):
    mock = policies.statement("- mock-response: {}")
    assert (mock.status_code, mock.content_type) == (200, None)


def test_loads(policies):
    mock = policies.statement("- mock-response: {status-code: 201, content-type: application/json}")
    assert (mock.status_code, mock.content_type) == (201, "application/json")


def test_status_range(policies):
    found = policies.error("- mock-response: {status-code: 42}  # <-")
    assert (found.line, found.path) == (found.marked_line, f"{policies.at()}.mock-response.status-code")
    assert found.message == "must be from 100 to 599, got 42"


def test_not_in_backend(policies):
    found = policies.error("- mock-response: {}  # <-", section="backend")
    assert found.message == "mock-response may not stand in the backend section"
