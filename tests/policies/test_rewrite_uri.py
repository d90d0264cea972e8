"""rewrite-uri: template with {placeholders} or a whole expression; copy-unmatched-params defaults true.
End to end: what the backend is asked for."""
import pytest


def test_loads_with_default(policies):
    rewrite = policies.statement("- rewrite-uri: {template: '/v2/items/{id}?view=full'}")
    assert (rewrite.template, rewrite.copy_unmatched_params) == ("/v2/items/{id}?view=full", True)


def test_expression_template(policies):
    rewrite = policies.statement("- rewrite-uri: {template: '@(\"/v2\" + context.request.url.path)',"
                                 " copy-unmatched-params: false}")
    assert rewrite.template.startswith("@(") and rewrite.copy_unmatched_params is False


@pytest.mark.parametrize("template, message", [
    ("/v2/{item id}", "placeholder {item id} must be the name of a template parameter"),
    ("/v2/{id", "unbalanced { or }"),
    ("/v2/@(x)", "an expression in template must be the whole value"),
    ("http://other/v2", "use set-backend-service to change the host"),
])
def test_bad_templates(policies, template, message):
    found = policies.error(f"""
        - rewrite-uri:
            template: '{template}'  # <-
    """)
    assert (found.line, found.path) == (found.marked_line, f"{policies.at()}.rewrite-uri.template")
    assert message in found.message


def test_inbound_only(policies):
    found = policies.error("- rewrite-uri: {template: /x}  # <-", section="backend")
    assert found.message == "rewrite-uri may not stand in the backend section"


# ---- end to end

E2E = """
apis:
  rw:
    path: rw
    backend: origin
    subscription_required: false
    operations:
      - {id: params, method: GET, url_template: "/items/{id}/parts/{part}",
         policies: {inbound: [{rewrite-uri: {template: "/v2/parts/{part}/of/{id}?view=full"}}]}}
      - {id: copy, method: GET, url_template: "/copy/{id}",
         policies: {inbound: [{rewrite-uri: {template: "/v2/{id}?view=full"}}]}}
      - {id: no-copy, method: GET, url_template: "/no-copy/{id}",
         policies: {inbound: [{rewrite-uri: {template: "/v2/{id}?view=full", copy-unmatched-params: false}}]}}
      - {id: in-query, method: GET, url_template: "/find/{name}",
         policies: {inbound: [{rewrite-uri: {template: "/search?q={name}", copy-unmatched-params: false}}]}}
      - {id: relative, method: GET, url_template: /relative, policies: {inbound: [{rewrite-uri: {template: plain}}]}}
      - {id: root, method: GET, url_template: /root, policies: {inbound: [{rewrite-uri: {template: /}}]}}
"""


@pytest.fixture(scope="module")
def gw(serve):
    return serve(E2E)


def target(gw, path: str) -> str:
    answer = gw.get(path)
    assert answer.status == 200, answer.body
    return answer.json()["target"]


def test_template_parameters_are_substituted(gw):
    assert target(gw, "/rw/items/42/parts/7") == "/api/v2/parts/7/of/42?view=full"


def test_copy_unmatched_params_true_appends_the_callers_query(gw):
    assert target(gw, "/rw/copy/1?a=1&b=x%20y") == "/api/v2/1?view=full&a=1&b=x%20y"


def test_the_templates_own_parameters_win(gw):
    assert target(gw, "/rw/copy/1?view=raw&a=1") == "/api/v2/1?view=full&a=1"


def test_copy_unmatched_params_false_drops_the_callers_query(gw):
    assert target(gw, "/rw/no-copy/1?a=1&b=2") == "/api/v2/1?view=full"


def test_an_escaped_parameter_is_escaped_once(gw):
    assert target(gw, "/rw/items/a%20b/parts/c%25d") == "/api/v2/parts/c%25d/of/a%20b?view=full"


def test_a_parameter_cannot_add_query_parameters(gw):
    answer = gw.get("/rw/find/x&admin=true")
    assert answer.json()["target"] == "/api/search?q=x%26admin%3Dtrue"
    assert answer.json()["query"] == {"q": "x&admin=true"}


def test_a_parameter_with_a_space_in_the_query(gw):
    assert gw.get("/rw/find/a%20b").json()["query"] == {"q": "a b"}


def test_a_relative_template_and_the_root(gw):
    assert target(gw, "/rw/relative") == "/api/plain"
    assert target(gw, "/rw/root?x=1") == "/api/?x=1"
