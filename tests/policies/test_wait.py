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


def test_wait_runs_every_branch(serve):
    client = serve("""
        apis:
          w:
            path: w
            backend: origin
            subscription_required: false
            policies:
              inbound:
                - wait:
                    for: all
                    steps:
                      - choose:
                          - when: {condition: "true", steps: [{set-header: {name: x-one, value: "1"}}]}
                      - choose:
                          - when: {condition: "false", steps: [{set-header: {name: x-no, value: "1"}}]}
                          - otherwise: [{set-header: {name: x-two, value: "2"}}]
        """)
    sent = client.get("/w/x").echo["headers"]
    assert (sent["x-one"], sent["x-two"]) == ("1", "2")
    assert "x-no" not in sent


def test_wait_any_passes_on_an_answer(serve):
    client = serve("""
        apis:
          w:
            path: w
            backend: origin
            subscription_required: false
            policies:
              inbound:
                - wait:
                    for: any
                    steps:
                      - choose:
                          - when: {condition: "true", steps: [{return-response: {set-status: {code: 202, reason: Early}}}]}
        """, name="any")
    assert client.get("/w/x").status == 202
