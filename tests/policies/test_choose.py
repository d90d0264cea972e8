"""choose: when/otherwise with nested statements parsed through the registry; end to end with literal
conditions (true/false), nesting, return-response and forward-request inside; header conditions need
expressions."""
import pytest
import yaml

from .support import header_values


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


# ---- end to end

def mark(value: str) -> dict:
    return {"set-header": {"name": "x-path", "exists-action": "append", "value": value}}


def when(condition: str, *steps) -> dict:
    return {"when": {"condition": condition, "steps": list(steps)}}


def op(path: str, inbound: list, **sections) -> dict:
    return {"id": path, "method": "GET", "url_template": f"/{path}", "policies": {"inbound": inbound, **sections}}


E2E = {"apis": {"ch": {"path": "ch", "backend": "origin", "subscription_required": False, "operations": [
    op("true", [{"choose": [when("true", mark("when")), {"otherwise": [mark("otherwise")]}]}, mark("after")]),
    op("false", [{"choose": [when("false", mark("when")), {"otherwise": [mark("otherwise")]}]}, mark("after")]),
    op("first", [{"choose": [when("false", mark("one")), when("true", mark("two"), mark("two-b")),
                             when("true", mark("three")), {"otherwise": [mark("otherwise")]}]}, mark("after")]),
    op("none", [mark("before"), {"choose": [when("false", mark("when"))]}, mark("after")]),
    op("nested", [{"choose": [
        when("true", mark("outer"),
             {"choose": [when("false", mark("inner-no")), when("True", mark("inner-yes"), mark("inner-yes-b")),
                         {"otherwise": [mark("inner-otherwise")]}]},
             mark("outer-end")),
        {"otherwise": [mark("outer-otherwise")]}]}, mark("after")]),
    op("nested-otherwise", [{"choose": [
        when("false", mark("outer")),
        {"otherwise": [{"choose": [when("false", mark("inner-no")), {"otherwise": [mark("inner-otherwise")]}]},
                       mark("otherwise-end")]}]}, mark("after")]),
    op("answer", [{"choose": [when("true", {"return-response": {"set-status": {"code": 299, "reason": "Chosen"}}}),
                              {"otherwise": [mark("otherwise")]}]}, mark("after")]),
    op("backend", [], backend=[{"choose": [when("false", {"return-response": {}}),
                                           {"otherwise": [{"forward-request": {}}]}]}],
       outbound=[{"choose": [when("true", {"set-header": {"name": "x-out", "value": "chosen"}})]}]),
]}}}
E2E["apis"]["ch"]["operations"].append(op("header", [{"choose": [
    when('@(context.request.headers.get("x-tier", "") == "gold")', mark("gold")),
    {"otherwise": [mark("standard")]}]}]))


@pytest.fixture(scope="module")
def gw(serve):
    return serve(yaml.safe_dump(E2E))


def path_of(gw, path: str, headers: dict = None) -> list:
    answer = gw("GET", path, headers=headers)
    assert answer.status == 200, answer.body
    return header_values(answer.json(), "x-path")


def test_a_true_condition_runs_its_steps_only(gw):
    assert path_of(gw, "/ch/true") == ["when", "after"]


def test_a_false_condition_runs_otherwise(gw):
    assert path_of(gw, "/ch/false") == ["otherwise", "after"]


def test_the_first_true_condition_wins(gw):
    assert path_of(gw, "/ch/first") == ["two", "two-b", "after"]


def test_no_condition_holds_and_no_otherwise(gw):
    assert path_of(gw, "/ch/none") == ["before", "after"]


def test_nested_choose_inside_a_when(gw):
    assert path_of(gw, "/ch/nested") == ["outer", "inner-yes", "inner-yes-b", "outer-end", "after"]


def test_nested_choose_inside_otherwise(gw):
    assert path_of(gw, "/ch/nested-otherwise") == ["inner-otherwise", "otherwise-end", "after"]


def test_return_response_inside_a_when(gw, origin):
    before = origin.count()
    answer = gw.get("/ch/answer")
    assert (answer.status, answer.reason, answer.body) == (299, "Chosen", b"")
    assert origin.count() == before


def test_forward_request_inside_choose_in_the_backend_section(gw):
    answer = gw.get("/ch/backend")
    assert answer.status == 200 and answer.json()["target"] == "/api/backend"
    assert answer.headers["x-out"] == "chosen"


def test_a_condition_on_a_request_header(gw):
    assert path_of(gw, "/ch/header", {"x-tier": "gold"}) == ["gold"]
    assert path_of(gw, "/ch/header", {"x-tier": "silver"}) == ["standard"]
    assert path_of(gw, "/ch/header") == ["standard"]
