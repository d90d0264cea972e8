"""choose (existing schema): when/otherwise with nested statements parsed through the registry."""


def test_nested_statements_are_policy_objects(policies):
    choose = policies.statement("""
        - choose:
            - when:
                condition: '@(context.request.method == "POST")'
                steps:
                  - set-backend-service: {backend-id: b}
            - otherwise:
                - set-variable: {name: v, value: 1}
    """)
    (when,) = choose.whens
    assert when.steps[0].policy_name == "set-backend-service" and when.steps[0].backend_id == "b"
    assert choose.otherwise[0].policy_name == "set-variable"


def test_nested_errors_are_located_inside_the_when(policies):
    found = policies.error("""
        - choose:
            - when:
                condition: '@(true)'
                steps:
                  - rate-limit: {calls: 0, renewal-period: 10}  # <-
    """)
    assert found.line == found.marked_line
    assert found.path == f"{policies.at()}.choose[0].when.steps[0].rate-limit.calls"
    assert "must be at least 1" in found.message
