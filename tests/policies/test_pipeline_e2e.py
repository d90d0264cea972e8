"""The pipeline end to end: scopes and base, sections, return-response, on-error, through `gwcore run`."""
import pytest

CONFIG = """
apis:
  shop:
    path: shop
    backend: origin
    subscription_required: false
    operations:
      - {id: list, method: GET, url_template: /items}
      - {id: one, method: GET, url_template: "/items/{id}",
         policies: {inbound: [base, {set-header: {name: x-op, value: one}}]}}
      - {id: teapot, method: GET, url_template: /teapot,
         policies: {inbound: [{return-response: {set-status: {code: 418, reason: "I'm a teapot"},
                                                 set-header: [{name: x-short, value: "yes"}],
                                                 set-body: '{"teapot":true}'}}]}}
      - {id: nobase, method: GET, url_template: /nobase,
         policies: {inbound: [{set-header: {name: x-only, value: op}}]}}
      - {id: broken, method: GET, url_template: /broken}
      - {id: fails, method: GET, url_template: /fails,
         policies: {backend: [{forward-request: {fail-on-error-status-code: true}}]}}
    policies:
      inbound:
        - base
        - set-header: {name: x-api, value: shop}
        - set-query-parameter: {name: added, value: "1"}
      outbound:
        - base
        - set-header: {name: x-out, value: api}
policies:
  inbound:
    - set-header: {name: x-global, value: g}
  outbound:
    - set-header: {name: server, exists-action: delete}
  on-error:
    - set-header: {name: x-error, value: handled}
"""


@pytest.fixture(scope="module")
def gw(serve):
    return serve(CONFIG)


def test_scopes_run_global_then_api_then_operation(gw):
    answer = gw.get("/shop/items/7?q=x")
    assert answer.status == 200
    sent = answer.echo
    assert sent["headers"]["x-global"] == "g"
    assert sent["headers"]["x-api"] == "shop"
    assert sent["headers"]["x-op"] == "one"
    assert sent["target"] == "/api/items/7?q=x&added=1"
    assert answer.headers["x-out"] == "api"


def test_a_section_without_base_drops_the_parents_statements(gw):
    sent = gw.get("/shop/nobase").echo
    assert sent["headers"]["x-only"] == "op"
    assert "x-global" not in sent["headers"] and "x-api" not in sent["headers"]


def test_return_response_answers_without_the_backend(gw, origin):
    before = origin.count()
    answer = gw.get("/shop/teapot")
    assert (answer.status, answer.reason) == (418, "I'm a teapot")
    assert answer.headers["x-short"] == "yes"
    assert answer.body == b'{"teapot":true}'
    assert "x-out" not in answer.headers  # outbound is skipped, as APIM does
    assert origin.count() == before


def test_fail_on_error_status_code_runs_on_error(gw):
    answer = gw.get("/shop/fails")
    assert answer.status == 200  # the origin's /api/fails is a 200 echo: nothing to fail on
    assert "x-error" not in answer.headers


def test_backend_failure_runs_on_error_with_the_default_reply(serve):
    client = serve("""
        backends:
          dead: {url: "http://127.0.0.1:1/x", connect_timeout: 1s}
        apis:
          dead: {path: dead, backend: dead, subscription_required: false}
        policies:
          on-error:
            - set-header: {name: x-error, value: handled}
            - set-status: {code: 503, reason: Unavailable}
        """, name="dead")
    answer = client.get("/dead/x")
    assert answer.status == 503
    assert answer.headers["x-error"] == "handled"
    assert answer.json() == {"statusCode": 502, "message": "Backend service unavailable"}


def test_backend_error_status_goes_to_on_error(serve):
    client = serve("""
        apis:
          st:
            path: st
            backend: origin
            subscription_required: false
            policies:
              backend: [{forward-request: {fail-on-error-status-code: true}}]
              on-error:
                - return-response: {set-status: {code: 299, reason: Handled}}
        """, name="status")
    assert client.get("/st/status?code=200").status == 200
    assert client.get("/st/status?code=503").status == 299


def test_set_backend_service_by_id_and_by_base_url(serve):
    client = serve("""
        backends:
          alt: {url: "http://127.0.0.1:{origin}/alt"}
        apis:
          sw:
            path: sw
            backend: origin
            subscription_required: false
            operations:
              - {id: by-id, method: GET, url_template: /id,
                 policies: {inbound: [{set-backend-service: {backend-id: alt}}]}}
              - {id: by-url, method: GET, url_template: /url,
                 policies: {inbound: [{set-backend-service: {base-url: "http://127.0.0.1:{origin}/elsewhere"}}]}}
              - {id: rewritten, method: GET, url_template: "/r/{id}",
                 policies: {inbound: [{rewrite-uri: {template: "/v2/things/{id}?view=full"}}]}}
        """, name="switch")
    assert client.get("/sw/id").echo["target"] == "/alt/id"
    assert client.get("/sw/url").echo["target"] == "/elsewhere/url"
    assert client.get("/sw/r/42?x=1").echo["target"] == "/api/v2/things/42?view=full&x=1"


EXPRESSIONS = """
apis:
  ex:
    path: ex
    backend: origin
    subscription_required: false
    operations:
      - {id: item, method: GET, url_template: "/items/{id}"}
      - {id: boom, method: GET, url_template: /boom,
         policies: {inbound: [{set-header: {name: x-boom, value: '@(context.request.headers["x-absent"])'}}]}}
    policies:
      inbound:
        - base
        - set-variable: {name: tier, value: '@(context.request.headers.get("x-tier", "std"))'}
        - choose:
            - when: {condition: '@(context.variables["tier"] == "gold")',
                     steps: [{set-header: {name: x-lane, value: fast}}]}
            - otherwise: [{set-header: {name: x-lane, value: '@("slow-" + context.variables["tier"])'}}]
        - set-header: {name: x-item, value: '@(context.request.matched_parameters.get("id", "-"))'}
      on-error:
        - return-response:
            set-status: {code: 500, reason: Failed}
            set-header: [{name: x-reason, value: '@(context.last_error.reason)'},
                         {name: x-section, value: '@(context.last_error.section)'}]
            set-body: '@(context.last_error.message)'
"""


def test_expressions_drive_choose_variables_and_values(serve):
    client = serve(EXPRESSIONS, name="expr")
    gold = client.get("/ex/items/9", headers={"x-tier": "gold"}).echo["headers"]
    assert (gold["x-lane"], gold["x-item"]) == ("fast", "9")
    assert client.get("/ex/items/3").echo["headers"]["x-lane"] == "slow-std"


def test_expression_failure_reaches_on_error_with_last_error(serve):
    client = serve(EXPRESSIONS, name="expr2")
    answer = client.get("/ex/boom")
    assert answer.status == 500
    assert answer.headers["x-reason"] == "ExpressionValueEvaluationFailure"
    assert answer.headers["x-section"] == "inbound"
    assert answer.body.startswith(b"Expression evaluation failed.")


def test_unmatched_requests_run_the_global_on_error(serve):
    client = serve("""
        apis:
          a: {path: a, backend: origin, subscription_required: false}
        policies:
          on-error:
            - set-header: {name: x-reason, value: '@(context.last_error.reason)'}
        """, name="unmatched")
    answer = client.get("/nowhere")
    assert answer.status == 404
    assert answer.headers["x-reason"] == "OperationNotFound"
    assert answer.json() == {"statusCode": 404, "message": "Resource not found"}


def _mark(value: str) -> str:
    return f"{{set-header: {{name: x-order, exists-action: append, value: {value}}}}}"


SCOPES = f"""
policies:
  inbound: [base, {_mark("global")}]
  outbound: [{{set-header: {{name: x-out, exists-action: append, value: global}}}}]
products:
  plan:
    apis: [scoped]
    policies:
      inbound: [{_mark("product-before")}, base, {_mark("product-after")}]
subscriptions:
  product-key: {{scope: "product:plan", primary_key: scope-product-0123456789}}
  all-key: {{scope: all, primary_key: scope-all-0123456789}}
apis:
  scoped:
    path: scoped
    backend: origin
    policies:
      inbound: [{_mark("api-before")}, base, {_mark("api-after")}]
      outbound: [base, {{set-header: {{name: x-out, exists-action: append, value: api}}}}]
    operations:
      - {{id: after, method: GET, url_template: /after, policies: {{inbound: [base, {_mark("operation")}]}}}}
      - {{id: before, method: GET, url_template: /before, policies: {{inbound: [{_mark("operation")}, base]}}}}
      - {{id: inherit, method: GET, url_template: /inherit}}
      - {{id: own-outbound, method: GET, url_template: /own-outbound,
          policies: {{outbound: [{{set-header: {{name: x-out, exists-action: append, value: operation}}}}]}}}}
"""


@pytest.fixture(scope="module")
def scoped(serve):
    return serve(SCOPES, name="scopes")


def _order(client, path: str, key: str):
    answer = client("GET", path, headers={"ocp-apim-subscription-key": key})
    assert answer.status == 200, answer.body
    return ([v for k, v in answer.json()["headers"] if k == "x-order"],
            [v for k, v in answer.header_list if k.lower() == "x-out"])


def test_base_stands_where_it_is_written_at_every_scope(scoped):
    product_chain = ["api-before", "product-before", "global", "product-after", "api-after"]
    assert _order(scoped, "/scoped/after", "scope-product-0123456789")[0] == product_chain + ["operation"]
    assert _order(scoped, "/scoped/before", "scope-product-0123456789")[0] == ["operation"] + product_chain


def test_the_product_scope_is_there_only_for_a_product_key(scoped):
    assert _order(scoped, "/scoped/after", "scope-all-0123456789")[0] == ["api-before", "global", "api-after",
                                                                           "operation"]


def test_a_section_not_written_is_inherited_whole(scoped):
    inbound, outbound = _order(scoped, "/scoped/inherit", "scope-all-0123456789")
    assert inbound == ["api-before", "global", "api-after"]
    assert outbound == ["global", "api"]


def test_a_section_written_without_base_drops_the_parents(scoped):
    inbound, outbound = _order(scoped, "/scoped/own-outbound", "scope-all-0123456789")
    assert inbound == ["api-before", "global", "api-after"]
    assert outbound == ["operation"]
