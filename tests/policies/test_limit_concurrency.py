"""limit-concurrency: key, max-count, gwcore's max-queue, nested steps."""


def test_loads_with_nested_forward_request(policies):
    limit = policies.statement("""
        - limit-concurrency:
            key: '@(context.variables["connection"])'
            max-count: 3
            max-queue: 10
            steps:
              - forward-request: {timeout: 120}
    """, section="backend")
    assert (limit.key, limit.max_count, limit.max_queue) == ('@(context.variables["connection"])', 3, 10)
    (forward,) = limit.steps
    assert (forward.policy_name, forward.timeout) == ("forward-request", 120.0)
    assert limit.children() == (limit.steps,)


def test_queue_defaults_to_zero(policies):
    limit = policies.statement("- limit-concurrency: {key: k, max-count: 1, steps: [{set-variable: {name: a,"
                               " value: 1}}]}")
    assert limit.max_queue == 0


def test_max_count_at_least_one(policies):
    found = policies.error("""
        - limit-concurrency:
            key: k
            max-count: 0  # <-
            steps: [{set-variable: {name: a, value: 1}}]
    """)
    assert (found.line, found.path) == (found.marked_line, f"{policies.at()}.limit-concurrency.max-count")
    assert found.message == "must be at least 1, got 0"


def test_needs_steps(policies):
    found = policies.error("- limit-concurrency: {key: k, max-count: 2, steps: []}  # <-")
    assert (found.line, found.path) == (found.marked_line, f"{policies.at()}.limit-concurrency.steps")
    assert found.message == "limit-concurrency needs at least one statement under steps"


def test_nested_statement_checked_against_the_section(policies):
    found = policies.error("""
        - limit-concurrency:
            key: k
            max-count: 2
            steps:
              - forward-request: {}  # <-
    """)
    assert (found.line, found.path) == (found.marked_line, f"{policies.at()}.limit-concurrency.steps[0]")
    assert found.message == "forward-request may not stand in the inbound section"
