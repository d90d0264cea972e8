"""rate-limit-by-key: counter-key, expressions allowed in calls/renewal-period/increment-count."""
import pytest


def test_loads(policies):
    limit = policies.statement("""
        - rate-limit-by-key:
            calls: 10
            renewal-period: 60
            counter-key: '@(context.request.ip_address)'
            increment-condition: '@(context.response.status_code < 400)'
            increment-count: 2
            total-calls-header-name: x-total
    """, scope="global")
    assert (limit.calls, limit.renewal_period, limit.increment_count) == (10, 60.0, 2)
    assert limit.counter_key == "@(context.request.ip_address)"
    assert limit.increment_condition == "@(context.response.status_code < 400)"
    assert (limit.retry_after_header_name, limit.total_calls_header_name) == ("Retry-After", "x-total")


def test_expressions_and_defaults(policies):
    limit = policies.statement("- rate-limit-by-key: {calls: '@(5)', renewal-period: '@(30)', counter-key: k}")
    assert (limit.calls, limit.renewal_period, limit.increment_count) == ("@(5)", "@(30)", 1)
    assert limit.increment_condition is None


@pytest.mark.parametrize("attr, value, message", [
    ("renewal-period", "301", "must be at most 300 seconds, got 301"),
    ("calls", "-1", "must be at least 1, got -1"),
    ("counter-key", "''", "must not be empty"),
])
def test_bad_values(policies, attr, value, message):
    attrs = {"calls": "5", "renewal-period": "10", "counter-key": "k"}
    attrs[attr] = value + "  # <-"
    body = "\n".join(f"            {k}: {v}" for k, v in attrs.items())
    found = policies.error("        - rate-limit-by-key:\n" + body)
    assert (found.line, found.path) == (found.marked_line, f"{policies.at()}.rate-limit-by-key.{attr}")
    assert found.message == message


def test_header_names_checked(policies):
    found = policies.error("""
        - rate-limit-by-key:
            calls: 5
            renewal-period: 10
            counter-key: k
            remaining-calls-header-name: 'x remaining'  # <-
    """)
    assert found.line == found.marked_line
    assert found.path == f"{policies.at()}.rate-limit-by-key.remaining-calls-header-name"
    assert found.message.startswith("'x remaining' is not a valid header name")
