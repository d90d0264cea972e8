"""UpstreamConnection: an answer whole in the first read (the fast path's parse_whole_response)
makes the same calls on the exchange as the same answer read in pieces by httptools."""
import pytest

import gwcore.upstream.connection as connection_module
from gwcore.upstream.connection import UpstreamClient, UpstreamConnection


@pytest.fixture(autouse=True)
def taken(twin, monkeypatch):
    """The connection on each fast path twin; the list of what parse_whole_response returned,
    one entry per call (None: left to httptools)."""
    results = []

    def spy(data):
        result = twin.parse_whole_response(data)
        results.append(result)
        return result
    monkeypatch.setattr(connection_module, "parse_whole_response", spy)
    return results


class Recorder(UpstreamClient):
    """An exchange that writes down what the connection tells it (the body joined, flushes left out)."""

    def __init__(self):
        self.calls = []

    def upstream_headers(self, status, headers):
        self.calls.append(("headers", status, list(headers)))

    def upstream_body(self, chunk):
        if self.calls and self.calls[-1][0] == "body":
            self.calls[-1] = ("body", self.calls[-1][1] + chunk)
        else:
            self.calls.append(("body", chunk))

    def upstream_flush(self):
        pass

    def upstream_complete(self, keep_alive):
        self.calls.append(("complete", keep_alive))

    def upstream_failed(self, reason, got_bytes):
        self.calls.append(("failed", reason, got_bytes))

    def upstream_write_paused(self):
        pass

    def upstream_write_resumed(self):
        pass


class Transport:
    def __init__(self):
        self.closed = False

    def close(self):
        self.closed = True

    def write(self, data):
        pass


class Pool:
    def forget(self, conn):
        pass


def new_connection():
    conn = UpstreamConnection(Pool())
    conn.connection_made(Transport())
    return conn


def read(conn, data, pieces=None, head_request=False):
    """Lend `conn` to a new Recorder and feed it `data`, whole or cut at `pieces` (offsets)."""
    exchange = Recorder()
    conn.attach(exchange, head_request)
    cuts = [0, *(pieces or []), len(data)]
    for start, end in zip(cuts, cuts[1:]):
        if end > start:
            conn.data_received(data[start:end])
    return exchange.calls


def httptools_was_fed(conn) -> bool:
    """The fast path leaves httptools' parser alone: it has seen no status line yet."""
    return conn.parser.get_status_code() != 0


ANSWERS = {
    "plain": b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-A: 1\r\nContent-Length: 5\r\n\r\nhello",
    "empty body": b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n",
    "close": b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nhi",
    "named": b"HTTP/1.1 503 X\r\nConnection: X-Named, keep-alive\r\nX-Named: n\r\nKeep-Alive: timeout=5\r\n"
             b"X-Kept: k\r\nContent-Length: 3\r\n\r\nabc",
    "odd values": b"HTTP/1.1 200 OK\r\nX-Empty:\r\nX-Trailing: v \t\r\nx-LOWER:\tV\r\nContent-Length: 4\r\n\r\n"
                  b"\r\n\r\n",
    "hop-by-hop": b"HTTP/1.1 200 OK\r\nTE: trailers\r\nTrailer: X\r\nUpgrade: h2c\r\nProxy-Authorization: p\r\n"
                  b"Content-Length: 1\r\n\r\n!",
}


@pytest.mark.parametrize("data", list(ANSWERS.values()), ids=list(ANSWERS))
def test_whole_read_makes_the_calls_httptools_makes(data, taken):
    whole_conn = new_connection()
    whole = read(whole_conn, data)
    assert len(taken) == 1 and taken[0] is not None, "the fast path did not take the answer"
    assert not httptools_was_fed(whole_conn)
    assert whole_conn.content_lengths == 1
    head_end = data.index(b"\r\n\r\n") + 4
    splits = [[head_end - 1], [5, head_end - 2], list(range(1, len(data)))]
    if head_end < len(data):
        splits.append([head_end])      # head and body in two reads
    for pieces in splits:
        conn = new_connection()
        taken.clear()
        assert read(conn, data, pieces) == whole
        assert taken == [None]      # the first read only, and it was not taken
        assert httptools_was_fed(conn)
    assert whole[0][0] == "headers" and whole[-1][0] == "complete"


def test_what_the_whole_read_reports():
    calls = read(new_connection(), ANSWERS["named"])
    assert calls == [
        ("headers", 503, [(b"x-kept", b"k"), (b"content-length", b"3")]),
        ("body", b"abc"),
        ("complete", True),
    ]
    assert read(new_connection(), ANSWERS["close"])[-1] == ("complete", False)
    assert read(new_connection(), ANSWERS["empty body"]) == [
        ("headers", 404, [(b"content-length", b"0")]), ("complete", True)]


@pytest.mark.parametrize("data", [
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
    b"HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nhello",
    b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: \x80\r\n\r\nhello",
], ids=["chunked", "interim-then-final", "http/1.0", "non-ascii"])
def test_what_the_fast_path_leaves_httptools_reads(data, taken):
    conn = new_connection()
    calls = read(conn, data)
    assert taken == [None]
    assert httptools_was_fed(conn)
    assert [call[0] for call in calls] == ["headers", "body", "complete"]
    assert calls[1] == ("body", b"hello")


def test_partial_first_read_goes_to_httptools(taken):
    """Only the first read is tried: a whole answer split over two reads is httptools' work."""
    data = ANSWERS["plain"]
    conn = new_connection()
    calls = read(conn, data, [len(data) - 2])
    assert taken == [None]
    assert httptools_was_fed(conn)
    assert calls == read(new_connection(), data)


def test_head_answer_is_never_taken_whole(taken):
    """A backend that answers HEAD with a body in the same read: the exchange gets no body, and
    the connection is not kept."""
    data = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"
    conn = new_connection()
    calls = read(conn, data, head_request=True)
    assert taken == []
    assert calls == [("headers", 200, [(b"content-length", b"5")]), ("complete", False)]


def test_head_answer_without_body():
    data = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"
    assert read(new_connection(), data, head_request=True) == [
        ("headers", 200, [(b"content-length", b"5")]), ("complete", True)]


def test_kept_alive_connection_alternates_fast_path_and_httptools(taken):
    """After a whole answer httptools is still between messages, and after one it parsed the
    fast path still takes the next: answers on one connection, whole and in pieces by turns."""
    conn = new_connection()
    plain, named, odd = ANSWERS["plain"], ANSWERS["named"], ANSWERS["odd values"]
    expected = {data: read(new_connection(), data) for data in (plain, named, odd)}
    for data, pieces in [(plain, None), (named, [7, 30]), (plain, None), (plain, [1]), (named, None),
                         (odd, list(range(1, 60))), (odd, None), (plain, [len(plain) - 1])]:
        taken.clear()
        assert read(conn, data, pieces) == expected[data]
        assert len(taken) == 1 and (taken[0] is None) == bool(pieces)   # each answer's first read tried
    assert not conn.closed


class Relending(Recorder):
    """An exchange whose completion lends the connection at once to the next exchange, as the
    pool does for a pipelined request or a waiter."""

    def __init__(self, conn, following, head_request=False):
        super().__init__()
        self.conn, self.following, self.head_request = conn, following, head_request

    def upstream_complete(self, keep_alive):
        super().upstream_complete(keep_alive)
        self.conn.attach(self.following, self.head_request)


@pytest.mark.parametrize("pieces", [None, [20], [1]], ids=["whole", "split", "bytewise"])
def test_connection_lent_again_on_completion(pieces, taken):
    """The next exchange, lent the connection inside upstream_complete, hears nothing of the
    answer before it, and its own answer (whole: the fast path again) reads in full."""
    conn = new_connection()
    following = Recorder()
    first = Relending(conn, following)
    conn.attach(first, False)
    data = ANSWERS["named"]
    cuts = [0, *(pieces or []), len(data)]
    for start, end in zip(cuts, cuts[1:]):
        conn.data_received(data[start:end])
    assert first.calls == read(new_connection(), data)
    assert following.calls == []
    assert conn.exchange is following and conn.fresh
    taken.clear()
    conn.data_received(ANSWERS["plain"])
    assert taken[0] is not None
    assert following.calls == read(new_connection(), ANSWERS["plain"])


def test_body_after_head_answer_never_reaches_the_next_exchange():
    conn = new_connection()
    following = Recorder()
    first = Relending(conn, following)
    conn.attach(first, True)
    conn.data_received(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")
    # a backend that sends bytes no answer frames is not trusted with another request
    assert first.calls == [("headers", 200, [(b"content-length", b"5")]), ("complete", False)]
    assert following.calls == []


def test_head_answer_alone_keeps_the_connection(taken):
    """Only the head of a HEAD answer: complete and kept alive, and the next answer (lent in
    upstream_complete) is read by a fresh parser."""
    conn = new_connection()
    following = Recorder()
    first = Relending(conn, following)
    conn.attach(first, True)
    conn.data_received(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n")
    assert first.calls == [("headers", 200, [(b"content-length", b"5")]), ("complete", True)]
    assert conn.exchange is following and following.calls == []
    conn.data_received(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi")
    assert following.calls == [("headers", 200, [(b"content-length", b"2")]), ("body", b"hi"),
                               ("complete", True)]


def test_head_answer_split_then_garbage_in_the_same_read():
    conn = new_connection()
    first = Recorder()
    conn.attach(first, True)
    conn.data_received(b"HTTP/1.1 200 OK\r\nContent-")
    conn.data_received(b"Length: 5\r\n\r\nhel")
    assert first.calls == [("headers", 200, [(b"content-length", b"5")]), ("complete", False)]


def test_failing_exchange_is_told_the_answer_is_lost(taken):
    """An exchange whose upstream_headers raises: the connection closes and says "malformed",
    as it does when a httptools callback raises."""
    class Failing(Recorder):
        def upstream_headers(self, status, headers):
            raise RuntimeError("boom")

    for pieces in (None, [10]):
        conn = new_connection()
        exchange = Failing()
        conn.attach(exchange, False)
        cuts = [0, *(pieces or []), len(ANSWERS["plain"])]
        for start, end in zip(cuts, cuts[1:]):
            conn.data_received(ANSWERS["plain"][start:end])
        assert exchange.calls == [("failed", "malformed", True)]
        assert (taken[-1] is not None) == (pieces is None)
        assert conn.closed and conn.transport.closed and conn.exchange is None


def test_proxy_connection_close_read_the_same_in_pieces():
    data = b"HTTP/1.1 200 OK\r\nProxy-Connection: close\r\nContent-Length: 0\r\n\r\n"
    assert read(new_connection(), data, [10])[-1] == ("complete", False)
    assert read(new_connection(), data) == read(new_connection(), data, [10])


def test_two_connection_headers_read_the_same_in_pieces():
    """Every Connection header's names are dropped, however the answer arrives."""
    data = (b"HTTP/1.1 200 OK\r\nConnection: X-First\r\nX-First: 1\r\nConnection: X-Second\r\n"
            b"X-Second: 2\r\nX-Kept: k\r\nContent-Length: 0\r\n\r\n")
    whole = read(new_connection(), data)
    assert whole[0] == ("headers", 200, [(b"x-kept", b"k"), (b"content-length", b"0")])
    assert read(new_connection(), data, [len(data) - 5]) == whole
