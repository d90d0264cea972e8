"""parse_whole_response, on both fast path twins: which backend answers it takes, how it reads
them, and (a hypothesis property) that whatever it takes httptools takes too and reads the same way."""
import collections
import importlib
import os

import httptools
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from gwcore.fastpath import strip_hop_by_hop

NGINX = (b"HTTP/1.1 200 OK\r\n"
         b"Server: nginx/1.24.0\r\n"
         b"Date: Sat, 05 Dec 2026 12:00:00 GMT\r\n"
         b"Content-Type: text/html\r\n"
         b"Content-Length: 13\r\n"
         b"Last-Modified: Fri, 04 Dec 2026 09:30:00 GMT\r\n"
         b"Connection: keep-alive\r\n"
         b"ETag: \"6750a1b2-d\"\r\n"
         b"Accept-Ranges: bytes\r\n"
         b"\r\n")


def answer(*fields, body=b"hi", status=b"200 OK", length=True):
    """An HTTP/1.1 answer: the given raw field lines (bytes, without CRLF), then Content-Length
    of `body` (unless length is False), then the body."""
    lines = [b"HTTP/1.1 " + status] + list(fields)
    if length:
        lines.append(b"Content-Length: %d" % len(body))
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


# ---------------------------------------------------------------- what it takes, and how it reads it

def test_typical_nginx_answer(twin):
    data = NGINX + b"Hello, world!"
    assert twin.parse_whole_response(data) == (200, [
        (b"server", b"nginx/1.24.0"),
        (b"date", b"Sat, 05 Dec 2026 12:00:00 GMT"),
        (b"content-type", b"text/html"),
        (b"content-length", b"13"),
        (b"last-modified", b"Fri, 04 Dec 2026 09:30:00 GMT"),
        (b"etag", b"\"6750a1b2-d\""),
        (b"accept-ranges", b"bytes"),
    ], True, len(NGINX))


def test_result_types(twin):
    status, headers, keep_alive, body_start = twin.parse_whole_response(NGINX + b"Hello, world!")
    assert type(status) is int and type(body_start) is int and type(keep_alive) is bool
    assert type(headers) is list
    assert all(type(pair) is tuple and type(pair[0]) is bytes and type(pair[1]) is bytes for pair in headers)


@pytest.mark.parametrize("status", [200, 201, 205, 206, 299, 301, 404, 418, 500, 503, 599])
def test_statuses_taken(twin, status):
    data = b"HTTP/1.1 %d Whatever\r\nContent-Length: 2\r\n\r\nhi" % status
    assert twin.parse_whole_response(data) == (status, [(b"content-length", b"2")], True, len(data) - 2)


@pytest.mark.parametrize("status_line", [
    b"HTTP/1.1 200 \r\n",               # an empty reason
    b"HTTP/1.1 200 A\tlong  reason ~!\r\n",
])
def test_reason_phrase_is_not_read(twin, status_line):
    data = status_line + b"Content-Length: 1\r\n\r\nx"
    assert twin.parse_whole_response(data) == (200, [(b"content-length", b"1")], True, len(data) - 1)


@pytest.mark.parametrize("connection, keep_alive", [
    (b"close", False),
    (b"Close", False),
    (b"CLOSE", False),
    (b"keep-alive, close", False),
    (b"x-a ,\tclose\t", False),
    (b",close,", False),
    (b"keep-alive", True),
    (b"closed", True),
    (b"x close", True),             # one token, "x close", not close
    (b"", True),
])
def test_connection_close(twin, connection, keep_alive):
    result = twin.parse_whole_response(answer(b"Connection: " + connection, b"X-B: 1"))
    assert result is not None
    assert result[2] is keep_alive
    assert result[1] == [(b"x-b", b"1"), (b"content-length", b"2")]


def test_connection_close_in_a_second_connection_header(twin):
    result = twin.parse_whole_response(answer(b"Connection: keep-alive", b"Connection: close"))
    assert result[2] is False


def test_headers_named_in_connection_are_dropped(twin):
    data = answer(b"X-Before: 1",
                  b"Connection: X-Secret , x-other,,  keep-alive",
                  b"x-secret: s",
                  b"X-Kept: 2",
                  b"X-OTHER: o",
                  b"Connection: X-Late",       # a second Connection header counts as well
                  b"X-Late: l",
                  b"X-Secretive: 3")           # a longer name, not named
    assert twin.parse_whole_response(data) == (200, [
        (b"x-before", b"1"), (b"x-kept", b"2"), (b"x-secretive", b"3"), (b"content-length", b"2"),
    ], True, len(data) - 2)


def test_header_named_in_connection_before_it(twin):
    data = answer(b"X-Early: e", b"Connection: x-early")
    assert twin.parse_whole_response(data)[1] == [(b"content-length", b"2")]


def test_connection_naming_content_length(twin):
    """Connection may name fields to drop, but never Content-Length: it frames the body the
    gateway passes on (as strip_hop_by_hop and the httptools path also keep it)."""
    data = answer(b"Connection: content-length, x-gone", b"X-Gone: g", body=b"abc")
    assert twin.parse_whole_response(data) == (200, [(b"content-length", b"3")], True, len(data) - 3)


def test_hop_by_hop_headers_dropped(twin):
    data = answer(b"Keep-Alive: timeout=5", b"TE: trailers",
                  b"Trailer: X-Trail", b"Upgrade: h2c", b"Proxy-Authorization: Basic c2VjcmV0",
                  b"Connection: keep-alive, Upgrade", b"X-Kept: yes", b"KEEP-ALIVE: max=3")
    assert twin.parse_whole_response(data) == (
        200, [(b"x-kept", b"yes"), (b"content-length", b"2")], True, len(data) - 2)


def test_names_lowered_values_byte_exact(twin):
    data = answer(b"X-MiXeD-CaSe: VaLuE",
                  b"Set-Cookie: a=1; Path=/; HttpOnly",
                  b"X-Trailing:  two blanks after  ",
                  b"X-Tab:\tafter a tab\t",
                  b"X-Inner: a \t b",
                  b"X-Empty:",
                  b"X-Blank-Only: \t ",
                  b"X-Tight:v",
                  b"X-Odd-Name!#$%&'*+.^_`|~: \"quoted\" ~!@#$%^&*()[]{}<>?/\\",
                  b"x-mixed-case: again")
    status, headers, keep_alive, body_start = twin.parse_whole_response(data)
    assert (status, keep_alive, body_start) == (200, True, len(data) - 2)
    assert headers == [
        (b"x-mixed-case", b"VaLuE"),
        (b"set-cookie", b"a=1; Path=/; HttpOnly"),
        (b"x-trailing", b"two blanks after  "),
        (b"x-tab", b"after a tab\t"),
        (b"x-inner", b"a \t b"),
        (b"x-empty", b""),
        (b"x-blank-only", b""),
        (b"x-tight", b"v"),
        (b"x-odd-name!#$%&'*+.^_`|~", b"\"quoted\" ~!@#$%^&*()[]{}<>?/\\"),
        (b"x-mixed-case", b"again"),
        (b"content-length", b"2"),
    ]


@pytest.mark.parametrize("length", [b"0", b"000", b"00002", b"000000000000002", b"2"])
def test_content_length_forms(twin, length):
    body = b"" if int(length) == 0 else b"hi"
    data = b"HTTP/1.1 200 OK\r\nContent-Length: " + length + b"\r\n\r\n" + body
    assert twin.parse_whole_response(data) == (200, [(b"content-length", length)], True, len(data) - len(body))


def test_body_start(twin):
    body = b"\r\n\r\nHTTP/1.1 200 OK\r\n\x00\xff body bytes are not looked at"
    data = answer(b"X-A: 1", body=body)
    result = twin.parse_whole_response(data)
    assert result[3] == data.index(b"\r\n\r\n") + 4
    assert data[result[3]:] == body


def test_content_length_zero_without_body(twin):
    data = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
    assert twin.parse_whole_response(data) == (200, [(b"content-length", b"0")], True, len(data))
    assert twin.parse_whole_response(data + b"x") is None


def test_content_length_anywhere_among_the_fields(twin):
    data = b"HTTP/1.1 404 Not Found\r\ncontent-LENGTH: 3\r\nX-A: 1\r\n\r\nabc"
    assert twin.parse_whole_response(data) == (
        404, [(b"content-length", b"3"), (b"x-a", b"1")], True, len(data) - 3)


def test_max_response_fields(twin):
    """100 kept fields are taken, 101 are not; hop-by-hop fields seen before do not count."""
    assert twin.MAX_RESPONSE_FIELDS == 100
    fields = [b"X-%d: %d" % (i, i) for i in range(99)]       # and Content-Length: 100
    hundred = answer(*fields)
    result = twin.parse_whole_response(hundred)
    assert result is not None and len(result[1]) == 100
    assert twin.parse_whole_response(answer(*fields, b"X-Extra: 1")) is None
    hops = [b"Keep-Alive: timeout=%d" % i for i in range(5)] + [b"Connection: keep-alive"]
    result = twin.parse_whole_response(answer(*hops, *fields))
    assert result is not None and len(result[1]) == 100


def test_whole_result_is_a_fresh_list(twin):
    data = answer(b"X-A: 1")
    first = twin.parse_whole_response(data)
    first[1].append((b"x", b"y"))
    assert twin.parse_whole_response(data)[1] == [(b"x-a", b"1"), (b"content-length", b"2")]


# ---------------------------------------------------------------- what it leaves to httptools

OK = b"HTTP/1.1 200 OK\r\n"
CL2 = b"Content-Length: 2\r\n"

NOT_TAKEN = {
    # the status line
    "http/1.0": b"HTTP/1.0 200 OK\r\n" + CL2 + b"\r\nhi",
    "http/2": b"HTTP/2 200 OK\r\n" + CL2 + b"\r\nhi",
    "lower-case version": b"http/1.1 200 OK\r\n" + CL2 + b"\r\nhi",
    "no space after status": b"HTTP/1.1 200\r\n" + CL2 + b"\r\nhi",
    "two spaces before status": b"HTTP/1.1  200 OK\r\n" + CL2 + b"\r\nhi",
    "two-digit status": b"HTTP/1.1 20 OK\r\n" + CL2 + b"\r\nhi",
    "four-digit status": b"HTTP/1.1 2000 OK\r\n" + CL2 + b"\r\nhi",
    "status 100": b"HTTP/1.1 100 Continue\r\n" + CL2 + b"\r\nhi",
    "status 101": b"HTTP/1.1 101 Switching Protocols\r\n" + CL2 + b"\r\nhi",
    "status 103": b"HTTP/1.1 103 Early Hints\r\n" + CL2 + b"\r\nhi",
    "status 199": b"HTTP/1.1 199 X\r\n" + CL2 + b"\r\nhi",
    "status 600": b"HTTP/1.1 600 X\r\n" + CL2 + b"\r\nhi",
    "status 999": b"HTTP/1.1 999 X\r\n" + CL2 + b"\r\nhi",
    "status 099": b"HTTP/1.1 099 X\r\n" + CL2 + b"\r\nhi",
    "status 204": b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n",
    "status 304": b"HTTP/1.1 304 Not Modified\r\nContent-Length: 0\r\n\r\n",
    "status 304 with length": b"HTTP/1.1 304 Not Modified\r\n" + CL2 + b"\r\n",
    "control in reason": b"HTTP/1.1 200 O\x01K\r\n" + CL2 + b"\r\nhi",
    "DEL in reason": b"HTTP/1.1 200 O\x7fK\r\n" + CL2 + b"\r\nhi",
    "non-ASCII reason": b"HTTP/1.1 200 \xc3\xa9t\xc3\xa9\r\n" + CL2 + b"\r\nhi",
    "bare LF after status line": b"HTTP/1.1 200 OK\n" + CL2 + b"\r\nhi",
    "bare CR after status line": b"HTTP/1.1 200 OK\r" + CL2 + b"\r\nhi",
    # framing
    "transfer-encoding chunked": OK + b"Transfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n",
    "transfer-encoding and length": OK + CL2 + b"Transfer-Encoding: chunked\r\n\r\nhi",
    "transfer-encoding identity": OK + b"TRANSFER-ENCODING: identity\r\n" + CL2 + b"\r\nhi",
    "no content-length": OK + b"X-A: 1\r\n\r\nhi",
    "no content-length, no body": OK + b"\r\n",
    "two content-lengths, same": OK + CL2 + CL2 + b"\r\nhi",
    "two content-lengths, different": OK + CL2 + b"content-length: 3\r\n\r\nhi",
    "content-length list": OK + b"Content-Length: 2, 2\r\n\r\nhi",
    "content-length empty": OK + b"Content-Length:\r\n\r\n",
    "content-length plus": OK + b"Content-Length: +2\r\n\r\nhi",
    "content-length minus": OK + b"Content-Length: -2\r\n\r\nhi",
    "content-length hex": OK + b"Content-Length: 0x2\r\n\r\nhi",
    "content-length trailing blank": OK + b"Content-Length: 2 \r\n\r\nhi",
    "content-length 16 digits": OK + b"Content-Length: 0000000000000002\r\n\r\nhi",
    "content-length huge": OK + b"Content-Length: 99999999999999999999\r\n\r\nhi",
    "body shorter": OK + b"Content-Length: 3\r\n\r\nhi",
    "body missing": OK + CL2 + b"\r\n",
    "head incomplete": OK + CL2,
    "head unfinished": OK + b"Content-Length: 2\r\nX-A: 1",
    "status line only": OK,
    "bytes after the body": OK + CL2 + b"\r\nhi!",
    "a second answer after the body": OK + CL2 + b"\r\nhi" + OK + CL2 + b"\r\nhi",
    # field lines
    "obs-fold": OK + b"X-Fold: a\r\n folded\r\n" + CL2 + b"\r\nhi",
    "obs-fold with tab": OK + b"X-Fold: a\r\n\tfolded\r\n" + CL2 + b"\r\nhi",
    "bare LF in field": OK + b"X-A: 1\n" + CL2 + b"\r\nhi",
    "bare CR in value": OK + b"X-A: a\rb\r\n" + CL2 + b"\r\nhi",
    "bare LF ending the head": OK + CL2 + b"\nhi",
    "NUL in value": OK + b"X-A: a\x00b\r\n" + CL2 + b"\r\nhi",
    "control in value": OK + b"X-A: \x01\r\n" + CL2 + b"\r\nhi",
    "vertical tab in value": OK + b"X-A: a\x0bb\r\n" + CL2 + b"\r\nhi",
    "DEL in value": OK + b"X-A: a\x7f\r\n" + CL2 + b"\r\nhi",
    "non-ASCII value": OK + b"X-A: caf\xc3\xa9\r\n" + CL2 + b"\r\nhi",
    "byte 0x80 in value": OK + b"X-A: \x80\r\n" + CL2 + b"\r\nhi",
    "byte 0xff in value": OK + b"X-A: \xff\r\n" + CL2 + b"\r\nhi",
    "non-ASCII name": OK + b"X-\xc3\xa9: 1\r\n" + CL2 + b"\r\nhi",
    "space in name": OK + b"X A: 1\r\n" + CL2 + b"\r\nhi",
    "blank before colon": OK + b"X-A : 1\r\n" + CL2 + b"\r\nhi",
    "tab before colon": OK + b"X-A\t: 1\r\n" + CL2 + b"\r\nhi",
    "blank before content-length colon": OK + b"Content-Length : 2\r\n\r\nhi",
    "separator in name": OK + b"X(A): 1\r\n" + CL2 + b"\r\nhi",
    "slash in name": OK + b"X/A: 1\r\n" + CL2 + b"\r\nhi",
    "at in name": OK + b"X@A: 1\r\n" + CL2 + b"\r\nhi",
    "empty name": OK + b": 1\r\n" + CL2 + b"\r\nhi",
    "no colon": OK + b"X-A 1\r\n" + CL2 + b"\r\nhi",
    "blank line start": OK + b" X-A: 1\r\n" + CL2 + b"\r\nhi",
    "control in name": OK + b"X\x01A: 1\r\n" + CL2 + b"\r\nhi",
    "too many fields": OK + b"".join(b"X-%d: 1\r\n" % i for i in range(100)) + CL2 + b"\r\nhi",
    "empty": b"",
}


@pytest.mark.parametrize("data", list(NOT_TAKEN.values()), ids=list(NOT_TAKEN))
def test_not_taken(twin, data):
    assert twin.parse_whole_response(data) is None


@pytest.mark.parametrize("data", [
    bytearray(NGINX + b"Hello, world!"),
    memoryview(NGINX + b"Hello, world!"),
    (NGINX + b"Hello, world!").decode("ascii"),
    None,
    42,
    type("Bytes", (bytes,), {})(NGINX + b"Hello, world!"),    # a bytes subclass is not taken either
], ids=["bytearray", "memoryview", "str", "None", "int", "bytes-subclass"])
def test_non_bytes_not_taken(twin, data):
    assert twin.parse_whole_response(data) is None


def test_each_not_taken_answer_is_taken_once_repaired(twin):
    """The answers above are refused for the one reason named, not for something else: the same
    shape with that detail fixed is taken (guards the list against cases that test nothing)."""
    assert twin.parse_whole_response(OK + CL2 + b"\r\nhi") is not None
    assert twin.parse_whole_response(OK + b"X-A: 1\r\n" + CL2 + b"\r\nhi") is not None
    assert twin.parse_whole_response(OK + b"".join(b"X-%d: 1\r\n" % i for i in range(99)) + CL2 + b"\r\nhi") is not None


# ---------------------------------------------------------------- taken means httptools agrees

class Reading:
    """What httptools' HttpResponseParser makes of an answer fed in one feed_data call (the
    callbacks the gateway's UpstreamConnection uses, and should_keep_alive where it asks)."""

    def __init__(self, data: bytes):
        self.begun = 0
        self.headers = []
        self.heads = 0
        self.body = b""
        self.complete = 0
        self.keep_alive = None
        self.status = None
        self.error = None
        self.parser = httptools.HttpResponseParser(self)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self.error = exc

    def on_message_begin(self):
        self.begun += 1

    def on_header(self, name, value):
        self.headers.append((name, value))

    def on_headers_complete(self):
        self.heads += 1
        self.status = self.parser.get_status_code()

    def on_body(self, body):
        self.body += body

    def on_message_complete(self):
        self.complete += 1
        self.keep_alive = self.parser.should_keep_alive()


def test_reading_helper_sees_what_httptools_sees():
    """The reference itself: a plain answer, one with Connection: close, one httptools refuses."""
    reading = Reading(NGINX + b"Hello, world!")
    assert (reading.error, reading.begun, reading.complete, reading.status) == (None, 1, 1, 200)
    assert reading.keep_alive is True and reading.body == b"Hello, world!"
    assert (b"ETag", b"\"6750a1b2-d\"") in reading.headers
    assert Reading(answer(b"Connection: close")).keep_alive is False
    assert Reading(OK + b"X-A: a\x7f\r\n" + CL2 + b"\r\nhi").error is not None


def agrees_with_httptools(result, data):
    """Asserts that httptools, fed `data` in one call, reads what parse_whole_response read."""
    status, headers, keep_alive, body_start = result
    reading = Reading(data)
    assert reading.error is None, reading.error
    assert (reading.begun, reading.heads, reading.complete) == (1, 1, 1)     # one whole answer, nothing after
    assert reading.status == status
    assert reading.body == data[body_start:]
    assert strip_hop_by_hop([(name.lower(), value) for name, value in reading.headers]) == headers
    assert reading.keep_alive == keep_alive


TCHAR = "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
VALUE_TEXT = st.text(alphabet=" \t!\"#,;=/:<>?@[]{}~azAZ09-._", max_size=12).map(str.encode)
TOKENS = [b"close", b"Close", b"keep-alive", b"Keep-Alive", b"x-a", b"X-B", b"x-named", b"te", b"upgrade",
          b"content-type", b"closex", b"x close", b"CLOSE", b"", b" ", b"\t"]
ODD_BYTES = [b"\x00", b"\x01", b"\x0b", b"\x1f", b"\x7f", b"\x80", b"\xc3\xa9", b"\xff", b"\r", b"\n"]
NAMES = [b"X-A", b"x-a", b"X-B", b"x-named", b"X-Named", b"Content-Type", b"Server", b"Date", b"ETag",
         b"Set-Cookie", b"Cache-Control", b"Vary", b"Keep-Alive", b"Proxy-Connection", b"TE", b"Trailer",
         b"Upgrade", b"Proxy-Authorization", b"Content-Encoding", b"Content-Lengthy", b"Transfer-Encodings",
         b"Connections", b"x", b"A" * 40, TCHAR.encode()]


# Which odd thing a piece gets, if any: 0-4 name one, anything else (most draws) none. Drawn
# from the middle of a wide range, since hypothesis favours the ends of one.
RARE = st.integers(-40, 40).map(lambda n: n + 5 if -5 <= n < 0 else 99)
SOMETIMES = st.integers(-40, 40).map(lambda n: -8 <= n < 0)     # about one time in ten


def _field_line(pieces):
    """One field line from drawn pieces: usually well-formed, now and then (`rare` 0-4) with
    an odd byte, a blank before the colon, an obs-fold, a bare LF or CR, or Transfer-Encoding."""
    rare, name, value, lead, pick = pieces
    if rare == 0:
        line = name + b":" + lead + value
        at = pick % (len(line) + 1)
        return line[:at] + ODD_BYTES[pick % len(ODD_BYTES)] + line[at:] + b"\r\n"
    if rare == 1:
        return name + b" \t"[pick % 2:][:1] + b":" + lead + value + b"\r\n"
    if rare == 2:
        return name + b":" + lead + value + b"\r\n" + b" \t"[pick % 2:][:1] + b"more\r\n"
    if rare == 3:
        return name + b":" + lead + value + b"\n\r"[pick % 2:][:1]
    if rare == 4:
        return b"Transfer-Encoding: " + [b"chunked", b"identity", b"gzip, chunked"][pick % 3] + b"\r\n"
    return name + b":" + lead + value + b"\r\n"


FIELD_LINES = st.tuples(
    RARE,
    st.sampled_from(NAMES),
    VALUE_TEXT,
    st.sampled_from([b" ", b" ", b"", b"  ", b"\t", b" \t"]),
    st.integers(0, 1000),
).map(_field_line)


STATUS_LINES = st.one_of(
    st.builds(lambda code, reason: b"HTTP/1.1 %d %s\r\n" % (code, reason),
              st.sampled_from([200, 200, 200, 201, 205, 206, 299, 301, 302, 400, 404, 418, 500, 503, 599]),
              st.sampled_from([b"OK", b"", b"Not Found", b"A\tB", b"x ", b" ", b"!~"])),
    st.sampled_from([b"HTTP/1.1 204 No Content\r\n", b"HTTP/1.1 304 Not Modified\r\n",
                     b"HTTP/1.1 100 Continue\r\n", b"HTTP/1.1 101 Switching\r\n", b"HTTP/1.1 600 X\r\n",
                     b"HTTP/1.0 200 OK\r\n", b"HTTP/1.1 200\r\n", b"HTTP/1.1 200 OK\n", b"HTTP/1.1 200 \x80\r\n"]),
)


@st.composite
def answers(draw):
    """An answer built from pieces, most of them of the shape parse_whole_response takes."""
    status = draw(STATUS_LINES) if draw(SOMETIMES) else b"HTTP/1.1 %d %s\r\n" % (
        draw(st.sampled_from([200, 200, 201, 404, 500, 599])), draw(st.sampled_from([b"OK", b"", b"Not Found"])))
    fields = draw(st.lists(FIELD_LINES, max_size=6))
    if draw(st.booleans()):     # a Connection field: its tokens say close, or name fields, or both
        tokens = draw(st.lists(st.sampled_from(TOKENS), min_size=1, max_size=3))
        fields.insert(draw(st.integers(0, len(fields))), b"%s:%s%s\r\n" % (
            draw(st.sampled_from([b"Connection", b"connection", b"Proxy-Connection"])),
            draw(st.sampled_from([b" ", b"", b"\t"])),
            draw(st.sampled_from([b",", b", ", b" ,", b",\t", b" , "])).join(tokens)))
    body = draw(st.binary(max_size=24))
    length = len(body)
    how = draw(st.sampled_from(["none", "two", "form", "off", "zeros"])) if draw(SOMETIMES) else "right"
    name = draw(st.sampled_from([b"Content-Length", b"content-length", b"CONTENT-LENGTH"]))
    lead = draw(st.sampled_from([b" ", b"", b"\t", b"  "]))
    if how == "none":
        cl = []
    elif how == "two":
        cl = [name + b": %d\r\n" % length] * 2
    elif how == "form":
        form = draw(st.sampled_from([b"", b"+%d", b"%d ", b"-%d", b"0x%d", b"%d, %d", b"%d\t", b"0000000000000000%d"]))
        cl = [name + b":" + lead + form.replace(b"%d", b"%d" % length) + b"\r\n"]
    elif how == "off":
        cl = [name + b": %d\r\n" % max(0, length + draw(st.sampled_from([-1, 1, 2])))]
    elif how == "zeros":
        cl = [name + b":" + lead + b"0" * draw(st.integers(1, 14 - len(str(length)))) + b"%d\r\n" % length]
    else:
        cl = [name + b":" + lead + b"%d\r\n" % length]
    for line in cl:
        fields.insert(draw(st.integers(0, len(fields))), line)
    after = draw(st.sampled_from([b"x", b"\r\n", b"HTTP/1.1 200 OK\r\n\r\n"])) if draw(SOMETIMES) else b""
    return status + b"".join(fields) + b"\r\n" + body + after


def both_twins() -> list:
    """The Python twin and, unless this is a pure-Python build, the C one."""
    twins = [importlib.import_module("gwcore._fastpath_py")]
    try:
        twins.append(importlib.import_module("gwcore._fastpath"))
    except ImportError:
        if not os.environ.get("GW_NO_EXTENSIONS"):
            raise
    return twins


def test_what_is_taken_httptools_takes_and_reads_the_same():
    """The property: whenever parse_whole_response takes an answer, httptools fed the same
    bytes in one call succeeds and agrees on status, body, keep-alive and (less hop-by-hop and
    Connection-named ones, lower-cased) headers. Each example is tried on both twins (one run
    of 400 examples costs what two of 200 would); a good share of the examples must be taken."""
    twins = both_twins()
    seen = collections.Counter()

    @settings(max_examples=400, deadline=None)
    @given(data=answers())
    def check(data):
        results = [twin.parse_whole_response(data) for twin in twins]
        seen["taken" if results[0] is not None else "left"] += 1
        event("taken" if results[0] is not None else "left to httptools")
        for result in results:
            if result is not None:
                agrees_with_httptools(result, data)
        assert all(result == results[0] for result in results)

    check()
    assert seen["taken"] >= 0.3 * (seen["taken"] + seen["left"]), seen
    assert seen["left"] >= 0.1 * (seen["taken"] + seen["left"]), seen


@pytest.mark.parametrize("data", [NGINX + b"Hello, world!", *(
    answer(*fields) for fields in [
        (b"Connection: close",), (b"Connection:\tclose\t",), (b"Connection: x-a, close", b"X-A: 1"),
        (b"X-Empty:", b"X-Blank: \t", b"X-Trail: v \t"), (b"Keep-Alive: timeout=5", b"Upgrade: h2c"),
        (b"Connection: upgrade", b"Upgrade: websocket"),
    ])])
def test_specific_answers_agree_with_httptools(twin, data):
    result = twin.parse_whole_response(data)
    assert result is not None
    agrees_with_httptools(result, data)


def test_proxy_connection_close_ends_keep_alive(twin):
    """llhttp reads Proxy-Connection like Connection: such an answer is left to httptools."""
    data = b"HTTP/1.1 200 OK\r\nProxy-Connection: close\r\nContent-Length: 0\r\n\r\n"
    assert Reading(data).keep_alive is False
    result = twin.parse_whole_response(data)
    assert result is None
