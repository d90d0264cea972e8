"""set-status: code 100-599 and a reason."""
import pytest


def test_loads(policies):
    status = policies.statement("- set-status: {code: 404, reason: Not Found}", section="outbound")
    assert (status.code, status.reason) == (404, "Not Found")


@pytest.mark.parametrize("code, message", [(99, "must be from 100 to 599, got 99"),
                                           (600, "must be from 100 to 599, got 600"),
                                           ("teapot", "expected a whole number from 100 to 599")])
def test_code_range(policies, code, message):
    found = policies.error(f"""
        - set-status:
            code: {code}  # <-
            reason: x
    """)
    assert (found.line, found.path) == (found.marked_line, f"{policies.at()}.set-status.code")
    assert message in found.message


def test_reason_required(policies):
    found = policies.error("- set-status: {code: 200}  # <-")
    assert (found.path, found.message) == (f"{policies.at()}.set-status.reason", "required, but missing")
