"""parse_whole_request, on both fast path twins: what it takes and how it reads it, that the
twins agree, and that whatever it takes httptools (llhttp) takes too and reads the same way."""
import collections
import importlib
import os

import httptools
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

import gwcore._fastpath_py as py_twin

FEW = settings(max_examples=200, deadline=None)
SOME = settings(max_examples=100, deadline=None)
MAX_FIELDS = 100   # MAX_RESPONSE_FIELDS: the whole-message parsers' field limit
METHODS = [b"GET", b"HEAD", b"POST", b"PUT", b"DELETE", b"OPTIONS", b"PATCH"]
PCHAR = (b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
         b"-._~!$&'()*+,;=:@/?%")


@pytest.fixture(scope="module")
def c_twin():
    """The C twin; skipped (as conftest's `_twin` does) only in a pure-Python build."""
    try:
        return importlib.import_module("gwcore._fastpath")
    except ImportError:
        if os.environ.get("GW_NO_EXTENSIONS"):
            pytest.skip(reason="C twin not built: pure-Python build (GW_NO_EXTENSIONS=1)")
        raise


def outcome(function, *args):
    """What a call did, comparable across twins: its result, or its exception's type and text."""
    try:
        return "returned", function(*args)
    except Exception as exc:  # both twins must fail the same way, too
        return "raised", type(exc).__name__, str(exc)


def head(request_line: bytes, *fields: bytes) -> bytes:
    return request_line + b"\r\n" + b"".join(f + b"\r\n" for f in fields) + b"\r\n"


# ---------------------------------------------------------------- typical heads, taken

WRK = b"GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n"
CURL = (b"GET /api/items/42?api-version=v1&x=%20y HTTP/1.1\r\nHost: localhost:8000\r\n"
        b"User-Agent: curl/8.5.0\r\nAccept: */*\r\n\r\n")
BROWSER = (b"GET /dp/v1/json/a;rev=2/b@c?q=1&r=a:b,c HTTP/1.1\r\n"
           b"Host: api.example.com\r\n"
           b"Connection: keep-alive\r\n"
           b"sec-ch-ua: \"Chromium\";v=\"124\", \"Not-A.Brand\";v=\"99\"\r\n"
           b"User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36\r\n"
           b"Accept: text/html,application/xhtml+xml;q=0.9,*/*;q=0.8\r\n"
           b"Accept-Encoding: gzip, deflate, br\r\n"
           b"Accept-Language: en-US,en;q=0.9\r\n"
           b"Cookie: a=1; b=2\r\n"
           b"Ocp-Apim-Subscription-Key: 0123456789abcdef\r\n\r\n")


def test_wrk_head(twin):
    result = twin.parse_whole_request(WRK)
    assert result == (b"GET", b"/", [(b"host", b"127.0.0.1:8080")])
    method, target, headers = result
    assert type(method) is bytes and type(target) is bytes and type(headers) is list
    assert all(type(p) is tuple and type(p[0]) is bytes and type(p[1]) is bytes for p in headers)


def test_curl_head(twin):
    assert twin.parse_whole_request(CURL) == (
        b"GET", b"/api/items/42?api-version=v1&x=%20y",
        [(b"host", b"localhost:8000"), (b"user-agent", b"curl/8.5.0"), (b"accept", b"*/*")])


def test_browser_head(twin):
    assert twin.parse_whole_request(BROWSER) == (b"GET", b"/dp/v1/json/a;rev=2/b@c?q=1&r=a:b,c", [
        (b"host", b"api.example.com"),
        (b"connection", b"keep-alive"),
        (b"sec-ch-ua", b"\"Chromium\";v=\"124\", \"Not-A.Brand\";v=\"99\""),
        (b"user-agent", b"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36"),
        (b"accept", b"text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"),
        (b"accept-encoding", b"gzip, deflate, br"),
        (b"accept-language", b"en-US,en;q=0.9"),
        (b"cookie", b"a=1; b=2"),
        (b"ocp-apim-subscription-key", b"0123456789abcdef"),
    ])


@pytest.mark.parametrize("method", METHODS)
def test_every_taken_method(twin, method):
    assert twin.parse_whole_request(head(method + b" /x HTTP/1.1", b"Host: h")) == (
        method, b"/x", [(b"host", b"h")])


def test_no_fields_at_all(twin):
    # taken: the Host check is the gateway's, not the parser's
    assert twin.parse_whole_request(b"DELETE /a/b HTTP/1.1\r\n\r\n") == (b"DELETE", b"/a/b", [])


def test_every_pchar_in_the_target(twin):
    target = b"/" + PCHAR + b"?" + PCHAR
    assert twin.parse_whole_request(head(b"GET " + target + b" HTTP/1.1")) == (b"GET", target, [])


@pytest.mark.parametrize("target", [b"/", b"//", b"/?", b"/??", b"/%", b"/%zz%", b"/a?b=/c?d",
                                    b"/@:", b"/" + b"a" * 10000])
def test_odd_but_taken_targets(twin, target):
    assert twin.parse_whole_request(head(b"GET " + target + b" HTTP/1.1", b"Host: h")) == (
        b"GET", target, [(b"host", b"h")])


def test_values_from_first_non_blank_to_end_of_line(twin):
    data = head(b"GET / HTTP/1.1", b"A:b", b"B:  \t b c \t", b"C:", b"D: ", b"E:\t\t",
                b"F: \"q\" (x) {y} ~!", b"G:\ta\tb")
    assert twin.parse_whole_request(data) == (b"GET", b"/", [
        (b"a", b"b"), (b"b", b"b c \t"), (b"c", b""), (b"d", b""), (b"e", b""),
        (b"f", b"\"q\" (x) {y} ~!"), (b"g", b"a\tb")])


def test_names_lower_cased_any_token_char_duplicates_kept_in_order(twin):
    data = head(b"POST /p HTTP/1.1", b"HOST: a", b"X-Dup: 1", b"x-dup: 2", b"X-DUP: 3",
                b"!#$%&'*+-.^_`|~09AZaz: t", b"Host: b")
    assert twin.parse_whole_request(data) == (b"POST", b"/p", [
        (b"host", b"a"), (b"x-dup", b"1"), (b"x-dup", b"2"), (b"x-dup", b"3"),
        (b"!#$%&'*+-.^_`|~09azaz", b"t"), (b"host", b"b")])


def test_hop_by_hop_and_special_headers_are_all_reported(twin):
    fields = [b"Connection: keep-alive, X-Named", b"X-Named: 1", b"Keep-Alive: timeout=5",
              b"TE: trailers", b"Trailer: X-T",
              b"Proxy-Authorization: Basic eA==", b"Expect: 100-continue", b"X-Forwarded-For: 1.2.3.4",
              b"X-Request-Id: r-1", b"Content-Type: text/plain", b"Content-Lengthy: 5",
              b"X-Content-Length: 5", b"Transfer-Encodings: chunked", b"Upgrades: h2c"]
    result = twin.parse_whole_request(head(b"OPTIONS /o HTTP/1.1", *fields))
    assert result is not None
    expected = []
    for field in fields:
        name, value = field.split(b": ", 1)
        expected.append((name.lower(), value))
    assert result[2] == expected


def test_exactly_max_fields_taken_one_more_not(twin):
    fields = [b"X-%d: %d" % (i, i) for i in range(MAX_FIELDS)]
    result = twin.parse_whole_request(head(b"GET / HTTP/1.1", *fields))
    assert result is not None and len(result[2]) == MAX_FIELDS
    assert result[2][-1] == (b"x-99", b"99")
    assert twin.parse_whole_request(head(b"GET / HTTP/1.1", *fields, b"X-Last: 1")) is None


def test_results_are_independent(twin):
    first = twin.parse_whole_request(CURL)
    first[2].append((b"x", b"y"))
    assert twin.parse_whole_request(CURL)[2] == [
        (b"host", b"localhost:8000"), (b"user-agent", b"curl/8.5.0"), (b"accept", b"*/*")]


# ---------------------------------------------------------------- not taken

GOOD = b"GET /a HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n\r\n"

NOT_TAKEN = [
    # methods: other, lower-case, unknown, near misses
    ("get", b"get /a HTTP/1.1\r\nHost: h\r\n\r\n"),
    ("Get", b"Get /a HTTP/1.1\r\nHost: h\r\n\r\n"),
    ("CONNECT", b"CONNECT /a HTTP/1.1\r\nHost: h\r\n\r\n"),
    ("TRACE", b"TRACE /a HTTP/1.1\r\nHost: h\r\n\r\n"),
    ("PROPFIND", b"PROPFIND /a HTTP/1.1\r\nHost: h\r\n\r\n"),
    ("GETS", b"GETS /a HTTP/1.1\r\nHost: h\r\n\r\n"),
    ("GE", b"GE /a HTTP/1.1\r\nHost: h\r\n\r\n"),
    ("PUX", b"PUX /a HTTP/1.1\r\nHost: h\r\n\r\n"),
    ("HEAX", b"HEAX /a HTTP/1.1\r\nHost: h\r\n\r\n"),
    ("POSX", b"POSX /a HTTP/1.1\r\nHost: h\r\n\r\n"),
    ("PATCX", b"PATCX /a HTTP/1.1\r\nHost: h\r\n\r\n"),
    ("DELETX", b"DELETX /a HTTP/1.1\r\nHost: h\r\n\r\n"),
    ("OPTIONX", b"OPTIONX /a HTTP/1.1\r\nHost: h\r\n\r\n"),
    ("no-method", b" /a HTTP/1.1\r\nHost: h\r\n\r\n"),
    ("two-spaces", b"GET  /a HTTP/1.1\r\nHost: h\r\n\r\n"),
    ("tab-after-method", b"GET\t/a HTTP/1.1\r\nHost: h\r\n\r\n"),
    # targets
    ("asterisk", b"OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n"),
    ("absolute-form", b"GET http://h/a HTTP/1.1\r\nHost: h\r\n\r\n"),
    ("authority-form", b"GET h:80 HTTP/1.1\r\nHost: h\r\n\r\n"),
    ("no-target", b"GET HTTP/1.1\r\nHost: h\r\n\r\n"),
    ("empty-target", b"GET  HTTP/1.1\r\nHost: h\r\n\r\n"),
    *[(f"target-{c:#04x}", b"GET /a" + bytes([c]) + b"b HTTP/1.1\r\nHost: h\r\n\r\n")
      for c in b"#\"<>{}|\\^`[] \t\x00\x01\r\n\x7f\x80\xc3\xff"],
    ("target-utf8", "GET /caf\u00e9 HTTP/1.1\r\nHost: h\r\n\r\n".encode()),
    ("target-space-before-version", b"GET /a  HTTP/1.1\r\nHost: h\r\n\r\n"),
    # versions
    ("HTTP/1.0", b"GET /a HTTP/1.0\r\nHost: h\r\n\r\n"),
    ("HTTP/2.0", b"GET /a HTTP/2.0\r\nHost: h\r\n\r\n"),
    ("HTTP/1.2", b"GET /a HTTP/1.2\r\nHost: h\r\n\r\n"),
    ("http/1.1", b"GET /a http/1.1\r\nHost: h\r\n\r\n"),
    ("HTTP/1.10", b"GET /a HTTP/1.10\r\nHost: h\r\n\r\n"),
    ("HTTP/1.1-space", b"GET /a HTTP/1.1 \r\nHost: h\r\n\r\n"),
    ("no-version", b"GET /a\r\nHost: h\r\n\r\n"),
    ("HTTP/0.9", b"GET /a\r\n\r\n"),
    # framing headers, in any case, anywhere
    ("content-length", b"POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n"),
    ("content-length-upper", b"GET /a HTTP/1.1\r\nCONTENT-LENGTH: 0\r\nHost: h\r\n\r\n"),
    ("content-length-body", b"POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello"),
    ("transfer-encoding", b"POST /a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"),
    ("transfer-encoding-chunks", b"POST /a HTTP/1.1\r\nHost: h\r\ntransfer-encoding: chunked\r\n\r\n"
                                 b"0\r\n\r\n"),
    ("upgrade", b"GET /a HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"),
    # llhttp reads Proxy-Connection as Connection (close ends keep-alive): httptools decides
    ("proxy-connection-close", b"GET /a HTTP/1.1\r\nHost: h\r\nProxy-Connection: close\r\n\r\n"),
    ("proxy-connection-keep-alive", b"GET /a HTTP/1.1\r\nHost: h\r\nProxy-Connection: keep-alive\r\n\r\n"),
    ("upgrade-alone", b"GET /a HTTP/1.1\r\nHost: h\r\nupgrade: h2c\r\n\r\n"),
    # field lines
    ("obs-fold", b"GET /a HTTP/1.1\r\nHost: h\r\nX-A: a\r\n folded\r\n\r\n"),
    ("obs-fold-tab", b"GET /a HTTP/1.1\r\nHost: h\r\nX-A: a\r\n\tfolded\r\n\r\n"),
    ("space-before-colon", b"GET /a HTTP/1.1\r\nHost : h\r\n\r\n"),
    ("tab-before-colon", b"GET /a HTTP/1.1\r\nHost\t: h\r\n\r\n"),
    ("space-in-name", b"GET /a HTTP/1.1\r\nX A: b\r\nHost: h\r\n\r\n"),
    ("leading-space-field", b"GET /a HTTP/1.1\r\n Host: h\r\n\r\n"),
    ("empty-name", b"GET /a HTTP/1.1\r\n: b\r\nHost: h\r\n\r\n"),
    ("no-colon", b"GET /a HTTP/1.1\r\nHost h\r\n\r\n"),
    *[(f"name-{c:#04x}", b"GET /a HTTP/1.1\r\nX" + bytes([c]) + b"A: b\r\nHost: h\r\n\r\n")
      for c in b"\"(),/;<=>?@[\\]{}\x00\x7f\x80\xff"],
    *[(f"value-{c:#04x}", b"GET /a HTTP/1.1\r\nHost: h\r\nX-A: a" + bytes([c]) + b"b\r\n\r\n")
      for c in [0, 1, 8, 0x0b, 0x0c, 0x0e, 0x1f, 0x7f, 0x80, 0xa0, 0xff]],
    ("value-utf8", "GET /a HTTP/1.1\r\nHost: h\r\nX-A: caf\u00e9\r\n\r\n".encode()),
    ("bare-lf-request-line", b"GET /a HTTP/1.1\nHost: h\r\n\r\n"),
    ("bare-lf-field", b"GET /a HTTP/1.1\r\nHost: h\n\r\n"),
    ("bare-lf-end", b"GET /a HTTP/1.1\r\nHost: h\r\n\n"),
    ("all-bare-lf", b"GET /a HTTP/1.1\nHost: h\n\n"),
    ("bare-cr-request-line", b"GET /a HTTP/1.1\rHost: h\r\n\r\n"),
    ("bare-cr-in-value", b"GET /a HTTP/1.1\r\nHost: h\r\nX-A: a\rb\r\n\r\n"),
    ("bare-lf-in-value", b"GET /a HTTP/1.1\r\nHost: h\r\nX-A: a\nb\r\n\r\n"),
    ("bare-cr-end", b"GET /a HTTP/1.1\r\nHost: h\r\n\r"),
    ("cr-cr-lf", b"GET /a HTTP/1.1\r\nHost: h\r\r\n\r\n"),
    # incomplete
    ("empty", b""),
    ("method-only", b"GET"),
    ("request-line-only", b"GET /a HTTP/1.1\r\n"),
    ("no-final-crlf", b"GET /a HTTP/1.1\r\nHost: h\r\n"),
    ("half-final-crlf", b"GET /a HTTP/1.1\r\nHost: h\r\n\r"),
    ("half-line", b"GET /a HTTP/1.1\r\nHost: h"),
    ("cut-version", b"GET /a HTTP/1."),
    # something before or after the head
    ("leading-crlf", b"\r\n" + GOOD),
    ("leading-lf", b"\n" + GOOD),
    ("leading-space", b" " + GOOD),
    ("pipelined", GOOD + GOOD),
    ("pipelined-partial", GOOD + b"GET /b HT"),
    ("trailing-crlf", GOOD + b"\r\n"),
    ("trailing-byte", GOOD + b"x"),
    ("trailing-nul", GOOD + b"\x00"),
]


@pytest.mark.parametrize("data", [pytest.param(d, id=i) for i, d in NOT_TAKEN])
def test_not_taken(twin, data):
    assert twin.parse_whole_request(GOOD) is not None   # the cases differ from a taken head
    assert twin.parse_whole_request(data) is None


@pytest.mark.parametrize("data", [
    pytest.param(bytearray(GOOD), id="bytearray"),
    pytest.param(memoryview(GOOD), id="memoryview"),
    pytest.param(GOOD.decode(), id="str"),
    pytest.param(type("B", (bytes,), {})(GOOD), id="bytes-subclass"),
    pytest.param(None, id="None"),
    pytest.param(42, id="int"),
    pytest.param([GOOD], id="list"),
])
def test_not_bytes_not_taken(twin, data):
    assert twin.parse_whole_request(data) is None


def test_every_head_prefix_not_taken(twin):
    """A head cut anywhere (a read that ends mid-head) is left to httptools."""
    for data in (WRK, CURL, BROWSER):
        for cut in range(len(data)):
            assert twin.parse_whole_request(data[:cut]) is None, data[:cut]
        assert twin.parse_whole_request(data) is not None


# ---------------------------------------------------------------- random heads built from pieces

# Each piece of a head is a good one or a bad one. Per head: all good (the request line and the
# fields still vary widely), exactly one bad piece (a near miss), or bad pieces now and then
# (1 in SOME_BAD pieces), or often (1 in MANY_BAD).
CLEAN, ONE, SOME_BAD, MANY_BAD = 0, 1, 12, 3

GOOD_METHODS = st.sampled_from(METHODS)
BAD_METHODS = st.sampled_from([b"get", b"Get", b"CONNECT", b"TRACE", b"PROPFIND", b"GETS", b"GE", b"PUX",
                               b"PATCX", b"", b"PRI", b"ACL", b"MKCOL", b"POST ", b"G\x00T"])
TARGET_START = st.just(b"/")
BAD_TARGET_START = st.sampled_from([b"", b"*", b"http://h/", b"h:1", b"a", b"?"])
TARGET_CHAR = st.sampled_from([bytes([c]) for c in PCHAR] + [b"%20", b"%2F", b"%zz", b"/..", b"/."])
BAD_TARGET_CHAR = st.sampled_from([bytes([c]) for c in b"#\"<>{}|\\^`[] \t\x00\x01\x7f\x80\xff\r\n"]
                                  + ["\u00e9".encode()])
VERSION = st.just(b"HTTP/1.1")
BAD_VERSION = st.sampled_from([b"HTTP/1.0", b"HTTP/2.0", b"HTTP/1.2", b"http/1.1", b"HTTP/1.10", b"HTTP/1.1 ",
                               b"HTTP/1", b"", b"HTTP/0.9", b"HTTP/1.1\t"])
EOL = st.just(b"\r\n")
BAD_EOL = st.sampled_from([b"\n", b"\r", b"\r\r\n", b"\n\r", b""])
SEP = st.just(b" ")
BAD_SEP = st.sampled_from([b"  ", b"\t", b""])

NAME = st.sampled_from([b"Host", b"host", b"HOST", b"Accept", b"User-Agent", b"X-A", b"x-a", b"X_Under",
                        b"Connection", b"connection", b"Keep-Alive", b"TE", b"Trailer", b"Expect",
                        b"X-Forwarded-For", b"X-Request-Id", b"Proxy-Authorization", b"Proxy-Connection",
                        b"Content-Type", b"Content-Lengthy", b"X-Content-Length", b"Upgrades", b"Cookie",
                        b"!#$%&'*+-.^_`|~", b"a", b"Z9"])
FRAMING_NAME = st.sampled_from([b"Content-Length", b"content-length", b"Transfer-Encoding", b"TRANSFER-ENCODING",
                                b"Upgrade", b"upgrade", b"UPGRADE", b"Content-length"])   # not taken
BAD_NAME = st.sampled_from([b"", b"X A", b"X-A ", b"X-A\t", b" X-A", b"X\x00A", b"X(A)", b"X/A", b"X@A",
                            b"X\x80", b"X\x7fA", b"X;A", b"X\"A", b"X{A}", b"X\rA", b"X\nA"])
# what starts a field line when it is not a good name: a framing name, a bad one, or a blank (obs-fold)
FIELD_START = st.one_of(FRAMING_NAME, BAD_NAME, st.sampled_from([b" ", b"\t"]))
COLON = st.just(b":")
BAD_COLON = st.sampled_from([b"", b" :", b"\t:"])
OWS = st.sampled_from([b"", b" ", b" ", b"  ", b"\t", b" \t"])
VALUE_PIECE = st.sampled_from([b"a", b"1", b" ", b"\t", b"close", b"keep-alive", b",", b"100-continue",
                               b"\"q\"", b"(c)", b"*/*", b"=", b";", b"\\", b"{}", b"~", b"Close",
                               b"CLOSE", b"upgrade", b"chunked", b"h", b"#", b"%", b"@", b"[]"])
BAD_VALUE_PIECE = st.sampled_from([b"\x00", b"\x01", b"\x0b", b"\x1f", b"\x7f", b"\x80", b"\xa0", b"\xff",
                                   b"\r", b"\n", b"\r\n ", b"\r\n\t", "\u00e9".encode()])
BEFORE = st.just(b"")
BAD_BEFORE = st.sampled_from([b"\r\n", b"\n", b" ", b"\r\n\r\n"])
AFTER = st.just(b"")
BAD_AFTER = st.sampled_from([b"\r\n", b"x", b"\x00", b"hello", b"0\r\n\r\n", b"GET / HTTP/1.1\r\n\r\n",
                             b"GET / HTTP/1.1\r\nHost: h\r\n\r\n", b"GET / HT", b"\n"])


@st.composite
def request_heads(draw):
    """Request heads from pieces: good ones mostly (so the parser takes many), bad ones here and
    there (methods, targets with odd characters, versions, line ends, field names and values
    with odd bytes, obs-fold, framing headers, the field limit, bytes before and after)."""
    plan = [("before", BEFORE, BAD_BEFORE), ("method", GOOD_METHODS, BAD_METHODS), ("sep", SEP, BAD_SEP),
            ("target", TARGET_START, BAD_TARGET_START)]
    plan += [("target", TARGET_CHAR, BAD_TARGET_CHAR)] * draw(st.integers(0, 12))
    plan += [("sep", SEP, BAD_SEP), ("version", VERSION, BAD_VERSION), ("eol", EOL, BAD_EOL)]
    for _ in range(draw(st.integers(0, 8))):
        plan += [("name", NAME, FIELD_START), ("colon", COLON, BAD_COLON), ("ows", OWS, OWS)]
        plan += [("value", VALUE_PIECE, BAD_VALUE_PIECE)] * draw(st.integers(0, 6))
        plan += [("eol", EOL, BAD_EOL)]
    plan += [("end", EOL, BAD_EOL), ("after", AFTER, BAD_AFTER)]

    mode = draw(st.sampled_from([CLEAN, CLEAN, CLEAN, ONE, ONE, ONE, SOME_BAD, MANY_BAD]))
    bad = set()
    if mode == ONE:     # a kind of piece, then one piece of that kind
        kind = draw(st.sampled_from(sorted({k for k, _, _ in plan if k != "ows"})))
        bad.add(draw(st.sampled_from([i for i, (k, _, _) in enumerate(plan) if k == kind])))
    elif mode != CLEAN:
        bad = {i for i in range(len(plan)) if draw(st.integers(1, mode)) == 1}
    parts = [draw(bad_piece if i in bad else good) for i, (_, good, bad_piece) in enumerate(plan)]
    if draw(st.integers(0, 30)) == 0:   # near or over the field limit, before the end
        parts[-2:-2] = [b"X-%d: v\r\n" % i for i in range(draw(st.integers(MAX_FIELDS - 9, MAX_FIELDS + 1)))]
    return b"".join(parts)


def test_parse_whole_request_twins_agree(c_twin):
    counts = collections.Counter()

    @FEW
    @given(data=request_heads())
    def check(data):
        expected = outcome(py_twin.parse_whole_request, data)
        assert outcome(c_twin.parse_whole_request, data) == expected
        taken = expected[0] == "returned" and expected[1] is not None
        event("taken" if taken else "not taken")
        counts[taken] += 1

    check()
    assert counts[True] >= 30 and counts[False] >= 20, counts    # both answers were compared


class _Recorder:
    """httptools callbacks, recorded; what the gateway reads at on_headers_complete, too."""

    def __init__(self):
        self.parser = None
        self.begun = self.completed = self.headers_completed = 0
        self.url = b""
        self.headers = []
        self.body = []
        self.at_head = None

    def on_message_begin(self):
        self.begun += 1

    def on_url(self, url):
        self.url += url

    def on_header(self, name, value):
        self.headers.append((name.lower(), value))

    def on_headers_complete(self):
        self.headers_completed += 1
        p = self.parser
        self.at_head = (p.get_method(), p.get_http_version(), p.should_keep_alive(), p.should_upgrade())

    def on_body(self, body):
        self.body.append(body)

    def on_message_complete(self):
        self.completed += 1


def httptools_reads(data: bytes) -> _Recorder:
    recorder = _Recorder()
    recorder.parser = httptools.HttpRequestParser(recorder)
    recorder.parser.feed_data(data)     # raises if llhttp refuses the bytes
    return recorder


def fast_path_keep_alive(headers) -> bool:
    """keep_alive as HttpProtocol._take_whole decides it: no `close` among the Connection tokens
    (split on ',', stripped, lower-cased, as Exchange.special_header makes them)."""
    tokens = [t.strip().lower() for name, value in headers if name == b"connection" for t in value.split(b",")]
    return b"close" not in tokens


def _check_httptools_agrees(parse, data) -> bool:
    """True when `parse` took `data`; then httptools must take it too and read the same."""
    result = parse(data)
    if result is None:
        return False
    method, target, headers = result
    read = httptools_reads(data)
    assert (read.begun, read.headers_completed, read.completed) == (1, 1, 1)
    assert read.body == []
    assert read.at_head[0] == method
    assert read.url == target
    assert read.headers == headers
    assert read.at_head[1] == "1.1"
    assert read.at_head[3] is False                 # should_upgrade
    assert read.at_head[2] == fast_path_keep_alive(headers)
    return True


def test_httptools_agrees_on_whatever_is_taken(twin):
    """The property that makes the fast path safe: every head it takes, llhttp takes in one
    feed_data, as one message with no body, and reads the same method, target, fields,
    version, keep-alive and (no) upgrade."""
    counts = collections.Counter()

    @FEW
    @given(data=request_heads())
    def check(data):
        taken = _check_httptools_agrees(twin.parse_whole_request, data)
        event("taken" if taken else "not taken")
        counts[taken] += 1

    check()
    # the property was exercised: a good share of the generated heads were taken (and some not)
    assert counts[True] >= 30, counts
    assert counts[False] >= 20, counts


CONNECTION_PIECE = st.sampled_from([b"close", b"Close", b"CLOSE", b", close", b"close,", b"\tclose\t",
                                    b"keep-alive", b"upgrade", b"te", b"x", b",", b", ", b" ,", b" ", b"\t",
                                    b"clos", b"closex", b"close;x", b"\"close\"", b"xclose"])


def test_connection_close_read_as_llhttp_reads_it(twin):
    """keep_alive from the Connection tokens (the fast path's rule) is llhttp's should_keep_alive."""
    counts = collections.Counter()

    @SOME
    @given(values=st.lists(st.lists(CONNECTION_PIECE, min_size=1, max_size=5).map(b"".join),
                           min_size=1, max_size=3),
           method=GOOD_METHODS)
    def check(values, method):
        data = head(method + b" /c HTTP/1.1", b"Host: h", *[b"Connection: " + v for v in values])
        assert _check_httptools_agrees(twin.parse_whole_request, data)
        counts[fast_path_keep_alive(twin.parse_whole_request(data)[2])] += 1

    check()
    assert counts[True] >= 15 and counts[False] >= 15, counts    # both outcomes were exercised


@pytest.mark.parametrize("data", [WRK, CURL, BROWSER] + [
    head(m + b" /x?y HTTP/1.1", b"Host: h", b"Connection: close") for m in METHODS])
def test_httptools_agrees_on_typical_heads(twin, data):
    assert _check_httptools_agrees(twin.parse_whole_request, data)


@pytest.mark.parametrize("value", [b"close", b"Close", b"keep-alive, close"])
def test_proxy_connection_close_is_left_to_httptools(twin, value):
    """llhttp reads `Proxy-Connection: close` as `Connection: close` (not kept alive); the fast
    path leaves such a head to httptools, so keep-alive is decided one way however it arrives."""
    data = head(b"GET / HTTP/1.1", b"Host: h", b"Proxy-Connection: " + value)
    assert httptools_reads(data).at_head[2] is False
    assert twin.parse_whole_request(data) is None
