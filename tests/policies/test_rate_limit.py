"""rate-limit: schema, ranges, scopes and nested api/operation limits."""
import pytest


def test_loads_with_defaults_and_headers(policies):
    limit = policies.statement("""
        - rate-limit:
            calls: 5
            renewal-period: 60
            remaining-calls-header-name: x-remaining
            retry-after-variable-name: wait
    """)
    assert limit.policy_name == "rate-limit"
    assert (limit.calls, limit.renewal_period) == (5, 60.0)
    assert limit.retry_after_header_name == "Retry-After"
    assert limit.remaining_calls_header_name == "x-remaining"
    assert limit.retry_after_variable_name == "wait"
    assert limit.total_calls_header_name is None
    assert limit.path == ("apis", "a", "policies", "inbound", 0, "rate-limit")


def test_renewal_period_accepts_duration_units(policies):
    assert policies.statement("- rate-limit: {calls: 1, renewal-period: 2m}").renewal_period == 120.0


def test_nested_api_and_operation_limits(policies):
    limit = policies.statement("""
        - rate-limit:
            calls: 100
            renewal-period: 300
            api:
              - name: a
                calls: 10
                renewal-period: 60
                operation:
                  - {id: op, calls: 2, renewal-period: 10}
    """, scope="product")
    (api,) = limit.api
    assert (api.name, api.id, api.calls, api.renewal_period) == ("a", None, 10, 60.0)
    assert (api.operation[0].id, api.operation[0].calls) == ("op", 2)


@pytest.mark.parametrize("attr, value, message", [
    ("renewal-period", 301, "must be at most 300 seconds, got 301"),
    ("renewal-period", 0, "must be more than 0 seconds"),
    ("calls", 0, "must be at least 1, got 0"),
    ("calls", "lots", "expected a whole number at least 1"),
])
def test_ranges_are_checked_where_they_stand(policies, attr, value, message):
    other = {"calls": "5", "renewal-period": "60"}
    other[attr] = f"{value}  # <-"
    found = policies.error(f"""
        - rate-limit:
            calls: {other['calls']}
            renewal-period: {other['renewal-period']}
    """)
    assert found.line == found.marked_line
    assert found.path == f"{policies.at()}.rate-limit.{attr}"
    assert message in found.message


def test_missing_calls_is_reported_on_the_statement(policies):
    found = policies.error("""
        - rate-limit:  # <-
            renewal-period: 60
    """)
    assert (found.line, found.path) == (found.marked_line, f"{policies.at()}.rate-limit.calls")
    assert found.message == "required, but missing"


def test_expressions_are_not_allowed_in_calls(policies):
    found = policies.error("- rate-limit: {calls: '@(5)', renewal-period: 60}  # <-")
    assert found.line == found.marked_line
    assert "expected a whole number" in found.message


def test_not_at_global_scope(policies):
    found = policies.error("- rate-limit: {calls: 5, renewal-period: 60}  # <-", scope="global")
    assert (found.line, found.path) == (found.marked_line, f"{policies.at(scope='global')}.rate-limit")
    assert "may not stand at global scope" in found.message and "a product, an API or an operation" in found.message


def test_operation_limit_needs_name_or_id(policies):
    found = policies.error("""
        - rate-limit:
            calls: 5
            renewal-period: 60
            api:
              - name: a
                calls: 1
                renewal-period: 1
                operation:
                  - {calls: 1, renewal-period: 1}  # <-
    """)
    assert found.line == found.marked_line
    assert found.path == f"{policies.at()}.rate-limit.api[0].operation[0]"
    assert found.message == "an operation limit needs name or id"


def test_unknown_attribute_in_nested_limit_lists_that_elements_attributes(policies):
    found = policies.error("""
        - rate-limit:
            calls: 5
            renewal-period: 60
            api:
              - name: a
                calls: 1
                renewal-period: 1
                burst: 3  # <-
    """)
    assert (found.line, found.path) == (found.marked_line, f"{policies.at()}.rate-limit.api[0].burst")
    assert found.message == "unknown attribute; known attributes: calls, id, name, operation, renewal-period"


def test_outbound_is_refused(policies):
    found = policies.error("- rate-limit: {calls: 5, renewal-period: 60}  # <-", section="outbound")
    assert found.line == found.marked_line
    assert found.message == "rate-limit may not stand in the outbound section"
