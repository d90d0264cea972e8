"""Forwarding through `gwcore run`: keep-alive, pipelining, bodies both ways, and the request rewrite."""
import http.client
import json
import re
import subprocess
import uuid

import pytest

from .rawhttp import Conn


def _origin_headers(record) -> list:
    """(lower-case name, value) pairs of the head the origin received."""
    lines = record["head"].split("\r\n")[1:]
    return [(n.strip().lower(), v.strip()) for n, _, v in (line.partition(":") for line in lines if line)]


def _names(record) -> set:
    return {n for n, _ in _origin_headers(record)}


def _values(record, name) -> list:
    return [v for n, v in _origin_headers(record) if n == name]


def _last(origin, before, count=1):
    records = origin.records(since=before)
    assert len(records) == count, records
    return records[-1] if count == 1 else records


# ---------------------------------------------------------------- connections

def test_keepalive_both_sides(gw, origin):
    before = origin.count()
    client = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=5)
    client.connect()
    sock = client.sock
    for i in range(5):
        client.request("GET", f"/dp/v1/json/ka/{i}")
        resp = client.getresponse()
        assert resp.status == 200
        assert json.loads(resp.read())["target"] == f"/api/json/ka/{i}"
        assert client.sock is sock, "the client connection was not kept alive"
    client.close()
    records = origin.records(since=before)
    assert [r["target"] for r in records] == [f"/api/json/ka/{i}" for i in range(5)]
    assert len({r["conn"] for r in records}) == 1, "the upstream connection was not reused"


def test_pipelining_answers_in_order(gw, origin):
    before = origin.count()
    with Conn(gw.port) as conn:
        conn.send(b"GET /dp/v1/slow/p1?ms=300 HTTP/1.1\r\nHost: gw\r\n\r\n"
                  b"GET /dp/v1/json/p2 HTTP/1.1\r\nHost: gw\r\n\r\n"
                  b"POST /dp/v1/slow/p3?ms=50 HTTP/1.1\r\nHost: gw\r\nContent-Length: 3\r\n\r\nabc")
        answers = [conn.response() for _ in range(3)]
        assert [a.status for a in answers] == [200, 200, 200]
        assert [a.json()["target"] for a in answers] == [
            "/api/slow/p1?ms=300", "/api/json/p2", "/api/slow/p3?ms=50"]
        assert answers[2].json()["body_len"] == 3
        # still open for more
        conn.send(b"GET /dp/v1/json/p4 HTTP/1.1\r\nHost: gw\r\n\r\n")
        assert conn.response().json()["target"] == "/api/json/p4"
    assert len(origin.records(since=before)) == 4


def test_connection_close_from_client(gw, origin):
    before = origin.count()
    with Conn(gw.port) as conn:
        conn.send(b"GET /dp/v1/json/cc HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n")
        resp = conn.response()
        assert resp.status == 200
        assert resp.header("connection") == "close"
        assert conn.closed_by_peer()
    record = _last(origin, before)
    assert "connection" not in _names(record)


def test_http10_client(gw, origin):
    before = origin.count()
    with Conn(gw.port) as conn:
        conn.send(b"GET /dp/v1/json/h10 HTTP/1.0\r\n\r\n")
        resp = conn.response()
        assert resp.status == 200
        assert resp.json()["target"] == "/api/json/h10"
        assert conn.closed_by_peer()
    record = _last(origin, before)
    # the backend always gets HTTP/1.1 with the backend's Host
    assert record["head"].startswith("GET /api/json/h10 HTTP/1.1\r\n")
    assert _values(record, "host") == [f"127.0.0.1:{origin.port}"]


def test_http10_keepalive(gw):
    with Conn(gw.port) as conn:
        for i in range(2):
            conn.send(b"GET /dp/v1/json/h10ka HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            resp = conn.response()
            assert resp.status == 200
            assert resp.header("connection").lower() == "keep-alive"
            assert resp.header("content-length") is not None


def test_http10_client_gets_chunked_origin_body_unchunked(gw):
    with Conn(gw.port) as conn:
        conn.send(b"GET /dp/v1/chunked HTTP/1.0\r\n\r\n")
        resp = conn.response()
        assert resp.status == 200
        assert resp.header("transfer-encoding") is None
        assert resp.body == b"hello chunked world"
        assert conn.closed_by_peer()


# ---------------------------------------------------------------- bodies

def test_content_length_upload(gw, origin):
    before = origin.count()
    client = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=5)
    client.request("POST", "/dp/v1/json/upload", body=b'{"a": 1}', headers={"Content-Type": "application/json"})
    resp = client.getresponse()
    assert resp.status == 200
    assert json.loads(resp.read())["body_len"] == 8
    client.close()
    record = _last(origin, before)
    assert record["body_raw"] == '{"a": 1}'
    assert _values(record, "content-length") == ["8"]


def test_chunked_upload(gw, origin):
    before = origin.count()
    client = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=5)
    pieces = [b"first,", b"second,", b"third"]
    client.request("PUT", "/dp/v1/json/chunked-up", body=iter(pieces), encode_chunked=True,
                   headers={"Transfer-Encoding": "chunked"})
    resp = client.getresponse()
    assert resp.status == 200
    assert json.loads(resp.read())["body_len"] == len(b"".join(pieces))
    client.close()
    record = _last(origin, before)
    assert _values(record, "transfer-encoding") == ["chunked"]
    assert "content-length" not in _names(record)
    raw = record["body_raw"].encode("latin-1")
    assert raw.endswith(b"0\r\n\r\n")
    decoded, rest = b"", raw
    while True:
        size_line, _, rest = rest.partition(b"\r\n")
        size = int(size_line, 16)
        if size == 0:
            break
        decoded, rest = decoded + rest[:size], rest[size + 2:]
    assert decoded == b"first,second,third"


def test_chunked_download(gw):
    with Conn(gw.port) as conn:
        conn.send(b"GET /dp/v1/chunked HTTP/1.1\r\nHost: gw\r\n\r\n")
        resp = conn.response()
        assert resp.status == 200
        assert resp.header("transfer-encoding") == "chunked"
        assert resp.header("content-length") is None
        assert resp.body == b"hello chunked world"
        # the connection stays usable after the last chunk
        conn.send(b"GET /dp/v1/json/after-chunked HTTP/1.1\r\nHost: gw\r\n\r\n")
        assert conn.response().status == 200
    client = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=5)
    client.request("GET", "/dp/v1/chunked")
    assert client.getresponse().read() == b"hello chunked world"
    client.close()


def test_expect_100_continue(gw, origin):
    before = origin.count()
    with Conn(gw.port) as conn:
        conn.send(b"POST /dp/v1/json/expect HTTP/1.1\r\nHost: gw\r\nExpect: 100-continue\r\n"
                  b"Content-Length: 5\r\n\r\n")
        interim = conn.response()
        assert interim.status == 100
        conn.send(b"hello")
        resp = conn.response()
        assert resp.status == 200
        assert resp.json()["body_len"] == 5
    record = _last(origin, before)
    assert record["body_raw"] == "hello"
    assert "expect" not in _names(record)


def test_expect_100_continue_refused_without_continue(gw, origin):
    """No 100 Continue for a request that is answered at once: the body is never asked for."""
    before = origin.count()
    with Conn(gw.port) as conn:
        conn.send(b"POST /nowhere HTTP/1.1\r\nHost: gw\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n")
        resp = conn.response()
        assert resp.status == 404
        assert resp.header("connection") == "close"
    assert origin.records(since=before) == []


@pytest.mark.parametrize("path,length", [("/dp/v1/json/head", None), ("/dp/v1/big?n=1000000", "1000000")])
def test_head_has_no_body(gw, path, length):
    with Conn(gw.port) as conn:
        conn.send(f"HEAD {path} HTTP/1.1\r\nHost: gw\r\n\r\n".encode()
                  + b"GET /dp/v1/json/after-head HTTP/1.1\r\nHost: gw\r\n\r\n")
        head = conn.response(head_request=True)
        assert head.status == 200
        assert head.header("content-length") not in (None, "0")
        if length:
            assert head.header("content-length") == length
        # had the gateway sent a body after the HEAD answer, this would read it as a status line
        after = conn.response()
        assert after.status == 200
        assert after.json()["target"] == "/api/json/after-head"


@pytest.mark.parametrize("status", [204, 304])
def test_no_body_statuses(gw, status):
    with Conn(gw.port) as conn:
        conn.send(f"GET /dp/v1/{status} HTTP/1.1\r\nHost: gw\r\n\r\n".encode()
                  + b"GET /dp/v1/json/after-nobody HTTP/1.1\r\nHost: gw\r\n\r\n")
        resp = conn.response()
        assert resp.status == status
        assert resp.header("transfer-encoding") is None
        if status == 304:
            assert resp.header("etag") == '"v1"'
        after = conn.response()
        assert after.status == 200, after
        assert after.json()["target"] == "/api/json/after-nobody"


# ---------------------------------------------------------------- request rewrite

def test_forwarded_headers(gw, origin):
    before = origin.count()
    with Conn(gw.port) as conn:
        conn.send(b"GET /dp/v1/json/xff HTTP/1.1\r\nHost: api.example.com:8443\r\n"
                  b"X-Forwarded-For: 203.0.113.7\r\nX-Forwarded-For: 198.51.100.2\r\n"
                  b"X-Forwarded-Proto: https\r\nX-Forwarded-Host: evil.example\r\n\r\n"
                  b"GET /dp/v1/json/noxff HTTP/1.1\r\nHost: api.example.com\r\n\r\n")
        assert conn.response().status == 200
        assert conn.response().status == 200
    first, second = _last(origin, before, 2)
    assert _values(first, "x-forwarded-for") == ["203.0.113.7, 198.51.100.2, 127.0.0.1"]
    assert _values(first, "x-forwarded-proto") == ["http"]
    assert _values(first, "x-forwarded-host") == ["api.example.com:8443"]
    assert _values(first, "host") == [f"127.0.0.1:{origin.port}"]
    assert _values(second, "x-forwarded-for") == ["127.0.0.1"]
    assert _values(second, "x-forwarded-host") == ["api.example.com"]


HOP_REQUEST = (b"Connection: keep-alive, X-Conn-Named\r\nX-Conn-Named: secret-named\r\n"
               b"Keep-Alive: timeout=5\r\nProxy-Connection: keep-alive\r\nTE: trailers\r\n"
               b"Trailer: X-Trail\r\nUpgrade: h2c\r\nProxy-Authorization: Basic c2VjcmV0\r\n"
               b"X-Kept: yes\r\n")


def test_hop_by_hop_request_headers_stripped(gw, origin):
    before = origin.count()
    with Conn(gw.port) as conn:
        conn.send(b"GET /dp/v1/json/hop HTTP/1.1\r\nHost: gw\r\n" + HOP_REQUEST + b"\r\n")
        assert conn.response().status == 200
    record = _last(origin, before)
    names = _names(record)
    for hop in ("connection", "x-conn-named", "keep-alive", "proxy-connection", "te", "trailer",
                "upgrade", "proxy-authorization"):
        assert hop not in names, record["head"]
    assert "secret-named" not in record["head"] and "c2VjcmV0" not in record["head"]
    assert _values(record, "x-kept") == ["yes"]


def test_hop_by_hop_response_headers_stripped(gw):
    with Conn(gw.port) as conn:
        conn.send(b"GET /dp/v1/hop HTTP/1.1\r\nHost: gw\r\n\r\n")
        resp = conn.response()
        assert resp.status == 200
        assert resp.body == b"hop"
        names = {n for n, _ in resp.headers}
        for hop in ("connection", "x-resp-hop", "keep-alive", "proxy-connection", "te", "trailer",
                    "upgrade", "proxy-authorization"):
            assert hop not in names, resp.raw_head
        assert resp.header("x-resp-kept") == "yes"
        # the origin's "Connection: keep-alive" is not ours to pass on; the connection is still ours
        conn.send(b"GET /dp/v1/json/after-hop HTTP/1.1\r\nHost: gw\r\n\r\n")
        assert conn.response().status == 200


GENERATED_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


@pytest.mark.parametrize("sent,kept", [
    ("abc-123_DEF.9:x", True),
    (str(uuid.uuid4()), True),
    ("has space", False),
    ("x" * 200, False),
    ("<script>", False),
    ("semi;colon", False),
    (None, False),
])
def test_request_id(gw, origin, sent, kept):
    before = origin.count()
    extra = f"X-Request-Id: {sent}\r\n".encode() if sent is not None else b""
    with Conn(gw.port) as conn:
        conn.send(b"GET /dp/v1/json/rid HTTP/1.1\r\nHost: gw\r\n" + extra + b"\r\n")
        resp = conn.response()
    assert resp.status == 200
    echoed = resp.all("x-request-id")
    assert len(echoed) == 1
    forwarded = _values(_last(origin, before), "x-request-id")
    assert forwarded == echoed
    if kept:
        assert echoed == [sent]
    else:
        assert echoed[0] != sent
        assert GENERATED_ID.match(echoed[0])


def test_generated_request_ids_are_unique(gw):
    ids = set()
    with Conn(gw.port) as conn:
        for _ in range(5):
            conn.send(b"GET /dp/v1/json/rid HTTP/1.1\r\nHost: gw\r\n\r\n")
            ids.add(conn.response().header("x-request-id"))
        conn.send(b"GET /nowhere HTTP/1.1\r\nHost: gw\r\nX-Request-Id: local-404-id\r\n\r\n")
        resp = conn.response()
    assert len(ids) == 5
    assert resp.status == 404
    assert resp.header("x-request-id") == "local-404-id"


def test_traceparent_passed_through(gw, origin):
    before = origin.count()
    tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    with Conn(gw.port) as conn:
        conn.send(f"GET /dp/v1/json/trace HTTP/1.1\r\nHost: gw\r\ntraceparent: {tp}\r\n"
                  f"tracestate: congo=t61rcWkgMzE\r\n\r\n".encode())
        assert conn.response().status == 200
    record = _last(origin, before)
    assert _values(record, "traceparent") == [tp]
    assert _values(record, "tracestate") == ["congo=t61rcWkgMzE"]


@pytest.mark.parametrize("path,target", [
    ("/inventory/v1/items/42?x=1", "/api/items/42?x=1"),
    ("/inventory/v1/items", "/api/items"),
    ("/inventory/v1", "/api"),
    ("/inventory/v1/", "/api/"),
    ("/INVENTORY/v1/items/%7Ea?q=%2F", "/api/items/~a?q=%2F"),
])
def test_backend_path_join(gw, origin, path, target):
    before = origin.count()
    with Conn(gw.port) as conn:
        conn.send(f"GET {path} HTTP/1.1\r\nHost: gw\r\n\r\n".encode())
        assert conn.response().status == 200
    assert _last(origin, before)["head"].startswith(f"GET {target} HTTP/1.1\r\n")


# ---------------------------------------------------------------- curl

def test_curl_get(gw, origin):
    before = origin.count()
    out = subprocess.run(
        ["curl", "-sS", "--http1.1", "-D", "-", "-H", "X-Request-Id: curl-req-1",
         f"http://127.0.0.1:{gw.port}/inventory/v1/items/42?x=1"],
        capture_output=True, timeout=10, check=True).stdout.decode()
    head, _, body = out.partition("\r\n\r\n")
    assert head.startswith("HTTP/1.1 200")
    assert "x-request-id: curl-req-1" in head.lower()
    assert json.loads(body)["target"] == "/api/items/42?x=1"
    assert _last(origin, before)["head"].startswith("GET /api/items/42?x=1 HTTP/1.1\r\n")


def test_curl_upload_with_expect_continue(gw, origin, tmp_path):
    data = tmp_path / "upload.bin"
    data.write_bytes(bytes(range(256)) * 8192)  # 2 MiB
    before = origin.count()
    out = subprocess.run(
        ["curl", "-sS", "--http1.1", "-D", "-", "-H", "Expect: 100-continue", "-H",
         "Content-Type: application/octet-stream", "--data-binary", f"@{data}",
         f"http://127.0.0.1:{gw.port}/dp/v1/json/curl-up"],
        capture_output=True, timeout=10, check=True).stdout.decode("latin-1")
    assert out.startswith("HTTP/1.1 100 Continue\r\n")
    assert "HTTP/1.1 200" in out
    answer = json.loads(out.rpartition("\r\n\r\n")[2])
    assert answer["body_len"] == 2 * 1024 * 1024
    assert _last(origin, before)["body_len"] == 2 * 1024 * 1024
