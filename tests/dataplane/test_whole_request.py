"""A request head that arrives whole in one read is parsed by the fast path (parse_whole_request);
the same bytes in two reads are parsed by httptools. Both must give the same answer, the same
head at the origin and the same connection fate; and one connection may switch between them."""
import time
import uuid

import pytest

from .rawhttp import Closed, Conn

PAUSE = 0.03   # between the two writes of a split request: the gateway reads the first part alone
OPEN, CLOSED = "open", "closed"   # what became of a connection after an answer


def _marker() -> str:
    return "w" + uuid.uuid4().hex[:12]


def _send(conn: Conn, raw: bytes, split: bool) -> None:
    if not split:
        conn.send(raw)      # one write: one read at the gateway, the fast path's
        return
    at = raw.index(b"\r\n") + 2 if raw.count(b"\r\n") > 2 else len(raw) // 2
    conn.send(raw[:at])     # a head cut after the request line: httptools starts on it ...
    time.sleep(PAUSE)
    conn.send(raw[at:])     # ... and reads the rest


def _comparable(resp) -> tuple:
    """What must not depend on how the head arrived: status, reason, headers and body
    (less what differs between any two requests: the origin's connection id and count in its
    echo, and so the echo's length; the id the gateway makes up for a request that brought none)."""
    headers = [(n, v) for n, v in resp.headers if n != "x-request-id" or v.startswith("rid-")]
    body = resp.body
    if "json" in (resp.header("content-type") or "") and body:
        data = resp.json()
        if isinstance(data, dict) and "conn" in data:   # the origin's echo: its length varies with these
            del data["conn"], data["n"]
            headers = [(n, v) for n, v in headers if n != "content-length"]
        body = data
    return resp.status, resp.reason, headers, body


def _fate(conn: Conn) -> str:
    """CLOSED when the gateway closes the connection after the answer, OPEN when it
    answers another request on it."""
    try:
        conn.send(b"GET /dp/v1/json/fate HTTP/1.1\r\nHost: gw\r\n\r\n")
        resp = conn.response()
    except (Closed, OSError):
        return CLOSED
    assert resp.status == 200, resp
    return OPEN


def _exchange(gw, origin, raw: bytes, split: bool, head_request: bool = False):
    """(comparable answer, connection fate, heads the origin received for it)."""
    before = origin.count()
    with Conn(gw.port) as conn:
        _send(conn, raw, split)
        resp = conn.response(head_request)
        if resp.header("connection") == "close":
            fate = CLOSED if conn.closed_by_peer() else "open after saying close"
        else:
            fate = _fate(conn)
    time.sleep(0.01)   # a request forwarded by mistake would show up by now
    heads = [r["head"] for r in origin.records(since=before) if "/fate " not in r["head"]]
    return _comparable(resp), fate, heads


def _same_whole_and_split(gw, origin, raw: bytes, head_request: bool = False):
    whole = _exchange(gw, origin, raw, False, head_request)
    split = _exchange(gw, origin, raw, True, head_request)
    assert whole == split
    return whole


def _request(marker: str, method: str = "GET", path: str = "json", extra: str = "") -> bytes:
    return (f"{method} /dp/v1/{path}/{marker}?q=1&r=a:b HTTP/1.1\r\nHost: gw.example\r\n"
            f"X-Request-Id: rid-{marker}\r\n{extra}\r\n").encode("latin-1")


# ---------------------------------------------------------------- answered: same either way

ANSWERED = [
    ("curl", "GET", "User-Agent: curl/8.5.0\r\nAccept: */*\r\n", OPEN),
    ("post-no-body", "POST", "Accept: */*\r\n", OPEN),
    ("put", "PUT", "", OPEN),
    ("delete", "DELETE", "", OPEN),
    ("patch", "PATCH", "X-A: 1\r\n", OPEN),
    ("options", "OPTIONS", "", OPEN),
    ("values-kept-as-sent", "GET", "X-Trailing: a b \t\r\nX-Empty:\r\nX-Tabs:\t\tv\r\nX-Dup: 1\r\nx-dup: 2\r\n",
     OPEN),
    ("hop-by-hop", "GET", "Connection: keep-alive, X-Conn-Named\r\nX-Conn-Named: secret\r\n"
                          "Keep-Alive: timeout=5\r\nTE: trailers\r\nProxy-Authorization: Basic eA==\r\n"
                          "Proxy-Connection: keep-alive\r\nX-Kept: yes\r\n", OPEN),
    ("forwarded-for", "GET", "X-Forwarded-For: 203.0.113.7\r\nX-Forwarded-For: 198.51.100.2\r\n"
                             "X-Forwarded-Host: evil\r\n", OPEN),
    ("expect-continue-no-body", "GET", "Expect: 100-continue\r\n", OPEN),
    ("connection-close", "GET", "Connection: close\r\n", CLOSED),
    ("connection-close-listed", "GET", "Connection: Keep-Alive, CLOSE\r\n", CLOSED),
    ("connection-close-tab", "GET", "Connection: x,\tclose\t\r\n", CLOSED),
    ("connection-two-headers", "GET", "Connection: keep-alive\r\nConnection: te, close\r\n", CLOSED),
    ("connection-not-close", "GET", "Connection: closed, close-ish, \"close\", close x\r\n", OPEN),
    ("at-header-count-limit", "GET", "".join(f"X-H{i}: {i}\r\n" for i in range(28)), OPEN),  # 30 with the 2 above
]


@pytest.mark.parametrize("method,extra,expected_fate", [pytest.param(m, e, f, id=i) for i, m, e, f in ANSWERED])
def test_answered_the_same_whole_or_split(gw, origin, method, extra, expected_fate):
    marker = _marker()
    answer, fate, heads = _same_whole_and_split(gw, origin, _request(marker, method, extra=extra))
    status, _, headers, body = answer
    assert status == 200, answer
    assert body["method"] == method and body["target"] == f"/api/json/{marker}?q=1&r=a:b"
    assert len(heads) == 1 and heads[0].startswith(f"{method} /api/json/{marker}?q=1&r=a:b HTTP/1.1\r\n")
    assert fate == expected_fate
    assert (dict(headers).get("connection") == "close") == (expected_fate == CLOSED)


def test_header_values_reach_the_origin_as_sent(gw, origin):
    """The fast path's values (blanks after the colon dropped, blanks at the end kept, duplicates
    kept in order) are what the origin gets, as with httptools."""
    marker = _marker()
    raw = _request(marker, extra="X-Trailing:  a b \t\r\nX-Dup: 1\r\nx-dup: 2\r\nX-Empty:\r\n")
    _, _, heads = _same_whole_and_split(gw, origin, raw)
    assert "\r\nx-trailing: a b \t\r\nx-dup: 1\r\nx-dup: 2\r\nx-empty: \r\n" in heads[0], heads[0]


def test_head_method_the_same_whole_or_split(gw, origin):
    marker = _marker()
    answer, fate, heads = _same_whole_and_split(gw, origin, _request(marker, "HEAD"), head_request=True)
    assert answer[0] == 200 and answer[3] == b""
    assert fate == OPEN
    assert heads[0].startswith(f"HEAD /api/json/{marker}")


def test_not_found_the_same_whole_or_split(gw, origin):
    raw = b"GET /nowhere/at/all?x=1 HTTP/1.1\r\nHost: gw\r\nAccept: */*\r\n\r\n"
    answer, fate, heads = _same_whole_and_split(gw, origin, raw)
    assert answer[0] == 404 and answer[3] == {"statusCode": 404, "message": "Resource not found"}
    assert fate == OPEN
    assert heads == []


# ---------------------------------------------------------------- refused: same either way

REFUSED = [
    ("uri-too-long", lambda m: f"GET /dp/v1/json/{m}/{'u' * 1100} HTTP/1.1\r\nHost: gw\r\n\r\n", 414),
    ("header-bytes", lambda m: f"GET /dp/v1/json/{m} HTTP/1.1\r\nHost: gw\r\nX-Big: {'b' * 4200}\r\n\r\n", 431),
    ("header-count", lambda m: f"GET /dp/v1/json/{m} HTTP/1.1\r\nHost: gw\r\n"
                               + "".join(f"X-H{i}: {i}\r\n" for i in range(30)) + "\r\n", 431),
    ("duplicate-host", lambda m: f"GET /dp/v1/json/{m} HTTP/1.1\r\nHost: gw\r\nX-A: 1\r\nHost: gw\r\n\r\n", 400),
    ("missing-host", lambda m: f"GET /dp/v1/json/{m} HTTP/1.1\r\nX-A: 1\r\n\r\n", 400),
    ("expect-foo", lambda m: f"GET /dp/v1/json/{m} HTTP/1.1\r\nHost: gw\r\nExpect: foo\r\n\r\n", 417),
    ("lower-case-method", lambda m: f"get /dp/v1/json/{m} HTTP/1.1\r\nHost: gw\r\n\r\n", 400),
    ("malformed-path", lambda m: f"GET /dp/v1/../../../{m} HTTP/1.1\r\nHost: gw\r\n\r\n", 400),
]


@pytest.mark.parametrize("make,status", [pytest.param(f, s, id=i) for i, f, s in REFUSED])
def test_refused_the_same_whole_or_split(gw, origin, make, status):
    raw = make(_marker()).encode()
    answer, fate, heads = _same_whole_and_split(gw, origin, raw)
    assert answer[0] == status, answer
    assert answer[3]["statusCode"] == status
    assert dict(answer[2]).get("connection") == "close"
    assert fate == CLOSED
    assert heads == []


# ---------------------------------------------------------------- one connection, both parsers

def test_whole_request_then_request_with_body(gw, origin):
    """Fast path, then httptools for a body, then the fast path again, on one connection."""
    before = origin.count()
    m = _marker()
    with Conn(gw.port) as conn:
        conn.send(f"GET /dp/v1/json/{m}/1 HTTP/1.1\r\nHost: gw\r\n\r\n".encode())
        first = conn.response()
        conn.send(f"POST /dp/v1/json/{m}/2 HTTP/1.1\r\nHost: gw\r\nContent-Length: 5\r\n\r\nhello".encode())
        second = conn.response()
        conn.send(f"DELETE /dp/v1/json/{m}/3 HTTP/1.1\r\nHost: gw\r\n\r\n".encode())
        third = conn.response()
    assert [r.status for r in (first, second, third)] == [200, 200, 200]
    assert [r.json()["target"] for r in (first, second, third)] == [
        f"/api/json/{m}/1", f"/api/json/{m}/2", f"/api/json/{m}/3"]
    assert second.json()["body"] == "hello" and second.json()["body_len"] == 5
    assert third.json()["method"] == "DELETE" and third.json()["body_len"] == 0
    records = origin.records(since=before)
    assert [(r["method"], r["body_raw"]) for r in records] == [("GET", ""), ("POST", "hello"), ("DELETE", "")]


def test_chunked_body_after_whole_request(gw, origin):
    m = _marker()
    with Conn(gw.port) as conn:
        conn.send(f"GET /dp/v1/json/{m}/1 HTTP/1.1\r\nHost: gw\r\n\r\n".encode())
        assert conn.response().status == 200
        conn.send(f"PUT /dp/v1/json/{m}/2 HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n\r\n"
                  f"3\r\nabc\r\n0\r\n\r\n".encode())
        resp = conn.response()
        assert resp.status == 200 and resp.json()["body"] == "abc"
        conn.send(f"GET /dp/v1/json/{m}/3 HTTP/1.1\r\nHost: gw\r\n\r\n".encode())
        assert conn.response().json()["target"] == f"/api/json/{m}/3"


def test_two_pipelined_in_one_write_then_whole(gw, origin):
    """Two heads in one read are not taken (httptools reads both, answered in order); the
    next single head on the connection is the fast path's again."""
    before = origin.count()
    m = _marker()
    with Conn(gw.port) as conn:
        conn.send(f"GET /dp/v1/slow/{m}/1?ms=100 HTTP/1.1\r\nHost: gw\r\n\r\n"
                  f"GET /dp/v1/json/{m}/2 HTTP/1.1\r\nHost: gw\r\n\r\n".encode())
        answers = [conn.response(), conn.response()]
        conn.send(f"GET /dp/v1/json/{m}/3 HTTP/1.1\r\nHost: gw\r\n\r\n".encode())
        answers.append(conn.response())
    assert [a.status for a in answers] == [200, 200, 200]
    assert [a.json()["target"] for a in answers] == [
        f"/api/slow/{m}/1?ms=100", f"/api/json/{m}/2", f"/api/json/{m}/3"]
    assert [r["target"] for r in origin.records(since=before)] == [
        f"/api/slow/{m}/1?ms=100", f"/api/json/{m}/2", f"/api/json/{m}/3"]


def test_whole_request_while_one_is_being_answered(gw, origin):
    """A second whole head in its own read while the first is still at the backend: queued
    (the fast path's take goes through the same pipelining) and answered after it."""
    m = _marker()
    with Conn(gw.port) as conn:
        conn.send(f"GET /dp/v1/slow/{m}/1?ms=300 HTTP/1.1\r\nHost: gw\r\n\r\n".encode())
        time.sleep(PAUSE)
        conn.send(f"GET /dp/v1/json/{m}/2 HTTP/1.1\r\nHost: gw\r\n\r\n".encode())
        time.sleep(PAUSE)
        conn.send(f"GET /dp/v1/json/{m}/3 HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n".encode())
        answers = [conn.response() for _ in range(3)]
        assert [a.json()["target"] for a in answers] == [
            f"/api/slow/{m}/1?ms=300", f"/api/json/{m}/2", f"/api/json/{m}/3"]
        assert [a.header("connection") for a in answers] == [None, None, "close"]
        assert conn.closed_by_peer()


def test_whole_request_after_split_one(gw, origin):
    """httptools finished a split head; the next whole head is the fast path's."""
    m = _marker()
    with Conn(gw.port) as conn:
        _send(conn, f"GET /dp/v1/json/{m}/1 HTTP/1.1\r\nHost: gw\r\nX-A: 1\r\n\r\n".encode(), split=True)
        assert conn.response().json()["target"] == f"/api/json/{m}/1"
        conn.send(f"GET /dp/v1/json/{m}/2 HTTP/1.1\r\nHost: gw\r\n\r\n".encode())
        assert conn.response().json()["target"] == f"/api/json/{m}/2"


def test_refused_whole_request_after_good_one(gw, origin):
    """A whole head refused by the gateway's checks on a kept-alive connection: answered, closed."""
    before = origin.count()
    m = _marker()
    with Conn(gw.port) as conn:
        conn.send(f"GET /dp/v1/json/{m}/1 HTTP/1.1\r\nHost: gw\r\n\r\n".encode())
        assert conn.response().status == 200
        conn.send(f"GET /dp/v1/json/{m}/2 HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n".encode())
        resp = conn.response()
        assert resp.status == 400 and resp.header("connection") == "close"
        assert conn.closed_by_peer()
    assert [r["target"] for r in origin.records(since=before)] == [f"/api/json/{m}/1"]


# ---------------------------------------------------------------- Proxy-Connection

def test_proxy_connection_close_same_whole_or_split(gw, origin):
    """llhttp counts Proxy-Connection as Connection: the connection closes however the head arrives."""
    raw = _request(_marker(), extra="Proxy-Connection: close\r\n")
    whole = _exchange(gw, origin, raw, False)
    split = _exchange(gw, origin, raw, True)
    assert split[1] == CLOSED      # httptools: llhttp's should_keep_alive() is False
    assert whole[1] == CLOSED
