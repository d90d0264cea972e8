"""set-query-parameter: like set-header for query parameters; a value unless deleting. End to end below."""
import pytest
import yaml


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


# ---- end to end

def op(path: str, section: str = "inbound", **param) -> dict:
    """An operation at /q/{path} whose `section` holds one set-query-parameter."""
    return {"id": path, "method": "GET", "url_template": f"/{path}",
            "policies": {section: [{"set-query-parameter": param}, *(["base"] if section == "backend" else [])]}}


E2E = {
    "named_values": {"region": "eu west"},
    "apis": {"q": {"path": "q", "backend": "origin", "subscription_required": False, "operations": [
        op("override", name="a", value="new"),
        op("skip", name="a", **{"exists-action": "skip"}, value="new"),
        op("append", name="a", **{"exists-action": "append"}, value="new"),
        op("delete", name="a", **{"exists-action": "delete"}),
        op("many", name="a", value=["x", "y"]),
        op("encoded", name="my key", value="a b&c=d/é"),
        op("named", name="region", value="{{region}}"),
        op("typed", name="n", value=[5, False]),
        op("backend", "backend", name="b", value="1"),
    ]}},
}


@pytest.fixture(scope="module")
def gw(serve):
    return serve(yaml.safe_dump(E2E))


def target(gw, path: str) -> str:
    answer = gw.get(path)
    assert answer.status == 200, answer.body
    return answer.json()["target"]


def test_override_replaces_every_value(gw):
    assert target(gw, "/q/override?a=1&b=3&a=2") == "/api/override?b=3&a=new"
    assert target(gw, "/q/override") == "/api/override?a=new"


def test_skip_keeps_a_parameter_present_byte_for_byte(gw):
    assert target(gw, "/q/skip?a=%7e1+2&b") == "/api/skip?a=%7e1+2&b"
    assert target(gw, "/q/skip?b=2") == "/api/skip?b=2&a=new"


def test_append(gw):
    assert target(gw, "/q/append?a=1") == "/api/append?a=1&a=new"
    assert target(gw, "/q/append") == "/api/append?a=new"


def test_delete(gw):
    assert target(gw, "/q/delete?a=1&b=2&a=3") == "/api/delete?b=2"
    assert target(gw, "/q/delete?a=1") == "/api/delete"
    assert target(gw, "/q/delete") == "/api/delete"


def test_several_values_are_repeated_parameters(gw):
    assert target(gw, "/q/many") == "/api/many?a=x&a=y"


def test_names_and_values_are_percent_encoded(gw):
    answer = gw.get("/q/encoded")
    assert answer.json()["target"] == "/api/encoded?my%20key=a%20b%26c%3Dd%2F%C3%A9"
    assert answer.json()["query"] == {"my key": "a b&c=d/é"}


def test_named_values_and_literals(gw):
    assert target(gw, "/q/named") == "/api/named?region=eu%20west"
    assert target(gw, "/q/typed") == "/api/typed?n=5&n=false"


def test_in_the_backend_section(gw):
    assert target(gw, "/q/backend?x=1") == "/api/backend?x=1&b=1"
