"""on-error's context.last_error: where the failing statement is written (scope, path, policy_id),
end to end through a real gateway; the `id` attribute every policy accepts."""
import pytest
import yaml

FIELDS = ("source", "reason", "section", "scope", "path", "policy_id")
LAST_ERROR = [{"set-header": {"name": f"x-{field.replace('_', '-')}", "value": f"@(context.last_error.{field})"}}
              for field in FIELDS]
FAILS = '@(context.request.headers["x-absent"])'  # a missing header: fails while the request is served


def _when(asked: str, steps: list) -> dict:
    return {"when": {"condition": f'@(context.request.headers.get("x-fail", "") == "{asked}")', "steps": steps}}


CONFIG = {
    "backends": {"nowhere": {"url": "http://127.0.0.1:9", "timeout": "2s"}},
    "fragments": {"shared": [{"set-variable": {"name": "in-fragment", "value": "yes"}},
                             {"set-header": {"id": "frag-header", "name": "x-boom", "value": FAILS}}]},
    "subscriptions": {"k": {"scope": "all", "primary_key": "lasterr-key-0123456789"}},
    "policies": {"on-error": LAST_ERROR},
    "apis": {
        "le": {
            "path": "le", "backend": "origin", "subscription_required": False,
            "operations": [
                {"id": "op", "method": "GET", "url_template": "/op", "policies": {"inbound": [
                    "base",
                    {"choose": [_when("op", [{"set-variable": {"name": "v", "value": "1"}},
                                             {"rate-limit-by-key": {"id": "op-limit", "calls": 1,
                                                                    "renewal-period": 60,
                                                                    "counter-key": FAILS}}])]},
                ]}},
                {"id": "any", "method": "GET", "url_template": "/any"},
            ],
            "policies": {"inbound": [
                "base",
                {"set-variable": {"name": "first", "value": "1"}},
                {"choose": [
                    _when("api", [{"set-header": {"id": "api-header", "name": "x-boom", "value": FAILS}}]),
                    {"otherwise": [{"choose": [
                        _when("no-id", [{"set-header": {"name": "x-boom", "value": FAILS}}]),
                        _when("fragment", [{"include-fragment": "shared"}]),
                    ]}]},
                ]},
            ]},
        },
        "keyed": {"path": "keyed", "backend": "origin", "subscription_required": True},
        "down": {"path": "down", "backend": "nowhere", "subscription_required": False,
                 "policies": {"backend": [{"forward-request": {"id": "fw", "timeout": 2}}]}},
        "down-default": {"path": "down-default", "backend": "nowhere", "subscription_required": False},
    },
}


@pytest.fixture(scope="module")
def gw(serve):
    return serve(yaml.safe_dump(CONFIG, sort_keys=False), name="lasterr")


def _last_error(answer) -> dict:
    return {field: answer.headers[f"x-{field.replace('_', '-')}"] for field in FIELDS}


def test_a_failing_statement_in_a_choose_at_api_scope(gw):
    answer = gw.get("/le/any", headers={"x-fail": "api"})
    assert answer.status == 500
    error = _last_error(answer)
    del error["source"]  # an expression's failure names no source yet; not this test's subject
    assert error == {"reason": "ExpressionValueEvaluationFailure", "section": "inbound", "scope": "api",
                     "path": "choose[3]/when[1]/set-header[1]", "policy_id": "api-header"}


def test_a_failing_statement_in_a_choose_at_operation_scope(gw):
    answer = gw.get("/le/op", headers={"x-fail": "op"})
    assert answer.status == 500
    error = _last_error(answer)
    assert (error["section"], error["scope"], error["policy_id"]) == ("inbound", "operation", "op-limit")
    assert error["path"] == "choose[2]/when[1]/rate-limit-by-key[2]"


def test_a_statement_without_id_gives_an_empty_policy_id(gw):
    error = _last_error(gw.get("/le/any", headers={"x-fail": "no-id"}))
    assert (error["scope"], error["policy_id"]) == ("api", "")
    assert error["path"] == "choose[3]/otherwise[2]/choose[1]/when[1]/set-header[1]"


def test_a_fragments_statement_is_placed_under_its_include_fragment(gw):
    error = _last_error(gw.get("/le/any", headers={"x-fail": "fragment"}))
    assert (error["scope"], error["policy_id"]) == ("api", "frag-header")
    assert error["path"] == "choose[3]/otherwise[2]/choose[1]/when[2]/include-fragment[1]/set-header[2]"


def test_an_unreachable_backend_is_the_forward_requests_error(gw):
    answer = gw.get("/down/x")
    assert answer.status == 502
    assert _last_error(answer) == {"source": "forward-request", "reason": "BackendConnectionFailure",
                                   "section": "backend", "scope": "api", "path": "forward-request[1]",
                                   "policy_id": "fw"}


def test_the_default_forward_request_stands_at_global_scope(gw):
    error = _last_error(gw.get("/down-default/x"))
    assert (error["source"], error["scope"], error["path"], error["policy_id"]) == \
        ("forward-request", "global", "forward-request[1]", "")


@pytest.mark.parametrize("path, status, source, reason", [
    ("/keyed/x", 401, "authorization", "SubscriptionKeyNotFound"),
    ("/nowhere", 404, "configuration", "OperationNotFound"),
])
def test_errors_no_statement_raised_name_no_place(gw, path, status, source, reason):
    answer = gw.get(path)
    assert answer.status == status
    assert _last_error(answer) == {"source": source, "reason": reason, "section": "inbound",
                                   "scope": "", "path": "", "policy_id": ""}


def test_a_request_without_errors_runs_no_on_error(gw):
    answer = gw.get("/le/any")
    assert answer.status == 200
    assert "x-scope" not in answer.headers


# ---- the id attribute, at load

def test_every_policy_takes_an_id(policies):
    assert policies.statement("- set-header: {id: h1, name: x, value: y}").id == "h1"
    assert policies.statement("- set-header: {name: x, value: y}").id is None
    assert policies.statement("- rate-limit: {id: 7, calls: 1, renewal-period: 60}").id == "7"


def test_an_expression_as_id_is_refused(policies):
    found = policies.error("""
        - set-header:
            id: '@(context.request.method)'  # <-
            name: x
            value: y
        """)
    assert (found.line, found.path) == (found.marked_line, f"{policies.at()}.set-header.id")
    assert found.message == "policy expressions are not allowed in id; write a literal name"
