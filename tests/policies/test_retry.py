"""retry: condition, count 1-50, fixed/linear/exponential intervals, steps without wait."""
import pytest


def test_exponential(policies):
    retry = policies.statement("""
        - retry:
            condition: '@(context.response.status_code == 500)'
            count: 10
            interval: 10
            max-interval: 100
            delta: 10
            first-fast-retry: false
            steps:
              - forward-request: {buffer-request-body: true}
    """, section="backend")
    assert retry.condition == "@(context.response.status_code == 500)"
    assert (retry.count, retry.interval, retry.max_interval, retry.delta) == (10, 10.0, 100.0, 10.0)
    assert retry.first_fast_retry is False
    assert retry.steps[0].policy_name == "forward-request"


def test_fixed_interval_with_units(policies):
    retry = policies.statement("- retry: {condition: true, count: 3, interval: 500ms, steps: [{set-variable:"
                               " {name: a, value: 1}}]}")
    assert (retry.condition, retry.interval, retry.max_interval, retry.delta) == (True, 0.5, None, None)


@pytest.mark.parametrize("count", [0, 51])
def test_count_range(policies, count):
    found = policies.error(f"""
        - retry:
            condition: true
            count: {count}  # <-
            interval: 1
            steps: [{{set-variable: {{name: a, value: 1}}}}]
    """)
    assert (found.line, found.path) == (found.marked_line, f"{policies.at()}.retry.count")
    assert found.message == f"must be from 1 to 50, got {count}"


@pytest.mark.parametrize("extra, message", [
    ("max-interval: 30", "max-interval needs delta: exponential back-off uses interval, delta and max-interval"),
    ("max-interval: 1, delta: 1", "max-interval (1s) is shorter than interval (5s)"),
])
def test_backoff_consistency(policies, extra, message):
    found = policies.error(f"- retry: {{condition: true, count: 2, interval: 5, {extra},"
                           " steps: [{set-variable: {name: a, value: 1}}]}  # <-")
    assert (found.line, found.path) == (found.marked_line, f"{policies.at()}.retry")
    assert found.message == message


def test_condition_must_be_boolean_or_expression(policies):
    found = policies.error("""
        - retry:
            condition: sometimes  # <-
            count: 2
            interval: 1
            steps: [{set-variable: {name: a, value: 1}}]
    """)
    assert (found.line, found.path) == (found.marked_line, f"{policies.at()}.retry.condition")
    assert found.message == "expected true, false or an @(expression), got 'sometimes'"


def test_wait_may_not_be_a_direct_child(policies):
    found = policies.error("""
        - retry:
            condition: true
            count: 2
            interval: 1
            steps:
              - wait:  # <-
                  steps: [{send-request: {response-variable-name: r, set-url: 'http://x', set-method: GET}}]
    """)
    assert (found.line, found.path) == (found.marked_line, f"{policies.at()}.retry.steps[0].wait")
    assert found.message == "wait may not stand directly inside retry; retry may hold any statement but wait"
