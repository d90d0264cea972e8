"""forward-request (existing schema): backend section only; timeout in seconds."""


def test_loads_in_backend(policies):
    forward = policies.statement("- forward-request: {timeout: 2m, fail-on-error-status-code: true}",
                                 section="backend")
    assert (forward.timeout, forward.fail_on_error_status_code) == (120.0, True)


def test_refused_in_inbound(policies):
    found = policies.error("- forward-request: {}  # <-")
    assert (found.line, found.path) == (found.marked_line, f"{policies.at()}")
    assert found.message == "forward-request may not stand in the inbound section"
