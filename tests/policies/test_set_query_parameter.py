"""set-query-parameter: like set-header for query parameters; a value unless deleting."""


def test_loads(policies):
    param = policies.statement("""
        - set-query-parameter:
            name: api-key
            exists-action: skip
            value: ['@(context.variables["k"])', 7]
    """)
    assert (param.name, param.exists_action) == ("api-key", "skip")
    assert param.value == ('@(context.variables["k"])', 7)


def test_delete_needs_no_value(policies):
    assert policies.statement("- set-query-parameter: {name: a, exists-action: delete}").value == ()


def test_value_required_unless_delete(policies):
    found = policies.error("- set-query-parameter: {name: api-key}  # <-")
    assert (found.line, found.path) == (found.marked_line, f"{policies.at()}.set-query-parameter")
    assert found.message == "set-query-parameter 'api-key' needs a value (or exists-action: delete)"


def test_not_in_outbound(policies):
    found = policies.error("- set-query-parameter: {name: a, value: b}  # <-", section="outbound")
    assert found.line == found.marked_line
    assert found.message == "set-query-parameter may not stand in the outbound section"


def test_a_mapping_is_not_a_value(policies):
    found = policies.error("""
        - set-query-parameter:
            name: a
            value:
              - {x: 1}  # <-
    """)
    assert (found.line, found.path) == (found.marked_line, f"{policies.at()}.set-query-parameter.value[0]")
    assert found.message == "expected a text, number or @(expression), not a mapping"
