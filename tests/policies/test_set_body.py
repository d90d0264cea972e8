"""set-body: text short form, {value, template}; template none|liquid. End to end: request and response."""
import pytest
from dataplane.rawhttp import Conn


def test_short_form(policies):
    body = policies.statement("- set-body: '{\"ok\": true}'", section="outbound")
    assert (body.value, body.template, body.xsi_nil) == ('{"ok": true}', "none", "blank")


def test_liquid_template(policies):
    body = policies.statement("- set-body: {value: '{% if body.x %}yes{% endif %}', template: liquid}")
    assert (body.value, body.template) == ("{% if body.x %}yes{% endif %}", "liquid")


def test_unknown_template(policies):
    found = policies.error("""
        - set-body:
            value: x
            template: mustache  # <-
    """)
    assert (found.line, found.path) == (found.marked_line, f"{policies.at()}.set-body.template")
    assert found.message == "Input should be 'none' or 'liquid'"


def test_multi_statement_expression_refused(policies):
    found = policies.error("- set-body: '@{ return 1; }'  # <-")
    assert found.line == found.marked_line
    assert found.message.startswith("multi-statement @{ ... } expressions are not supported")


# ---- end to end

E2E = """
named_values:
  greeting: hello from a named value
apis:
  b:
    path: b
    backend: origin
    subscription_required: false
    operations:
      - {id: in, method: POST, url_template: /in, policies: {inbound: [{set-body: replaced}]}}
      - {id: in-get, method: GET, url_template: /in-get, policies: {inbound: [{set-body: '{"made":"here"}'}]}}
      - {id: in-named, method: POST, url_template: /in-named, policies: {inbound: [{set-body: "{{greeting}}"}]}}
      - {id: in-empty, method: POST, url_template: /in-empty, policies: {inbound: [{set-body: ""}]}}
      - {id: in-backend, method: POST, url_template: /in-backend,
         policies: {backend: [{set-body: from the backend section}, base]}}
      - {id: out, method: GET, url_template: /out, policies: {outbound: [{set-body: '{"replaced":true}'}]}}
      - {id: out-chunked, method: GET, url_template: /chunked/out, policies: {outbound: [{set-body: short}]}}
      - {id: out-big, method: GET, url_template: /big/out, policies: {outbound: [{set-body: small}]}}
      - {id: both, method: POST, url_template: /both,
         policies: {inbound: [{set-body: up}], outbound: [{set-body: down}]}}
"""


@pytest.fixture(scope="module")
def gw(serve):
    return serve(E2E)


def echo_of(conn) -> dict:
    answer = conn.response()
    assert answer.status == 200, answer.body
    data = answer.json()
    data["headers"] = dict(data["headers"])
    return data


def test_inbound_replaces_the_request_body_with_its_length(gw):
    echo = gw("POST", "/b/in", body=b"the original, longer body", headers={"content-type": "text/plain"}).echo
    assert echo["body"] == "replaced"
    assert echo["headers"]["content-length"] == "8"
    assert "transfer-encoding" not in echo["headers"]
    assert echo["headers"]["content-type"] == "text/plain"


def test_inbound_gives_a_body_to_a_request_without_one(gw):
    echo = gw.get("/b/in-get").echo
    assert (echo["method"], echo["body"], echo["headers"]["content-length"]) == ("GET", '{"made":"here"}', "15")


def test_named_value_and_empty_body(gw):
    assert gw("POST", "/b/in-named", body=b"x").echo["body"] == "hello from a named value"
    echo = gw("POST", "/b/in-empty", body=b"something").echo
    assert (echo["body"], echo["headers"]["content-length"]) == ("", "0")


def test_in_the_backend_section(gw):
    echo = gw("POST", "/b/in-backend", body=b"x").echo
    assert (echo["body"], echo["headers"]["content-length"]) == ("from the backend section", "24")


def test_a_chunked_client_body_is_replaced_and_sent_with_a_length(gw):
    with Conn(gw.gateway.port) as conn:
        for _ in range(2):  # the whole chunked body was read: the next request on the connection works
            conn.send(b"POST /b/in HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                      b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
            echo = echo_of(conn)
            assert (echo["body"], echo["headers"]["content-length"]) == ("replaced", "8")
            assert "transfer-encoding" not in echo["headers"]


def test_a_chunked_body_sent_in_pieces_and_larger_than_the_buffers(gw):
    piece = b"z" * 65536
    with Conn(gw.gateway.port) as conn:
        conn.send(b"POST /b/in HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
        for _ in range(8):  # 512 KiB, above the 256 KiB at which a streamed body pauses reading
            conn.send(b"%x\r\n%s\r\n" % (len(piece), piece))
        conn.send(b"0\r\n\r\n")
        echo = echo_of(conn)
    assert (echo["body"], echo["headers"]["content-length"]) == ("replaced", "8")


def test_expect_100_continue_is_answered_before_the_body_is_read(gw):
    with Conn(gw.gateway.port) as conn:
        conn.send(b"POST /b/in HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
        assert conn.response().status == 100
        conn.send(b"hello")
        assert echo_of(conn)["body"] == "replaced"


def test_outbound_replaces_the_response_body(gw):
    answer = gw.get("/b/out")
    assert (answer.status, answer.body) == (200, b'{"replaced":true}')
    assert answer.headers["content-length"] == str(len(answer.body))
    assert answer.headers["content-type"] == "application/json"


def test_outbound_replaces_a_chunked_or_big_backend_body(gw):
    with Conn(gw.gateway.port) as conn:
        for path, body in ((b"/b/chunked/out", b"short"), (b"/b/big/out?n=300000", b"small"),
                           (b"/b/chunked/out", b"short")):
            conn.send(b"GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % path)
            answer = conn.response()
            assert (answer.status, answer.body) == (200, body)
            assert answer.header("content-length") == str(len(body))
            assert answer.header("transfer-encoding") is None


def test_inbound_and_outbound_together(gw, origin):
    since = origin.count()
    answer = gw("POST", "/b/both", body=b"original")
    assert answer.body == b"down"
    (record,) = origin.records(since)
    assert (record["target"], record["body_raw"]) == ("/api/both", "up")


def test_pipelined_requests_with_bodies_are_answered_in_order(gw):
    with Conn(gw.gateway.port) as conn:
        conn.send(b"POST /b/in HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nfirst"
                  b"POST /b/both HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nsecond\r\n0\r\n\r\n"
                  b"POST /b/in-backend HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nthird")
        assert echo_of(conn)["body"] == "replaced"
        assert conn.response().body == b"down"
        assert echo_of(conn)["body"] == "from the backend section"
