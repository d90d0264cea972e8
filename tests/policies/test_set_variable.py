"""set-variable: a name (no expression) and a literal or expression value; end to end, read later."""
import pytest



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


# ---- end to end

E2E = """
apis:
  v:
    path: v
    backend: origin
    subscription_required: false
    operations:
      - {id: literal, method: GET, url_template: /literal,
         policies: {inbound: [{set-variable: {name: n, value: 5}}]}}
      - id: read-later
        method: GET
        url_template: /read-later
        policies:
          inbound:
            - set-variable: {name: tier, value: gold}
            - set-variable: {name: method, value: '@(context.request.method)'}
            - set-header: {name: x-tier, value: '@(context.variables["tier"])'}
          outbound:
            - set-header: {name: x-method, value: '@(context.variables["method"])'}
      - id: across
        method: GET
        url_template: /across
        policies:
          inbound:
            - set-variable: {name: count, value: 41}
          backend:
            - set-variable: {name: count, value: '@(context.variables["count"] + 1)'}
            - base
          outbound:
            - set-header: {name: x-count, value: '@(context.variables["count"])'}
"""


@pytest.fixture(scope="module")
def gw(serve):
    return serve(E2E)


def test_a_literal_variable_does_not_disturb_the_request(gw):
    answer = gw.get("/v/literal")
    assert answer.status == 200 and answer.json()["target"] == "/api/literal"


def test_a_variable_is_read_by_later_statements(gw):
    answer = gw.get("/v/read-later")
    assert answer.status == 200
    assert answer.echo["headers"]["x-tier"] == "gold"
    assert answer.headers["x-method"] == "GET"


def test_variables_live_across_sections(gw):
    assert gw.get("/v/across").headers["x-count"] == "42"
