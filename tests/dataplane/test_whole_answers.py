"""A backend answer read whole in one go (the fast path) or in pieces (httptools): the client
gets the same status, headers and body either way, and the upstream connection is kept or
dropped as the answer says. The origin's `shape` mode sends one fixed answer in many ways."""
import time

import pytest

from .origin import SHAPE_BODY, SHAPE_HEAD
from .rawhttp import Conn

# What the client must get: the origin's fields, names lower-cased, values byte-exact from their
# first non-blank byte (trailing blanks kept), in order; the gateway's own status reason.
EXPECTED_FIELDS = [
    name.lower() + b": " + value.lstrip(b" \t")
    for name, _, value in (line.partition(b":") for line in SHAPE_HEAD.split(b"\r\n")[1:] if line)
]
PER_REQUEST = (b"x-request-id:", b"content-length:", b"transfer-encoding:")


def _send(conn, path, method="GET"):
    conn.send(f"{method} {path} HTTP/1.1\r\nHost: gw\r\n\r\n".encode())


def _fields(resp) -> list:
    """The raw field lines the client got, less the per-request id and the framing."""
    lines = resp.raw_head.split(b"\r\n")[1:]
    return [line for line in lines if line and not line.lower().startswith(PER_REQUEST)]


def _target_record(origin, before, target):
    records = [r for r in origin.records(since=before) if r["target"] == target]
    assert len(records) == 1, records
    return records[0]


def _closed_by_gateway(origin, conn_id, within=1.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if conn_id in origin.conns()["closed"]:
            return True
        time.sleep(0.02)
    return False


def test_expected_fields_are_the_origins():
    assert EXPECTED_FIELDS[0] == b"content-type: text/plain; charset=utf-8"
    assert b"x-empty: " in EXPECTED_FIELDS and b"x-spaced: a  b \t " in EXPECTED_FIELDS
    assert len(EXPECTED_FIELDS) == 7


@pytest.mark.parametrize("query", [
    "how=whole", "how=split", "how=chunked",
    "how=whole&conn=close", "how=split&conn=close", "how=chunked&conn=close",
    "how=whole&conn=named", "how=split&conn=named", "how=chunked&conn=named",
])
def test_same_answer_however_it_comes(gw, query):
    with Conn(gw.port) as conn:
        _send(conn, f"/dp/v1/shape?{query}")
        resp = conn.response()
        assert resp.status == 201
        assert _fields(resp) == EXPECTED_FIELDS, resp.raw_head
        assert resp.body == SHAPE_BODY
        if "chunked" in query:
            assert resp.header("transfer-encoding") == "chunked" and resp.header("content-length") is None
        else:
            assert resp.header("content-length") == str(len(SHAPE_BODY))
            assert resp.header("transfer-encoding") is None
        assert b"x-shape-secret" not in resp.raw_head.lower()
        assert resp.header("connection") is None    # the origin's Connection is not passed on
        # the client connection is the gateway's own: it stays open whatever the origin said
        _send(conn, "/dp/v1/json/after-shape")
        after = conn.response()
        assert after.status == 200 and after.json()["target"] == "/api/json/after-shape"


@pytest.mark.parametrize("how", ["whole", "split"])
def test_kept_alive_answer_keeps_the_upstream_connection(gw, origin, how):
    """`capped` keeps at most one idle connection: answers in a row go on the same one."""
    before = origin.count()
    with Conn(gw.port) as conn:
        for i in range(3):
            _send(conn, f"/capped/shape?how={how}&i={i}")
            resp = conn.response()
            assert resp.status == 201 and resp.body == SHAPE_BODY
    ids = {_target_record(origin, before, f"/cap/shape?how={how}&i={i}")["conn"] for i in range(3)}
    assert len(ids) == 1, "the upstream connection was not reused after a kept-alive answer"


@pytest.mark.parametrize("how", ["whole", "split", "chunked"])
def test_connection_close_answer_drops_the_upstream_connection(gw, origin, how):
    """The answer says Connection: close (and the origin, to prove it, keeps the connection open):
    the gateway closes that connection and the next request goes on a new one."""
    before = origin.count()
    with Conn(gw.port) as conn:
        _send(conn, f"/capped/shape?how={how}&conn=close")
        resp = conn.response()
        assert resp.status == 201 and resp.body == SHAPE_BODY
        assert _fields(resp) == EXPECTED_FIELDS
        _send(conn, f"/capped/shape?how={how}&after=close")
        after = conn.response()
        assert after.status == 201 and after.body == SHAPE_BODY
    closing = _target_record(origin, before, f"/cap/shape?how={how}&conn=close")["conn"]
    following = _target_record(origin, before, f"/cap/shape?how={how}&after=close")["conn"]
    assert following != closing
    assert _closed_by_gateway(origin, closing), "the gateway kept a connection the answer said to close"


@pytest.mark.parametrize("query", ["how=whole", "how=split", "how=chunked"])
def test_head_answer_has_no_body(gw, query):
    """HEAD: the fields a GET gets and no body; the pipelined answer after it is intact."""
    with Conn(gw.port) as conn:
        _send(conn, f"/dp/v1/shape?{query}", method="HEAD")
        _send(conn, "/dp/v1/json/after-head")
        head = conn.response(head_request=True)
        assert head.status == 201
        assert _fields(head) == EXPECTED_FIELDS
        if "chunked" not in query:
            assert head.header("content-length") == str(len(SHAPE_BODY))
        # had the gateway sent a body after the HEAD answer, this would read it as a status line
        after = conn.response()
        assert after.status == 200 and after.json()["target"] == "/api/json/after-head"


def test_head_answer_with_a_body_sent_by_mistake(gw):
    """An origin that sends a body after its HEAD answer, in the same write: the whole bytes are
    not taken as an answer with a body; the client gets the head alone."""
    with Conn(gw.port) as conn:
        _send(conn, "/dp/v1/shape?how=whole&conn=headbody", method="HEAD")
        head = conn.response(head_request=True)
        assert head.status == 201
        assert _fields(head) == EXPECTED_FIELDS
        assert not conn.buf
        _send(conn, "/dp/v1/json/after-head-body")
        after = conn.response()
        assert after.status == 200 and after.json()["target"] == "/api/json/after-head-body"


def test_head_answer_with_a_body_sent_by_mistake_then_a_pipelined_request(gw):
    with Conn(gw.port, timeout=2) as conn:
        _send(conn, "/dp/v1/shape?how=whole&conn=headbody", method="HEAD")
        _send(conn, "/dp/v1/json/after-head-body")
        head = conn.response(head_request=True)
        assert head.status == 201
        after = conn.response()
        assert after.status == 200 and after.json()["target"] == "/api/json/after-head-body"


@pytest.mark.parametrize("how", ["whole", "split"])
def test_answer_whose_connection_names_content_length_is_still_framed(gw, how):
    with Conn(gw.port, timeout=2) as conn:
        _send(conn, f"/dp/v1/shape?how={how}&conn=length")
        head = conn._until(b"\r\n\r\n").lower()
    framed = (b"\r\ncontent-length: %d" % len(SHAPE_BODY) in head or b"\r\ntransfer-encoding: chunked" in head
              or b"\r\nconnection: close" in head)
    assert framed, head
