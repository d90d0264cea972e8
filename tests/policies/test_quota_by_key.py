"""quota-by-key: counter-key, increment-condition, first-period-start."""
from datetime import datetime, timezone


def test_loads(policies):
    quota = policies.statement("""
        - quota-by-key:
            calls: 10000
            bandwidth: 40000
            renewal-period: 3600
            increment-condition: '@(context.response.status_code >= 200)'
            counter-key: '@(context.request.ip_address)'
            first-period-start: 2024-01-01T00:00:00Z
    """)
    assert (quota.calls, quota.bandwidth, quota.renewal_period, quota.increment_count) == (10000, 40000, 3600.0, 1)
    assert quota.first_period_start == datetime(2024, 1, 1, tzinfo=timezone.utc)


def test_default_start_and_text_date(policies):
    first = policies.statement("- quota-by-key: {calls: 1, renewal-period: 0, counter-key: k}")
    assert first.first_period_start == datetime(1, 1, 1, tzinfo=timezone.utc)
    second = policies.statement("- quota-by-key: {calls: 1, renewal-period: 0, counter-key: k,"
                                " first-period-start: '2024-06-01T12:00:00+02:00'}")
    assert second.first_period_start == datetime(2024, 6, 1, 10, tzinfo=timezone.utc)


def test_bad_start(policies):
    found = policies.error("""
        - quota-by-key:
            calls: 1
            renewal-period: 60
            counter-key: k
            first-period-start: next monday  # <-
    """)
    assert (found.line, found.path) == (found.marked_line, f"{policies.at()}.quota-by-key.first-period-start")
    assert found.message == "'next monday' is not a date-time; write it as 2024-01-01T00:00:00Z"


def test_needs_volume(policies):
    found = policies.error("- quota-by-key: {renewal-period: 60, counter-key: k}  # <-")
    assert found.message == "quota-by-key needs calls, bandwidth or both"


def test_counter_key_required(policies):
    found = policies.error("- quota-by-key: {calls: 1, renewal-period: 60}  # <-")
    assert (found.path, found.message) == (f"{policies.at()}.quota-by-key.counter-key", "required, but missing")
