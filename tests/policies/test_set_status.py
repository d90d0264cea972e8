"""set-status: code 100-599 and a reason; end to end on the backend's answer and on gateway answers."""
import pytest
from dataplane.rawhttp import Conn


def test_loads(policies):
    status = policies.statement("- set-status: {code: 404, reason: Not Found}", section="outbound")
    assert (status.code, status.reason) == (404, "Not Found")


@pytest.mark.parametrize("code, message", [(99, "must be from 100 to 599, got 99"),
                                           (600, "must be from 100 to 599, got 600"),
                                           ("teapot", "expected a whole number from 100 to 599")])
def test_code_range(policies, code, message):
    found = policies.error(f"""
        - set-status:
            code: {code}  # <-
            reason: x
    """)
    assert (found.line, found.path) == (found.marked_line, f"{policies.at()}.set-status.code")
    assert message in found.message


def test_reason_required(policies):
    found = policies.error("- set-status: {code: 200}  # <-")
    assert (found.path, found.message) == (f"{policies.at()}.set-status.reason", "required, but missing")


# ---- end to end

E2E = """
named_values:
  split: "Fine\\r\\nx-injected: yes"
apis:
  s:
    path: s
    backend: origin
    subscription_required: false
    operations:
      - {id: created, method: GET, url_template: /status/created,
         policies: {outbound: [{set-status: {code: 201, reason: Made It}}]}}
      - {id: rescued, method: GET, url_template: /status/rescued,
         policies: {outbound: [{set-status: {code: 200, reason: OK}}]}}
      - {id: empty, method: GET, url_template: /empty,
         policies: {outbound: [{set-status: {code: 204, reason: No Content}}]}}
      - {id: split, method: GET, url_template: /split,
         policies: {outbound: [{set-status: {code: 200, reason: "{{split}}"}}]}}
      - {id: answered, method: GET, url_template: /answered,
         policies: {inbound: [{return-response: {set-status: {code: 202, reason: Later}}}]}}
"""


@pytest.fixture(scope="module")
def gw(serve):
    return serve(E2E)


def test_outbound_sets_status_and_reason(gw):
    answer = gw.get("/s/status/created")
    assert (answer.status, answer.reason) == (201, "Made It")
    assert answer.json()["target"] == "/api/status/created"


def test_outbound_turns_a_backend_error_into_success(gw):
    answer = gw.get("/s/status/rescued?code=503")
    assert (answer.status, answer.reason) == (200, "OK")
    assert answer.json()["query"] == {"code": "503"}


def test_a_status_without_body_drops_the_backends_body_and_keeps_the_connection(gw):
    with Conn(gw.gateway.port) as conn:
        for _ in range(2):
            conn.send(b"GET /s/empty HTTP/1.1\r\nHost: x\r\n\r\n")
            answer = conn.response()
            assert (answer.status, answer.body) == (204, b"")
            assert answer.header("content-length") is None  # a 204 has no body, so no length either
        conn.send(b"GET /s/status/created HTTP/1.1\r\nHost: x\r\n\r\n")
        answer = conn.response()
        assert answer.status == 201 and answer.json()["target"] == "/api/status/created"


def test_a_reason_with_a_line_break_cannot_add_a_header(gw):
    with Conn(gw.gateway.port) as conn:
        conn.send(b"GET /s/split HTTP/1.1\r\nHost: x\r\n\r\n")
        answer = conn.response()
    assert answer.status == 200
    assert answer.raw_head.startswith(b"HTTP/1.1 200 Fine  x-injected: yes\r\n")
    assert answer.header("x-injected") is None


def test_inside_return_response(gw, origin):
    before = origin.count()
    answer = gw.get("/s/answered")
    assert (answer.status, answer.reason, answer.body) == (202, "Later", b"")
    assert origin.count() == before
