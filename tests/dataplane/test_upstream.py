"""The upstream side: pooled connections going stale, broken or silent backends."""
import time

import pytest

from .rawhttp import Conn

UNAVAILABLE = {"statusCode": 502, "message": "Backend service unavailable"}
TIMED_OUT = {"statusCode": 504, "message": "Backend service timed out"}


def _get(port, path, method="GET", extra=b""):
    with Conn(port) as conn:
        conn.send(f"{method} {path} HTTP/1.1\r\nHost: gw\r\n".encode() + extra + b"\r\n")
        return conn.response()


def test_pooled_connection_closed_by_origin_while_idle(gw, origin):
    """The origin closes a kept-alive connection after answering; the next request still works."""
    before = origin.count()
    first = _get(gw.port, "/stale/json/idle-close?linger_close=30")
    assert first.status == 200
    time.sleep(0.3)
    second = _get(gw.port, "/stale/json/after-idle-close")
    assert second.status == 200
    records = origin.records(since=before)
    assert [r["target"] for r in records] == ["/st/json/idle-close?linger_close=30", "/st/json/after-idle-close"]
    assert records[0]["conn"] != records[1]["conn"]


@pytest.mark.parametrize("method", ["GET", "HEAD", "DELETE"])
def test_stale_pooled_connection_retried_once(gw, origin, method):
    """A reused connection that closes before any byte of the answer: retried on a fresh one."""
    warm = _get(gw.port, "/stale/json/warm")
    assert warm.status == 200
    before = origin.count()
    resp = _get(gw.port, "/stale/stale/retry", method=method) if method != "HEAD" else None
    if method == "HEAD":
        with Conn(gw.port) as conn:
            conn.send(b"HEAD /stale/stale/retry HTTP/1.1\r\nHost: gw\r\n\r\n")
            resp = conn.response(head_request=True)
    assert resp.status == 200
    records = origin.records(since=before)
    assert [r["target"] for r in records] == ["/st/stale/retry", "/st/stale/retry"]
    assert records[0]["n"] > 0            # sent on the pooled connection, which the origin dropped
    assert records[1]["n"] == 0           # then once more on a new connection
    assert records[0]["conn"] != records[1]["conn"]


def test_stale_connection_not_retried_for_post(gw, origin):
    assert _get(gw.port, "/stale/json/warm").status == 200
    before = origin.count()
    resp = _get(gw.port, "/stale/stale/post", method="POST", extra=b"Content-Length: 0\r\n")
    assert resp.status == 502
    assert resp.json() == UNAVAILABLE
    assert [r["target"] for r in origin.records(since=before)] == ["/st/stale/post"]


def test_retry_happens_only_once(gw, origin):
    assert _get(gw.port, "/stale/json/warm").status == 200
    before = origin.count()
    resp = _get(gw.port, "/stale/close/twice")
    assert resp.status == 502
    assert resp.json() == UNAVAILABLE
    time.sleep(0.1)
    assert [r["target"] for r in origin.records(since=before)] == ["/st/close/twice"] * 2


@pytest.mark.parametrize("mode", ["twocl", "clte", "barecr", "obsfold"])
def test_malformed_backend_response_is_502(gw, origin, mode):
    with Conn(gw.port) as conn:
        conn.send(f"GET /dp/v1/{mode} HTTP/1.1\r\nHost: gw\r\n\r\n".encode())
        resp = conn.response()
        assert resp.status == 502, (resp.status, resp.raw_head, resp.body)
        assert resp.json() == UNAVAILABLE
        assert b"hello" not in resp.raw_head + resp.body
        assert resp.header("x-bad") is None and resp.header("x-fold") is None
        # the client connection itself is fine
        conn.send(b"GET /dp/v1/json/after-malformed HTTP/1.1\r\nHost: gw\r\n\r\n")
        assert conn.response().status == 200


def test_backend_closes_before_answering_is_502(gw):
    resp = _get(gw.port, "/dp/v1/close/now")
    assert resp.status == 502
    assert resp.json() == UNAVAILABLE


def test_backend_down_is_502(gw):
    started = time.monotonic()
    resp = _get(gw.port, "/down/anything")
    assert resp.status == 502
    assert resp.json() == UNAVAILABLE
    assert time.monotonic() - started < 1.0


def test_backend_silent_is_504(gw, origin):
    started = time.monotonic()
    resp = _get(gw.port, "/quick/silent")
    elapsed = time.monotonic() - started
    assert resp.status == 504
    assert resp.json() == TIMED_OUT
    assert 0.4 < elapsed < 1.5, elapsed


def test_slow_backend_within_timeout_is_answered(gw):
    resp = _get(gw.port, "/quick/slow?ms=250")
    assert resp.status == 200
    assert resp.json()["target"] == "/quick/slow?ms=250"


def test_connect_timeout_is_504(gw):
    started = time.monotonic()
    resp = _get(gw.port, "/blackhole/x")
    elapsed = time.monotonic() - started
    assert resp.status == 504
    assert resp.json() == TIMED_OUT
    assert 0.25 < elapsed < 1.0, elapsed


def test_gateway_errors_echo_request_id(gw):
    resp = _get(gw.port, "/down/anything", extra=b"X-Request-Id: down-rid-1\r\n")
    assert resp.status == 502
    assert resp.header("x-request-id") == "down-rid-1"
    resp = _get(gw.port, "/quick/silent", extra=b"X-Request-Id: !bad!\r\n")
    assert resp.status == 504
    assert resp.header("x-request-id") not in (None, "!bad!")


def test_pool_idle_cap_and_idle_timeout(gw, origin):
    """max_idle_connections 1, idle_timeout 400 ms: of three connections one is kept, then closed."""
    before = origin.count()
    conns = [Conn(gw.port) for _ in range(3)]
    for i, conn in enumerate(conns):
        conn.send(f"GET /capped/slow/{i}?ms=200 HTTP/1.1\r\nHost: gw\r\n\r\n".encode())
    assert [conn.response().status for conn in conns] == [200, 200, 200]
    for conn in conns:
        conn.close()
    upstream = {r["conn"] for r in origin.records(since=before)}
    assert len(upstream) == 3
    time.sleep(0.15)
    assert len(upstream & set(origin.conns()["closed"])) == 2, "the idle cap was not applied"
    time.sleep(0.9)
    assert upstream <= set(origin.conns()["closed"]), "the idle connection outlived idle_timeout"
