"""mock-response: status-code defaults to 200; end to end it answers the operation's `responses` examples."""
import pytest


def test_defaults(policies):
    mock = policies.statement("- mock-response: {}")
    assert (mock.status_code, mock.content_type) == (200, None)


def test_loads(policies):
    mock = policies.statement("- mock-response: {status-code: 201, content-type: application/json}")
    assert (mock.status_code, mock.content_type) == (201, "application/json")


def test_status_range(policies):
    found = policies.error("- mock-response: {status-code: 42}  # <-")
    assert (found.line, found.path) == (found.marked_line, f"{policies.at()}.mock-response.status-code")
    assert found.message == "must be from 100 to 599, got 42"


def test_not_in_backend(policies):
    found = policies.error("- mock-response: {}  # <-", section="backend")
    assert found.message == "mock-response may not stand in the backend section"


# ---- end to end

E2E = """
apis:
  mock:
    path: mock
    backend: origin
    subscription_required: false
    operations:
      - id: item
        method: GET
        url_template: "/items/{id}"
        responses:
          200: {"application/json": {"id": 1, "name": "mock"}, "text/plain": "one mock"}
          404: {"application/json": {"error": "not found"}}
        policies:
          inbound: [{mock-response: {}}]
      - id: typed
        method: GET
        url_template: /typed
        responses:
          200: {"application/json": {"id": 1}, "text/plain": "plain mock"}
        policies:
          inbound: [{mock-response: {status-code: 200, content-type: text/plain}}]
      - id: missing
        method: GET
        url_template: /missing
        responses:
          404: {"application/json": {"error": "not found"}}
        policies:
          inbound: [{mock-response: {status-code: 404}}]
      - id: no-example
        method: POST
        url_template: /no-example
        policies:
          inbound: [{mock-response: {status-code: 201}}]
      - id: other-type
        method: GET
        url_template: /other-type
        responses:
          200: {"application/json": {"id": 1}}
        policies:
          inbound: [{mock-response: {content-type: application/xml}}]
      - id: outbound
        method: GET
        url_template: /outbound
        responses:
          200: {"application/json": {"mocked": "after the backend"}}
        policies:
          outbound: [{mock-response: {}}]
  api-wide:
    path: wide
    backend: origin
    subscription_required: false
    operations:
      - {id: a, method: GET, url_template: /a, responses: {200: {"application/json": {"op": "a"}}}}
      - {id: b, method: GET, url_template: /b, responses: {200: {"application/json": {"op": "b"}}}}
    policies:
      inbound: [{mock-response: {}}]
"""


@pytest.fixture(scope="module")
def gw(serve):
    return serve(E2E)


def test_the_first_example_of_the_status(gw, origin):
    before = origin.count()
    answer = gw.get("/mock/items/7")
    assert answer.status == 200
    assert answer.headers["content-type"] == "application/json"
    assert answer.json() == {"id": 1, "name": "mock"}
    assert origin.count() == before


def test_the_example_of_the_content_type(gw):
    answer = gw.get("/mock/typed")
    assert (answer.status, answer.headers["content-type"], answer.body) == (200, "text/plain", b"plain mock")


def test_the_example_of_the_status_code(gw):
    answer = gw.get("/mock/missing")
    assert (answer.status, answer.json()) == (404, {"error": "not found"})


def test_no_example_gives_an_empty_body(gw):
    answer = gw("POST", "/mock/no-example", body=b"ignored")
    assert (answer.status, answer.body, answer.headers["content-length"]) == (201, b"", "0")
    assert "content-type" not in answer.headers


def test_a_content_type_without_an_example(gw):
    answer = gw.get("/mock/other-type")
    assert (answer.status, answer.headers["content-type"], answer.body) == (200, "application/xml", b"")


def test_in_outbound_after_the_backend(gw, origin):
    since = origin.count()
    answer = gw.get("/mock/outbound")
    assert answer.json() == {"mocked": "after the backend"}
    assert [r["target"] for r in origin.records(since)] == ["/api/outbound"]


def test_at_api_scope_each_operation_answers_its_own_example(gw):
    assert gw.get("/wide/a").json() == {"op": "a"}
    assert gw.get("/wide/b").json() == {"op": "b"}
