"""Hardened request parsing, limits and client timeouts: every bad request is answered, the
connection closed, and nothing reaches the backend."""
import select
import time
import uuid

import pytest

from .rawhttp import Closed, Conn, roundtrip


def _marker() -> str:
    return "m" + uuid.uuid4().hex[:12]


def _refused(gateway, origin, raw: bytes, statuses, *, head_may_reach=False):
    """Send `raw`; the answer must be one of `statuses` with a JSON error body, the
    connection must be closed, and the backend must not have received the request."""
    before = origin.count()
    resp, closed = roundtrip(gateway.port, raw)
    assert resp.status in statuses, (resp.status, resp.body)
    assert resp.json()["statusCode"] == resp.status
    assert resp.header("connection") == "close"
    assert closed, "the gateway kept the connection open after refusing the request"
    time.sleep(0.05)
    seen = origin.records(since=before)
    if head_may_reach:
        # the head of a streamed request may have been sent on; its body never completes
        assert not [r for r in seen if r["complete"]], seen
    else:
        assert seen == [], seen
    return resp


# (id, request with {m} for a unique path segment, accepted statuses)
BAD_REQUESTS = [
    ("cl-and-te", "POST /dp/v1/json/{m} HTTP/1.1\r\nHost: gw\r\nContent-Length: 5\r\n"
                  "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", {400}),
    ("te-and-cl", "POST /dp/v1/json/{m} HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n"
                  "Content-Length: 5\r\n\r\n5\r\nhello\r\n0\r\n\r\n", {400}),
    ("duplicate-cl", "POST /dp/v1/json/{m} HTTP/1.1\r\nHost: gw\r\nContent-Length: 5\r\n"
                     "Content-Length: 5\r\n\r\nhello", {400}),
    ("conflicting-cl", "POST /dp/v1/json/{m} HTTP/1.1\r\nHost: gw\r\nContent-Length: 5\r\n"
                       "Content-Length: 6\r\n\r\nhello!", {400}),
    ("cl-list", "POST /dp/v1/json/{m} HTTP/1.1\r\nHost: gw\r\nContent-Length: 5, 5\r\n\r\nhello", {400}),
    ("cl-signed", "POST /dp/v1/json/{m} HTTP/1.1\r\nHost: gw\r\nContent-Length: +5\r\n\r\nhello", {400}),
    ("te-gzip", "POST /dp/v1/json/{m} HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: gzip\r\n\r\nxxxxx", {400, 501}),
    ("te-chunked-not-final", "POST /dp/v1/json/{m} HTTP/1.1\r\nHost: gw\r\n"
                             "Transfer-Encoding: chunked, gzip\r\n\r\n5\r\nhello\r\n0\r\n\r\n", {400, 501}),
    ("te-gzip-chunked", "POST /dp/v1/json/{m} HTTP/1.1\r\nHost: gw\r\n"
                        "Transfer-Encoding: gzip, chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", {400, 501}),
    ("te-twice", "POST /dp/v1/json/{m} HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n"
                 "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", {400}),
    ("obs-fold", "GET /dp/v1/json/{m} HTTP/1.1\r\nHost: gw\r\nX-A: a\r\n folded\r\n\r\n", {400}),
    ("cr-in-value", "GET /dp/v1/json/{m} HTTP/1.1\r\nHost: gw\r\nX-A: a\rb\r\n\r\n", {400}),
    ("lf-in-value", "GET /dp/v1/json/{m} HTTP/1.1\r\nHost: gw\r\nX-A: a\nb\r\n\r\n", {400}),
    ("nul-in-value", "GET /dp/v1/json/{m} HTTP/1.1\r\nHost: gw\r\nX-A: a\x00b\r\n\r\n", {400}),
    ("space-in-name", "GET /dp/v1/json/{m} HTTP/1.1\r\nHost: gw\r\nX A: b\r\n\r\n", {400}),
    ("space-before-colon", "GET /dp/v1/json/{m} HTTP/1.1\r\nHost: gw\r\nX-A : b\r\n\r\n", {400}),
    ("nul-in-name", "GET /dp/v1/json/{m} HTTP/1.1\r\nHost: gw\r\nX\x00A: b\r\n\r\n", {400}),
    ("cr-in-name", "GET /dp/v1/json/{m} HTTP/1.1\r\nHost: gw\r\nX\rA: b\r\n\r\n", {400}),
    ("missing-host", "GET /dp/v1/json/{m} HTTP/1.1\r\nX-A: b\r\n\r\n", {400}),
    ("duplicate-host", "GET /dp/v1/json/{m} HTTP/1.1\r\nHost: gw\r\nHost: other\r\n\r\n", {400}),
    ("invalid-method", "G@T /dp/v1/json/{m} HTTP/1.1\r\nHost: gw\r\n\r\n", {400}),
    ("lower-case-method", "get /dp/v1/json/{m} HTTP/1.1\r\nHost: gw\r\n\r\n", {400}),
    ("unknown-method", "FROB /dp/v1/json/{m} HTTP/1.1\r\nHost: gw\r\n\r\n", {400, 501}),
    ("http-2.0", "GET /dp/v1/json/{m} HTTP/2.0\r\nHost: gw\r\n\r\n", {505}),
    ("http-1.2", "GET /dp/v1/json/{m} HTTP/1.2\r\nHost: gw\r\n\r\n", {505}),
    ("http-3.0", "GET /dp/v1/json/{m} HTTP/3.0\r\nHost: gw\r\n\r\n", {505}),
    ("absolute-form", "GET http://127.0.0.1/dp/v1/json/{m} HTTP/1.1\r\nHost: gw\r\n\r\n", {400}),
    ("asterisk-form", "OPTIONS * HTTP/1.1\r\nHost: gw\r\nX-M: {m}\r\n\r\n", {400}),
    ("connect", "CONNECT 127.0.0.1:1 HTTP/1.1\r\nHost: 127.0.0.1:1\r\nX-M: {m}\r\n\r\n", {501}),
    ("trace", "TRACE /dp/v1/json/{m} HTTP/1.1\r\nHost: gw\r\n\r\n", {405}),
    ("upgrade", "GET /dp/v1/json/{m} HTTP/1.1\r\nHost: gw\r\nConnection: Upgrade\r\n"
                "Upgrade: websocket\r\n\r\n", {501}),
    ("space-in-target", "GET /dp/v1/json/{m} x HTTP/1.1\r\nHost: gw\r\n\r\n", {400}),
    ("encoded-slash", "GET /dp/v1/json/{m}%2f..%2f..%2fsecret HTTP/1.1\r\nHost: gw\r\n\r\n", {400}),
    ("above-root", "GET /dp/v1/../../../{m} HTTP/1.1\r\nHost: gw\r\n\r\n", {400}),
]


@pytest.mark.parametrize("raw,statuses", [pytest.param(r, s, id=i) for i, r, s in BAD_REQUESTS])
def test_bad_request_refused_and_closed(gw, origin, raw, statuses):
    _refused(gw, origin, raw.format(m=_marker()).encode("latin-1"), statuses)


@pytest.mark.parametrize("chunks", [
    pytest.param("zz\r\nhello\r\n0\r\n\r\n", id="non-hex-size"),
    pytest.param("-5\r\nhello\r\n0\r\n\r\n", id="negative-size"),
    pytest.param("fffffffffffffffffff\r\nhello\r\n0\r\n\r\n", id="overflowing-size"),
    pytest.param("5\r\nhelloXX0\r\n\r\n", id="missing-crlf-after-data"),
])
def test_bad_chunk_refused_and_closed(gw, origin, chunks):
    raw = (f"POST /dp/v1/json/{_marker()} HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n\r\n"
           + chunks).encode()
    _refused(gw, origin, raw, {400}, head_may_reach=True)


def test_bad_chunk_after_good_ones_answered_promptly(gw, origin):
    """The body turns bad after the backend got the head: 400 at once, not a backend timeout."""
    before = origin.count()
    with Conn(gw.port) as conn:
        conn.send(b"POST /dp/v1/json/late HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n\r\n"
                  b"5\r\nhello\r\n")
        time.sleep(0.2)
        started = time.monotonic()
        conn.send(b"zz\r\n")
        resp = conn.response()
        assert resp.status == 400
        assert time.monotonic() - started < 0.5
        assert conn.closed_by_peer()
    assert not [r for r in origin.records(since=before) if r["complete"]]


def test_pipelined_bad_request_answers_good_ones_first(gw, origin):
    before = origin.count()
    m = _marker()
    with Conn(gw.port) as conn:
        conn.send(f"GET /dp/v1/json/{m}/1 HTTP/1.1\r\nHost: gw\r\n\r\n"
                  f"POST /dp/v1/json/{m}/2 HTTP/1.1\r\nHost: gw\r\nContent-Length: 1\r\n"
                  f"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
                  f"GET /dp/v1/json/{m}/3 HTTP/1.1\r\nHost: gw\r\n\r\n".encode())
        first = conn.response()
        assert first.status == 200 and first.json()["target"] == f"/api/json/{m}/1"
        second = conn.response()
        assert second.status == 400
        assert conn.closed_by_peer()
    time.sleep(0.05)
    assert [r["target"] for r in origin.records(since=before)] == [f"/api/json/{m}/1"]


def test_unknown_path_is_404_json(gw, origin):
    before = origin.count()
    with Conn(gw.port) as conn:
        conn.send(b"GET /nowhere/at/all HTTP/1.1\r\nHost: gw\r\n\r\n")
        resp = conn.response()
        assert resp.status == 404
        assert resp.header("content-type").startswith("application/json")
        assert resp.json() == {"statusCode": 404, "message": "Resource not found"}
        # a 404 is an ordinary answer: the connection stays usable
        conn.send(b"GET /dp/v1/json/after404 HTTP/1.1\r\nHost: gw\r\n\r\n")
        assert conn.response().status == 200
    assert [r["target"] for r in origin.records(since=before)] == ["/api/json/after404"]


# ---------------------------------------------------------------- limits (strict gateway)

def test_header_bytes_limit_431(strict_gw, origin):
    raw = f"GET /dp/v1/json/{_marker()} HTTP/1.1\r\nHost: gw\r\nX-Big: {'a' * 1500}\r\n\r\n".encode()
    _refused(strict_gw, origin, raw, {431})


def test_header_count_limit_431(strict_gw, origin):
    many = "".join(f"X-H{i}: v\r\n" for i in range(12))
    raw = f"GET /dp/v1/json/{_marker()} HTTP/1.1\r\nHost: gw\r\n{many}\r\n".encode()
    _refused(strict_gw, origin, raw, {431})


def test_uri_limit_414(strict_gw, origin):
    raw = f"GET /dp/v1/json/{_marker()}/{'a' * 300} HTTP/1.1\r\nHost: gw\r\n\r\n".encode()
    _refused(strict_gw, origin, raw, {414})


def test_content_length_over_limit_413(strict_gw, origin):
    raw = (f"POST /dp/v1/json/{_marker()} HTTP/1.1\r\nHost: gw\r\nContent-Length: 2000\r\n\r\n"
           .encode() + b"x" * 2000)
    _refused(strict_gw, origin, raw, {413})


def test_chunked_body_over_limit_413(strict_gw, origin):
    piece = b"800\r\n" + b"x" * 0x800 + b"\r\n"
    raw = (f"POST /dp/v1/json/{_marker()} HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n\r\n"
           .encode() + piece + b"0\r\n\r\n")
    _refused(strict_gw, origin, raw, {413}, head_may_reach=True)


def test_body_at_limit_passes(strict_gw, origin):
    before = origin.count()
    raw = b"POST /dp/v1/json/at-limit HTTP/1.1\r\nHost: gw\r\nContent-Length: 1024\r\n\r\n" + b"y" * 1024
    with Conn(strict_gw.port) as conn:
        conn.send(raw)
        resp = conn.response()
    assert resp.status == 200
    assert resp.json()["body_len"] == 1024
    assert [r["body_len"] for r in origin.records(since=before)] == [1024]


# ---------------------------------------------------------------- client timeouts (1 s)

def test_slowloris_head_deadline_408(gw, origin):
    """A head trickled byte by byte is cut off at the head deadline, not at each byte."""
    before = origin.count()
    with Conn(gw.port) as conn:
        started = time.monotonic()
        conn.send(b"GET /dp/v1/json/slowloris HTTP/1.1\r\nHost: gw\r\n")
        while time.monotonic() - started < 4:
            try:
                conn.send(b"X")
            except OSError:
                break
            ready, _, _ = select.select([conn.sock], [], [], 0.15)
            if ready:
                break
        resp = conn.response()
        elapsed = time.monotonic() - started
        assert resp.status == 408, resp
        assert 0.8 < elapsed < 2.0, elapsed
        assert conn.closed_by_peer(3.0)
    assert origin.records(since=before) == []


def test_silent_connection_closed_at_head_deadline(gw):
    with Conn(gw.port) as conn:
        started = time.monotonic()
        try:
            resp = conn.response()
            assert resp.status == 408
            assert conn.closed_by_peer(3.0)
        except Closed:
            pass
        assert time.monotonic() - started < 2.0


def test_keepalive_idle_timeout_closes(gw):
    with Conn(gw.port) as conn:
        conn.send(b"GET /dp/v1/json/idle HTTP/1.1\r\nHost: gw\r\n\r\n")
        assert conn.response().status == 200
        started = time.monotonic()
        assert conn.closed_by_peer(4.0)
        assert 0.7 < time.monotonic() - started < 2.0


def test_body_read_idle_timeout_408(gw, origin):
    before = origin.count()
    with Conn(gw.port) as conn:
        conn.send(b"POST /dp/v1/json/body-idle HTTP/1.1\r\nHost: gw\r\nContent-Length: 10\r\n\r\nabc")
        started = time.monotonic()
        resp = conn.response()
        assert resp.status == 408
        assert 0.7 < time.monotonic() - started < 2.0
        assert conn.closed_by_peer(3.0)
    time.sleep(0.1)
    assert not [r for r in origin.records(since=before) if r["complete"]]


def test_slow_backend_reading_is_not_a_slow_client(gw, origin):
    """Reading from the client paused by back-pressure does not count as the client idling."""
    body = b"z" * (32 * 1024 * 1024)  # more than the kernel buffers hold
    with Conn(gw.port, timeout=10) as conn:
        conn.send(b"POST /dp/v1/sink?ms=1600 HTTP/1.1\r\nHost: gw\r\nContent-Length: %d\r\n\r\n" % len(body))
        try:
            conn.sock.sendall(body)
        except (BrokenPipeError, ConnectionResetError):
            pass
        resp = conn.response()
    assert resp.status == 200, resp
    assert resp.json()["body_len"] == len(body)
