"""return-response: set-status, a set-header list and set-body, as in DESIGN.md's example; end to end."""
import pytest
from dataplane.rawhttp import Conn


def test_design_example(policies):
    response = policies.statement("""
        - return-response:
            set-status: {code: 418, reason: "I'm a teapot"}
            set-header: [{name: x-short, exists-action: override, value: "yes"}]
            set-body: '{"teapot":true}'
    """)
    assert (response.set_status.code, response.set_status.reason) == (418, "I'm a teapot")
    (header,) = response.set_header
    assert (header.name, header.value) == ("x-short", ("yes",))
    assert response.set_body.value == '{"teapot":true}'
    assert response.response_variable_name is None


def test_single_header_mapping_and_variable(policies):
    response = policies.statement("""
        - return-response:
            response-variable-name: stored
            set-header: {name: x-a, value: b}
    """, section="on-error")
    assert response.response_variable_name == "stored"
    assert response.set_header[0].name == "x-a"
    assert response.set_status is None and response.set_body is None


def test_error_inside_a_child_element(policies):
    found = policies.error("""
        - return-response:
            set-status:
              code: 700  # <-
              reason: x
    """)
    assert (found.line, found.path) == (found.marked_line, f"{policies.at()}.return-response.set-status.code")
    assert found.message == "must be from 100 to 599, got 700"


def test_unknown_child_lists_the_children(policies):
    found = policies.error("""
        - return-response:
            set-url: http://x  # <-
    """)
    assert (found.line, found.path) == (found.marked_line, f"{policies.at()}.return-response.set-url")
    assert found.message == ("unknown attribute; known attributes: id, response-variable-name, set-body, set-header,"
                             " set-status")


# ---- end to end

E2E = """
apis:
  r:
    path: r
    backend: origin
    subscription_required: false
    operations:
      - id: full
        method: '*'
        url_template: /full
        policies:
          inbound:
            - return-response:
                set-status: {code: 418, reason: "I'm a teapot"}
                set-header:
                  - {name: x-short, value: "yes"}
                  - {name: x-many, value: [a, b]}
                  - {name: content-type, value: application/json}
                set-body: '{"teapot":true}'
            - set-header: {name: x-after, value: never}
          outbound:
            - set-header: {name: x-out, value: never}
      - {id: default, method: GET, url_template: /default, policies: {inbound: [{return-response: {}}]}}
      - id: outbound
        method: '*'
        url_template: /outbound
        policies:
          outbound:
            - return-response: {set-status: {code: 203, reason: Replaced}, set-body: instead}
      - id: on-error
        method: GET
        url_template: /on-error
        policies:
          inbound:
            - check-header: {name: x-needed, failed-check-httpcode: 400, failed-check-error-message: denied, ignore-case: false}
          on-error:
            - return-response: {set-status: {code: 409, reason: Handled}, set-body: handled}
      - id: not-a-response
        method: GET
        url_template: /not-a-response
        policies:
          inbound:
            - set-variable: {name: stored, value: text}
            - return-response: {response-variable-name: stored}
      - id: fails-in-outbound
        method: GET
        url_template: /fails-in-outbound
        policies:
          outbound:
            - return-response: {response-variable-name: nothing-stored}
            - set-header: {name: x-after, value: never}
          on-error:
            - set-header: {name: x-on-error, value: ran}
"""


@pytest.fixture(scope="module")
def gw(serve):
    return serve(E2E)


def test_status_headers_and_body_without_the_backend(gw, origin):
    before = origin.count()
    answer = gw.get("/r/full")
    assert (answer.status, answer.reason) == (418, "I'm a teapot")
    assert answer.headers["x-short"] == "yes"
    assert [v for k, v in answer.header_list if k == "x-many"] == ["a", "b"]
    assert answer.headers["content-type"] == "application/json"
    assert answer.headers["content-length"] == "15"
    assert answer.body == b'{"teapot":true}'
    assert "x-after" not in answer.headers and "x-out" not in answer.headers
    assert origin.count() == before


def test_default_is_an_empty_200(gw):
    answer = gw.get("/r/default")
    assert (answer.status, answer.body, answer.headers["content-length"]) == (200, b"", "0")


def test_in_outbound_it_replaces_the_backends_answer(gw, origin):
    since = origin.count()
    answer = gw.get("/r/outbound")
    assert (answer.status, answer.reason, answer.body) == (203, "Replaced", b"instead")
    assert [r["target"] for r in origin.records(since)] == ["/api/outbound"]


def test_head_to_an_outbound_answer_keeps_both_connections_in_step(gw):
    with Conn(gw.gateway.port) as conn:
        for _ in range(3):
            conn.send(b"HEAD /r/outbound HTTP/1.1\r\nHost: x\r\n\r\n")
            answer = conn.response(head_request=True)
            assert (answer.status, answer.header("content-length")) == (203, "7")
        conn.send(b"GET /r/outbound HTTP/1.1\r\nHost: x\r\n\r\n")
        assert conn.response().body == b"instead"


def test_in_on_error(gw):
    answer = gw.get("/r/on-error")
    assert (answer.status, answer.reason, answer.body) == (409, "Handled", b"handled")
    assert gw("GET", "/r/on-error", headers={"x-needed": "1"}).status == 200


def test_answered_before_the_body_arrives(gw):
    with Conn(gw.gateway.port) as conn:
        conn.send(b"POST /r/full HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\npartial")
        answer = conn.response()
        assert answer.status == 418
        assert answer.header("connection") == "close"  # the unread body is not waited for
        assert conn.closed_by_peer(timeout=5)


def test_a_variable_that_holds_no_response(gw):
    answer = gw.get("/r/not-a-response")
    assert answer.status == 500
    assert answer.json()["statusCode"] == 500


def test_an_error_in_outbound_runs_on_error_and_drops_the_backends_answer(gw):
    with Conn(gw.gateway.port) as conn:
        for _ in range(2):
            conn.send(b"GET /r/fails-in-outbound HTTP/1.1\r\nHost: x\r\n\r\n")
            answer = conn.response()
            assert (answer.status, answer.header("x-on-error"), answer.header("x-after")) == (500, "ran", None)
            assert answer.json()["statusCode"] == 500
        conn.send(b"GET /r/outbound HTTP/1.1\r\nHost: x\r\n\r\n")
        assert conn.response().body == b"instead"
