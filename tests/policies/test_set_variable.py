"""set-variable: a name (no expression) and a literal or expression value."""


def test_literal_and_expression(policies):
    first, second = policies.load("""
        - set-variable: {name: n, value: 5}
        - set-variable: {name: m, value: '@(context.request.method)'}
    """, section="backend")
    assert (first.name, first.value) == ("n", 5)
    assert second.value == "@(context.request.method)"


def test_value_required(policies):
    found = policies.error("- set-variable: {name: n}  # <-")
    assert (found.line, found.path) == (found.marked_line, f"{policies.at()}.set-variable.value")
    assert found.message == "required, but missing"


def test_name_is_not_an_expression(policies):
    found = policies.error("""
        - set-variable:
            name: '@(x)'  # <-
            value: 1
    """)
    assert (found.line, found.path) == (found.marked_line, f"{policies.at()}.set-variable.name")
    assert found.message == "policy expressions are not allowed in this attribute; write a literal value"


def test_unclosed_expression(policies):
    found = policies.error("""
        - set-variable:
            name: n
            value: '@(context.request.method'  # <-
    """)
    assert found.line == found.marked_line
    assert "does not end with )" in found.message
