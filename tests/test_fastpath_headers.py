"""strip_hop_by_hop and serialize_request_head, on both fast path twins."""
import pytest

HOP_NAMES = [b"connection", b"keep-alive", b"proxy-connection", b"te", b"trailer",
             b"transfer-encoding", b"upgrade", b"proxy-authorization"]


def test_hop_by_hop_names(twin):
    assert twin.HOP_BY_HOP == frozenset(HOP_NAMES)


def test_strips_every_hop_by_hop_header_and_keeps_order(twin):
    headers = [(b"host", b"example.com")]
    for i, name in enumerate(HOP_NAMES):
        headers.append((name, b"v%d" % i))
        headers.append((b"x-after-%d" % i, b"%d" % i))
    headers.append((b"accept", b"*/*"))
    kept = [(b"host", b"example.com")] + [(b"x-after-%d" % i, b"%d" % i) for i in range(len(HOP_NAMES))]
    kept.append((b"accept", b"*/*"))
    assert twin.strip_hop_by_hop(headers) == kept


def test_strips_names_listed_in_connection(twin):
    headers = [
        (b"x-a", b"1"),
        (b"connection", b"keep-alive, X-Secret ,x-other,,  "),
        (b"x-secret", b"2"),
        (b"x-b", b"3"),
        (b"x-other", b"4"),
        (b"connection", b"x-late"),       # a second Connection header counts as well
        (b"x-late", b"5"),
        (b"keep-alive", b"timeout=5"),
    ]
    assert twin.strip_hop_by_hop(headers) == [(b"x-a", b"1"), (b"x-b", b"3")]


def test_strip_keeps_everything_else(twin):
    headers = [(b"host", b"h"), (b"x-te", b"1"), (b"tes", b"2"), (b"content-length", b"3")]
    result = twin.strip_hop_by_hop(headers)
    assert result == headers
    assert result is not headers
    assert all(a is b for a, b in zip(result, headers))    # the pairs themselves, not copies


def test_strip_never_takes_content_length_for_a_connection_option(twin):
    """Content-Length frames the body sent on: a Connection naming it drops the rest only."""
    headers = [(b"connection", b"Content-Length, x-gone"), (b"x-gone", b"1"), (b"content-length", b"3")]
    assert twin.strip_hop_by_hop(headers) == [(b"content-length", b"3")]


def test_strip_empty(twin):
    assert twin.strip_hop_by_hop([]) == []


def test_strip_takes_any_pair_sequence(twin):
    headers = ([b"te", b"trailers"], [b"x-a", b"1"])
    assert twin.strip_hop_by_hop(headers) == [[b"x-a", b"1"]]


@pytest.mark.parametrize("method, target, headers, head", [
    (b"GET", b"/", [], b"GET / HTTP/1.1\r\n\r\n"),
    (b"GET", b"/api/items/42?x=1", [(b"host", b"origin:9000"), (b"accept", b"*/*")],
     b"GET /api/items/42?x=1 HTTP/1.1\r\nhost: origin:9000\r\naccept: */*\r\n\r\n"),
    (b"POST", b"/p", ((b"content-length", b"0"), (b"x-empty", b"")),
     b"POST /p HTTP/1.1\r\ncontent-length: 0\r\nx-empty: \r\n\r\n"),
    # not exact bytes pairs: the same bytes all the same
    (b"PUT", bytearray(b"/q"), [[b"a", bytearray(b"1")], (memoryview(b"b"), b"2")],
     b"PUT /q HTTP/1.1\r\na: 1\r\nb: 2\r\n\r\n"),
])
def test_serialize_request_head(twin, method, target, headers, head):
    result = twin.serialize_request_head(method, target, headers)
    assert type(result) is bytes
    assert result == head


def test_serialize_from_an_iterator(twin):
    headers = iter([(b"a", b"1"), (b"b", b"2")])
    assert twin.serialize_request_head(b"GET", b"/", headers) == b"GET / HTTP/1.1\r\na: 1\r\nb: 2\r\n\r\n"


def test_serialize_large_head(twin):
    headers = [(b"x-%d" % i, b"v" * i) for i in range(300)]
    expected = b"GET /big HTTP/1.1\r\n" + b"".join(b"x-%d: %s\r\n" % (i, b"v" * i) for i in range(300)) + b"\r\n"
    assert twin.serialize_request_head(b"GET", b"/big", headers) == expected


@pytest.mark.parametrize("method, target, headers", [
    ("GET", b"/", []),
    (b"GET", b"/", [(b"a", "1")]),
    (b"GET", b"/", [(b"a", b"1", b"2")]),
])
def test_serialize_refuses_what_is_not_bytes_pairs(twin, method, target, headers):
    with pytest.raises((TypeError, ValueError)):
        twin.serialize_request_head(method, target, headers)


def test_build_request_head_skips_names_and_appends_extra(twin):
    headers = [(b"accept", b"*/*"), (b"connection", b"x-drop"), (b"x-drop", b"1"), (b"x-keep", b"2")]
    head = twin.build_request_head(b"GET", b"/api/x?y=1", headers, frozenset([b"connection", b"x-drop"]),
                                   [(b"host", b"backend:80"), (b"content-length", b"0")])
    assert head == (b"GET /api/x?y=1 HTTP/1.1\r\naccept: */*\r\nx-keep: 2\r\nhost: backend:80\r\n"
                    b"content-length: 0\r\n\r\n")


def test_build_request_head_takes_any_sequences_like_the_python_twin(twin):
    head = twin.build_request_head(b"PUT", b"/", ((b"a", b"1"),), {b"b"}, ((b"c", b"3"),))
    assert head == b"PUT / HTTP/1.1\r\na: 1\r\nc: 3\r\n\r\n"


def test_build_head_and_has_header(twin):
    headers = [(b"content-type", b"text/plain"), (b"content-length", b"5")]
    assert twin.has_header(headers, b"content-length") and not twin.has_header(headers, b"x-none")
    head = twin.build_head(b"HTTP/1.1 200 OK\r\n", headers, frozenset([b"content-length"]),
                                    [(b"content-length", b"9"), (b"connection", b"close")])
    assert head == (b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 9\r\n"
                    b"connection: close\r\n\r\n")
