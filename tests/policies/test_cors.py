"""cors: origins, methods (collapsed list or with preflight-result-max-age), headers. End to end:
preflights answered by the gateway, simple requests, credentials, unmatched requests."""
import pytest


def test_collapsed_lists(policies):
    cors = policies.statement("""
        - cors:
            allowed-origins: ['https://app.example.com', 'http://localhost:8080/']
            allowed-methods: [get, POST, PATCH]
            allowed-headers: ['*']
    """)
    assert cors.allowed_origins == ("https://app.example.com", "http://localhost:8080/")
    assert cors.allowed_methods.method == ("GET", "POST", "PATCH")
    assert cors.allowed_methods.preflight_result_max_age == 0
    assert (cors.allow_credentials, cors.terminate_unmatched_request) == (False, True)
    assert cors.expose_headers == ()


def test_spelled_out_wrappers_and_max_age(policies):
    cors = policies.statement("""
        - cors:
            allow-credentials: true
            allowed-origins: {origin: ['https://a.example']}
            allowed-methods: {preflight-result-max-age: 300, method: [GET, DELETE]}
            allowed-headers: {header: [content-type, x-zumo-auth]}
            expose-headers: {header: x-zumo-installation-id}
    """)
    assert cors.allow_credentials is True
    assert cors.allowed_origins == ("https://a.example",)
    assert (cors.allowed_methods.preflight_result_max_age, cors.allowed_methods.method) == (300, ("GET", "DELETE"))
    assert cors.allowed_headers == ("content-type", "x-zumo-auth")
    assert cors.expose_headers == ("x-zumo-installation-id",)


def test_no_allowed_methods_means_default(policies):
    cors = policies.statement("- cors: {allowed-origins: ['*'], allowed-headers: ['*']}")
    assert cors.allowed_methods is None


def test_credentials_with_any_origin(policies):
    found = policies.error("""
        - cors:  # <-
            allow-credentials: true
            allowed-origins: ['*']
            allowed-headers: ['*']
    """)
    assert (found.line, found.path) == (found.marked_line, f"{policies.at()}.cors")
    assert found.message.startswith("allow-credentials: true cannot be combined with origin *")


def test_origin_shape(policies):
    found = policies.error("""
        - cors:
            allowed-origins: [app.example.com]  # <-
            allowed-headers: ['*']
    """)
    assert (found.line, found.path) == (found.marked_line, f"{policies.at()}.cors.allowed-origins")
    assert found.message == "origin 'app.example.com' must be scheme://host[:port], e.g. https://app.example.com"


def test_star_must_stand_alone(policies):
    found = policies.error("- cors: {allowed-origins: ['*', 'https://a'], allowed-headers: ['*']}  # <-")
    assert found.message.startswith("* allows every origin and must stand alone")


def test_allowed_headers_required(policies):
    found = policies.error("- cors: {allowed-origins: ['*']}  # <-")
    assert (found.path, found.message) == (f"{policies.at()}.cors.allowed-headers", "required, but missing")


def test_bad_method_inside_allowed_methods(policies):
    found = policies.error("""
        - cors:
            allowed-origins: ['*']
            allowed-headers: ['*']
            allowed-methods:
              preflight-result-max-age: 10
              method: ['GET POST']  # <-
    """)
    assert found.line == found.marked_line
    assert found.path == f"{policies.at()}.cors.allowed-methods.method[0]"
    assert found.message == "'GET POST' is not an HTTP method (e.g. GET, POST)"


# ---- end to end

E2E = """
apis:
  listed:
    path: cors
    backend: origin
    subscription_required: false
    operations:
      - {id: list, method: GET, url_template: /items}
      - {id: add, method: POST, url_template: /items}
      - {id: clear, method: DELETE, url_template: /items}
    policies:
      inbound:
        - cors:
            allowed-origins: ['https://app.example']
            allowed-methods: {preflight-result-max-age: 300, method: [GET, POST]}
            allowed-headers: [content-type, x-custom]
            expose-headers: [x-total]
  credentials:
    path: cred
    backend: origin
    subscription_required: false
    policies:
      inbound:
        - cors:
            allow-credentials: true
            allowed-origins: ['https://app.example', 'https://other.example']
            allowed-headers: ['*']
  anyone:
    path: any
    backend: origin
    subscription_required: false
    policies:
      inbound:
        - cors: {allowed-origins: ['*'], allowed-methods: ['*'], allowed-headers: ['*']}
  lenient:
    path: lenient
    backend: origin
    subscription_required: false
    policies:
      inbound:
        - cors: {allowed-origins: ['https://app.example'], allowed-headers: ['*'], terminate-unmatched-request: false}
  second:
    path: second
    backend: origin
    subscription_required: false
    policies:
      inbound:
        - cors: {allowed-origins: ['https://app.example'], allowed-headers: ['*'], terminate-unmatched-request: false}
        - cors: {allowed-origins: ['https://other.example'], allowed-headers: ['*']}
  keyed:
    path: keyed
    backend: origin
    operations:
      - {id: add, method: POST, url_template: /items}
    policies:
      inbound:
        - check-header: {name: x-needed, failed-check-httpcode: 400, failed-check-error-message: needed, ignore-case: false}
        - cors: {allowed-origins: ['https://app.example'], allowed-headers: [content-type, ocp-apim-subscription-key]}
subscriptions:
  browser: {scope: api:keyed, primary_key: browser-key-0123456789}
"""
APP = "https://app.example"


@pytest.fixture(scope="module")
def gw(serve):
    return serve(E2E)


def preflight(gw, path: str, origin: str = APP, method: str = "POST", headers: str = None):
    asked = {"origin": origin, "access-control-request-method": method}
    if headers is not None:
        asked["access-control-request-headers"] = headers
    return gw("OPTIONS", path, headers=asked)


def cors_headers(answer) -> dict:
    return {k: v for k, v in answer.headers.items() if k.startswith("access-control-")}


def test_preflight_is_answered_by_the_gateway(gw, origin):
    before = origin.count()
    answer = preflight(gw, "/cors/items", headers="Content-Type, X-Custom")
    assert (answer.status, answer.body) == (200, b"")
    assert cors_headers(answer) == {
        "access-control-allow-origin": APP,
        "access-control-allow-methods": "POST",
        "access-control-allow-headers": "content-type, x-custom",
        "access-control-max-age": "300",
    }
    assert answer.headers["vary"] == "Origin"
    assert origin.count() == before


def test_simple_request_gets_allow_origin_and_expose_headers(gw):
    answer = gw("GET", "/cors/items", headers={"origin": APP})
    assert answer.status == 200 and answer.json()["target"] == "/api/items"
    assert cors_headers(answer) == {"access-control-allow-origin": APP, "access-control-expose-headers": "x-total"}
    assert answer.echo["headers"]["origin"] == APP


def test_no_origin_no_cors_headers(gw):
    answer = gw.get("/cors/items")
    assert answer.status == 200 and cors_headers(answer) == {}


def test_credentials_echo_the_origin_never_star(gw):
    for origin_name in (APP, "https://other.example"):
        answer = gw("GET", "/cred/x", headers={"origin": origin_name})
        assert answer.headers["access-control-allow-origin"] == origin_name
        assert answer.headers["access-control-allow-credentials"] == "true"
        answer = preflight(gw, "/cred/x", origin=origin_name, headers="x-anything")
        assert cors_headers(answer)["access-control-allow-origin"] == origin_name
        assert answer.headers["access-control-allow-credentials"] == "true"


def test_any_origin_without_credentials_is_star(gw):
    answer = gw("GET", "/any/x", headers={"origin": "https://whoever.example"})
    assert answer.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in answer.headers
    answer = preflight(gw, "/any/x", origin="https://whoever.example", method="DELETE", headers="x-a")
    assert cors_headers(answer)["access-control-allow-methods"] == "DELETE"


@pytest.mark.parametrize("asked", [
    {"origin": "https://evil.example"},
    {"method": "DELETE"},
    {"headers": "content-type, x-secret"},
])
def test_unmatched_preflight_is_terminated_by_default(gw, origin, asked):
    before = origin.count()
    answer = preflight(gw, "/cors/items", **asked)
    assert (answer.status, answer.body, cors_headers(answer)) == (200, b"", {})
    assert origin.count() == before


def test_a_preflight_for_no_operation_is_not_found(gw):
    assert preflight(gw, "/cors/items", method="PATCH").status == 404
    assert preflight(gw, "/cors/nothing-here").status == 404


def test_unmatched_simple_request_is_terminated_by_default(gw, origin):
    before = origin.count()
    answer = gw("GET", "/cors/items", headers={"origin": "https://evil.example"})
    assert (answer.status, answer.body, cors_headers(answer)) == (200, b"", {})
    assert origin.count() == before


def test_unmatched_simple_request_passes_without_cors_headers_when_not_terminated(gw):
    answer = gw("GET", "/lenient/x", headers={"origin": "https://evil.example"})
    assert answer.status == 200 and answer.json()["target"] == "/api/x"
    assert cors_headers(answer) == {}


def test_unmatched_preflight_not_terminated_and_no_other_cors_still_ends_at_the_gateway(gw, origin):
    before = origin.count()
    answer = preflight(gw, "/lenient/x", origin="https://evil.example")
    assert (answer.status, answer.body, cors_headers(answer)) == (200, b"", {})
    assert origin.count() == before


def test_unmatched_preflight_not_terminated_goes_to_the_next_cors(gw, origin):
    before = origin.count()
    answer = preflight(gw, "/second/x", origin="https://other.example")
    assert cors_headers(answer)["access-control-allow-origin"] == "https://other.example"
    assert preflight(gw, "/second/x").headers["access-control-allow-origin"] == APP
    assert origin.count() == before


def test_a_preflight_needs_no_key_and_runs_only_the_cors_policies(gw, origin):
    before = origin.count()
    answer = preflight(gw, "/keyed/items", headers="content-type, ocp-apim-subscription-key")
    assert answer.status == 200
    assert cors_headers(answer)["access-control-allow-origin"] == APP
    assert cors_headers(answer)["access-control-allow-headers"] == "content-type, ocp-apim-subscription-key"
    assert origin.count() == before
    # the request itself still needs its key, and the other policies run on it
    assert gw("POST", "/keyed/items", headers={"origin": APP}).status == 401
    key = {"origin": APP, "ocp-apim-subscription-key": "browser-key-0123456789"}
    assert gw("POST", "/keyed/items", headers=key).status == 400
    answer = gw("POST", "/keyed/items", headers={**key, "x-needed": "1"}, body=b"{}")
    assert (answer.status, answer.headers["access-control-allow-origin"]) == (200, APP)


def test_a_preflight_with_a_wrong_key_is_refused(gw):
    answer = gw("OPTIONS", "/keyed/items?subscription-key=wrong-key-0123456789",
                headers={"origin": APP, "access-control-request-method": "POST"})
    assert answer.status == 401


def test_an_options_request_that_is_no_preflight_goes_the_usual_way(gw):
    assert gw("OPTIONS", "/cors/items", headers={"origin": APP}).status == 404  # no OPTIONS operation
    answer = gw("OPTIONS", "/any/x", headers={"origin": APP})
    assert answer.status == 200 and answer.json()["method"] == "OPTIONS"
