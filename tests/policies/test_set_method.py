"""set-method: an element holding only text; the method is checked and upper-cased. End to end below."""
import pytest
from dataplane.rawhttp import Conn


def test_short_form(policies):
    assert policies.statement("- set-method: post").value == "POST"


def test_value_form_in_on_error(policies):
    assert policies.statement("- set-method: {value: DELETE}", section="on-error").value == "DELETE"


def test_bad_method(policies):
    found = policies.error("- set-method: 'GET /x'  # <-")
    assert (found.line, found.path) == (found.marked_line, f"{policies.at()}.set-method.value")
    assert found.message == "'GET /x' is not an HTTP method (e.g. GET, POST)"


def test_not_in_outbound(policies):
    found = policies.error("- set-method: GET  # <-", section="outbound")
    assert found.message == "set-method may not stand in the outbound section"


# ---- end to end

E2E = """
apis:
  m:
    path: m
    backend: origin
    subscription_required: false
    operations:
      - {id: post, method: GET, url_template: /post, policies: {inbound: [{set-method: post}]}}
      - {id: put, method: POST, url_template: /put, policies: {inbound: [{set-method: PUT}]}}
      - {id: to-get, method: HEAD, url_template: /to-get, policies: {inbound: [{set-method: GET}]}}
      - {id: to-head, method: GET, url_template: /to-head, policies: {inbound: [{set-method: HEAD}]}}
"""


@pytest.fixture(scope="module")
def gw(serve):
    return serve(E2E)


def test_the_backend_gets_the_new_method(gw):
    answer = gw.get("/m/post")
    assert answer.status == 200
    assert answer.json()["method"] == "POST"


def test_the_body_goes_with_the_new_method(gw):
    echo = gw("POST", "/m/put", body=b"payload", headers={"content-type": "text/plain"}).json()
    assert (echo["method"], echo["body"], dict(echo["headers"])["content-length"]) == ("PUT", "payload", "7")


def test_head_sent_as_get_answers_the_client_without_a_body(gw):
    with Conn(gw.gateway.port) as conn:
        for _ in range(2):  # the backend's GET body is read and dropped: both connections stay in step
            conn.send(b"HEAD /m/to-get HTTP/1.1\r\nHost: x\r\n\r\n")
            answer = conn.response(head_request=True)
            assert answer.status == 200
        conn.send(b"GET /m/post HTTP/1.1\r\nHost: x\r\n\r\n")
        assert conn.response().json()["method"] == "POST"


def test_get_sent_as_head_answers_the_client_without_waiting_for_a_body(gw):
    with Conn(gw.gateway.port, timeout=3) as conn:
        for _ in range(2):
            conn.send(b"GET /m/to-head HTTP/1.1\r\nHost: x\r\n\r\n")
            answer = conn.response()
            assert (answer.status, answer.body) == (200, b"")
        conn.send(b"GET /m/post HTTP/1.1\r\nHost: x\r\n\r\n")
        assert conn.response().json()["method"] == "POST"
