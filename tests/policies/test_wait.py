"""wait: for all|any; only send-request, cache-lookup-value and choose directly inside."""


def test_loads(policies):
    wait = policies.statement("""
        - wait:
            for: any
            steps:
              - cache-lookup-value: {key: k, variable-name: v}
              - send-request: {response-variable-name: r, set-url: 'https://x.example', set-method: GET}
              - choose:
                  - when: {condition: '@(true)', steps: [{set-variable: {name: a, value: 1}}]}
    """)
    assert wait.for_ == "any"
    assert [s.policy_name for s in wait.steps] == ["cache-lookup-value", "send-request", "choose"]


def test_for_defaults_to_all(policies):
    wait = policies.statement("- wait: {steps: [{cache-lookup-value: {key: k, variable-name: v}}]}",
                              section="outbound")
    assert wait.for_ == "all"


def test_other_children_refused_where_they_stand(policies):
    found = policies.error("""
        - wait:
            steps:
              - cache-lookup-value: {key: k, variable-name: v}
              - set-variable: {name: a, value: 1}  # <-
    """)
    assert (found.line, found.path) == (found.marked_line, f"{policies.at()}.wait.steps[1].set-variable")
    assert found.message == ("set-variable may not stand directly inside wait; it may hold only send-request,"
                             " cache-lookup-value and choose")


def test_for_enum(policies):
    found = policies.error("- wait: {for: some, steps: [{cache-lookup-value: {key: k, variable-name: v}}]}  # <-")
    assert (found.path, found.message) == (f"{policies.at()}.wait.for", "Input should be 'all' or 'any'")


def test_not_in_on_error(policies):
    found = policies.error("- wait: {steps: [{cache-lookup-value: {key: k, variable-name: v}}]}  # <-",
                           section="on-error")
    assert found.message == "wait may not stand in the on-error section"
