"""Subscriptions end to end (gwcore/pipeline/subscriptions.py and the key handling of the exchange):
every APIM rule of who may call an API, with APIM's exact 401 texts, and the key never reaching the
backend."""
import http.client
import json

import pytest

MISSING = {"statusCode": 401, "message": "Access denied due to missing subscription key. Make sure to include"
                                         " subscription key when making requests to an API."}
INVALID = {"statusCode": 401, "message": "Access denied due to invalid subscription key. Make sure to provide a"
                                         " valid key for an active subscription."}

ALL, ALL_2 = "all-primary-0123456789", "all-secondary-0123456789"
ORDERS = "orders-api-0123456789"
STARTER, STARTER_2 = "starter-primary-0123456789", "starter-secondary-0123456789"
FREE = "free-product-0123456789"
SUSPENDED = "suspended-0123456789"
ODD = "odd+key/0123456789=="

E2E = f"""
apis:
  orders: {{path: orders, backend: origin}}
  billing: {{path: billing, backend: origin}}
  catalog: {{path: catalog, backend: origin}}
  public: {{path: public, backend: origin, subscription_required: false}}
  custom: {{path: custom, backend: origin, subscription_key_header: X-Api-Key, subscription_key_query: api-key}}
  shaped:
    path: shaped
    backend: origin
    policies:
      inbound: [base, {{set-query-parameter: {{name: added, value: "1"}}}}]
  guarded:
    path: guarded
    backend: origin
    policies:
      on-error: [{{set-header: {{name: x-on-error, value: ran}}}}]
products:
  starter:
    apis: [orders, shaped]
    policies:
      inbound: [base, {{set-header: {{name: x-product, value: starter}}}}]
  free:
    apis: [catalog]
    subscription_required: false
    policies:
      inbound: [base, {{set-header: {{name: x-product, value: free}}}}]
subscriptions:
  everything: {{scope: all, primary_key: {ALL}, secondary_key: {ALL_2}}}
  orders-only: {{scope: "api:orders", primary_key: {ORDERS}}}
  starter-plan: {{scope: "product:starter", primary_key: {STARTER}, secondary_key: {STARTER_2}}}
  free-plan: {{scope: "product:free", primary_key: {FREE}}}
  stopped: {{scope: all, primary_key: {SUSPENDED}, state: suspended}}
  odd: {{scope: all, primary_key: "{ODD}"}}
"""


@pytest.fixture(scope="module")
def gw(serve):
    return serve(E2E)


def call(gw, path: str, key: str = None, header: str = "Ocp-Apim-Subscription-Key", headers: dict = None):
    return gw("GET", path, headers={**({header: key} if key is not None else {}), **(headers or {})})


def passed(answer) -> dict:
    """What the origin received, after checking that the key went nowhere near it."""
    assert answer.status == 200, answer.body
    sent = answer.echo
    for name in ("ocp-apim-subscription-key", "x-api-key"):
        assert name not in sent["headers"]
    assert "subscription-key" not in sent["query"] and "api-key" not in sent["query"]
    for secret in (ALL, ALL_2, ORDERS, STARTER, STARTER_2, FREE, "odd"):
        assert secret not in answer.body.decode()
    return sent


def test_missing_key(gw, origin):
    before = origin.count()
    answer = call(gw, "/orders/x")
    assert (answer.status, answer.json()) == (401, MISSING)
    assert origin.count() == before


@pytest.mark.parametrize("key", ["no-such-key-0123456789", "", ALL + " "])
def test_invalid_key(gw, origin, key):
    before = origin.count()
    answer = call(gw, "/orders/x", key)
    assert (answer.status, answer.json()) == (401, INVALID)
    assert origin.count() == before


def test_key_in_the_header_any_case(gw):
    passed(call(gw, "/orders/x", ALL))
    passed(call(gw, "/orders/x", ALL, header="OCP-APIM-SUBSCRIPTION-KEY"))


def test_key_in_the_query_is_removed_and_the_rest_kept_as_sent(gw):
    sent = passed(gw.get(f"/orders/x?a=1&subscription-key={ALL}&b=%7e2"))
    assert sent["target"] == "/api/x?a=1&b=%7e2"
    assert passed(gw.get(f"/orders/x?subscription-key={ALL}"))["target"] == "/api/x"


def test_a_query_key_is_decoded(gw):
    assert passed(gw.get("/orders/x?subscription-key=odd%2Bkey%2F0123456789%3D%3D"))["target"] == "/api/x"


def test_an_escaped_query_name_is_the_key_parameter_too(gw):
    sent = passed(gw.get(f"/public/x?subscription%2Dkey={ALL}&a=1"))
    assert sent["target"] == "/api/x?a=1"
    assert call(gw, "/orders/x?subscription%2dkey=wrong-key-0123456789").json() == INVALID


def test_the_query_is_read_only_when_the_header_is_absent(gw):
    sent = passed(call(gw, "/orders/x?subscription-key=garbage-0123456789&c=3", ALL))
    assert sent["target"] == "/api/x?c=3"  # both copies are removed
    assert call(gw, f"/orders/x?subscription-key={ALL}", "garbage-0123456789").json() == INVALID


def test_primary_and_secondary_keys(gw):
    for key in (ALL, ALL_2, STARTER, STARTER_2):
        passed(call(gw, "/orders/x", key))


def test_suspended_subscription(gw):
    assert call(gw, "/orders/x", SUSPENDED).json() == INVALID


def test_api_scope(gw):
    passed(call(gw, "/orders/x", ORDERS))
    assert call(gw, "/billing/x", ORDERS).json() == INVALID


def test_product_scope_covers_only_the_products_apis(gw):
    passed(call(gw, "/orders/x", STARTER))
    assert call(gw, "/billing/x", STARTER).json() == INVALID
    assert call(gw, "/catalog/x", STARTER).json() == INVALID  # open, but a key must be a valid one


def test_all_scope(gw):
    for path in ("/orders/x", "/billing/x", "/catalog/x", "/custom/x", "/shaped/x"):
        passed(call(gw, path, ALL, header="X-Api-Key" if path == "/custom/x" else "Ocp-Apim-Subscription-Key"))


def test_product_policies_apply_only_for_a_product_scoped_key(gw):
    assert passed(call(gw, "/orders/x", STARTER))["headers"]["x-product"] == "starter"
    assert "x-product" not in passed(call(gw, "/orders/x", ALL))["headers"]
    assert "x-product" not in passed(call(gw, "/orders/x", ORDERS))["headers"]


def test_an_open_product_lets_keyless_calls_through_with_its_policies(gw):
    assert passed(call(gw, "/catalog/x"))["headers"]["x-product"] == "free"
    assert passed(call(gw, "/catalog/x", FREE))["headers"]["x-product"] == "free"
    assert "x-product" not in passed(call(gw, "/catalog/x", ALL))["headers"]


def test_subscription_not_required(gw):
    passed(call(gw, "/public/x"))
    passed(call(gw, "/public/x", ALL))
    assert passed(gw.get(f"/public/x?subscription-key={ALL}&k=v"))["target"] == "/api/x?k=v"
    assert call(gw, "/public/x", "no-such-key-0123456789").json() == INVALID  # a key given is checked


def test_custom_header_and_query_names(gw):
    passed(call(gw, "/custom/x", ALL, header="X-Api-Key"))
    assert passed(gw.get(f"/custom/x?api-key={ALL}&z=1"))["target"] == "/api/x?z=1"
    assert call(gw, "/custom/x", ALL).json() == MISSING  # the default header is not this API's
    assert gw.get(f"/custom/x?subscription-key={ALL}").json() == MISSING


def test_the_key_is_removed_when_policies_run_too(gw):
    sent = passed(gw.get(f"/shaped/x?subscription-key={STARTER}&q=1"))
    assert sent["target"] == "/api/x?q=1&added=1"
    assert sent["headers"]["x-product"] == "starter"
    sent = passed(call(gw, "/shaped/x?q=2", STARTER_2))
    assert sent["target"] == "/api/x?q=2&added=1"


def test_on_error_runs_for_a_refused_key(gw):
    answer = call(gw, "/guarded/x")
    assert (answer.status, answer.json(), answer.headers["x-on-error"]) == (401, MISSING, "ran")
    answer = call(gw, "/guarded/x", "no-such-key-0123456789")
    assert (answer.json(), answer.headers["x-on-error"]) == (INVALID, "ran")


def test_what_a_key_was_granted_on_one_api_holds_for_that_api_only(gw):
    # the exchange remembers per API what a key (or no key) was granted (subscriptions.grant):
    # later calls must get the same answers as the first, and nothing carries to another API
    for _ in range(3):
        assert passed(call(gw, "/orders/x", STARTER))["headers"]["x-product"] == "starter"
        assert call(gw, "/billing/x", STARTER).json() == INVALID
        assert "x-product" not in passed(call(gw, "/orders/x", ALL))["headers"]
        assert call(gw, "/orders/x", "no-such-key-0123456789").json() == INVALID
        assert call(gw, "/orders/x").json() == MISSING
        assert passed(call(gw, "/catalog/x"))["headers"]["x-product"] == "free"
        assert call(gw, "/catalog/x", STARTER).json() == INVALID


def test_a_repeated_key_header_is_removed_whole(gw):
    # http.client sends each putheader line as given: the key header twice, another between
    conn = http.client.HTTPConnection("127.0.0.1", gw.gateway.port, timeout=10)
    try:
        conn.putrequest("GET", "/shaped/x")
        conn.putheader("Ocp-Apim-Subscription-Key", STARTER)
        conn.putheader("X-Between", "kept")
        conn.putheader("ocp-apim-subscription-key", ALL)
        conn.endheaders()
        response = conn.getresponse()
        body = response.read()
    finally:
        conn.close()
    assert response.status == 200, body
    sent = json.loads(body)
    names = [name for name, _ in sent["headers"]]
    assert "ocp-apim-subscription-key" not in names and names.count("x-between") == 1
    assert dict(sent["headers"])["x-product"] == "starter"  # the first key is the one checked
    assert STARTER not in body.decode() and ALL not in body.decode()
