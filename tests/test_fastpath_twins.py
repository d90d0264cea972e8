"""The two fast path twins give identical answers to the same random input; fastpath.py picks C."""
import importlib
import os
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gwcore._fastpath_py as py_twin

# Modest example counts: the whole fast path suite stays at a few seconds.
FEW = settings(max_examples=200, deadline=None)


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


def test_same_public_api(c_twin):
    assert c_twin.__all__ == py_twin.__all__
    assert c_twin.HOP_BY_HOP == py_twin.HOP_BY_HOP
    assert issubclass(c_twin.PathError, ValueError)


# ---------------------------------------------------------------- normalize_path

# Mostly the pieces that steer normalisation, so escapes, dot segments and slashes meet
# often; then plain path characters, any ASCII (controls, refused ones), rarely non-ASCII.
PATH_PIECES = st.one_of(
    st.sampled_from(list("//..%;2eEfF5cC0aA7~") + ["%2e", "%2E", "%2f", "%5C", "%00", "%7e", "%41", "%e9", "..", "/..", "/."]),
    st.sampled_from(list("abcxyz-_:@;=,")),
    st.characters(max_codepoint=0x7F),
)
PATHS = st.lists(PATH_PIECES, max_size=24).map("".join)


@FEW
@given(path=PATHS, leading_slash=st.booleans(), as_bytes=st.booleans(),
       non_ascii=st.one_of(st.none(), st.none(), st.none(), st.characters(min_codepoint=0x80, max_codepoint=0x2FF)))
def test_normalize_path_twins_agree(c_twin, path, leading_slash, as_bytes, non_ascii):
    if non_ascii is not None:
        path = path[:len(path) // 2] + non_ascii + path[len(path) // 2:]
    if leading_slash:
        path = "/" + path
    arg = path.encode("utf-8") if as_bytes else path
    expected = outcome(py_twin.normalize_path, arg)
    assert outcome(c_twin.normalize_path, arg) == expected
    if expected[0] == "returned":   # canonical stays canonical, in both
        assert outcome(c_twin.normalize_path, expected[1]) == ("returned", expected[1])


# ---------------------------------------------------------------- Router.match

SEGMENTS = st.sampled_from(["a", "b", "A", "items", "Items", "v1", "v2"])
TEMPLATE_SEGMENTS = st.sampled_from(["a", "b", "items", "Items", "{id}", "{name}", "*", "x"])
METHODS = st.sampled_from(["GET", "POST", "*"])
VERSIONS = st.sampled_from([None, "v1", "v2"])


@st.composite
def route_specs(draw):
    specs = []
    for number in range(draw(st.integers(0, 6))):
        prefix = draw(st.lists(SEGMENTS, max_size=3))
        ops = []
        for index in range(draw(st.integers(0, 4))):
            template = "/" + "/".join(draw(st.lists(TEMPLATE_SEGMENTS, max_size=4)))
            ops.append((f"op{number}.{index}", draw(METHODS), template))
        if not ops:     # the compiler's stand-in for an API without operations
            ops = [(f"op{number}.all", "*", "/*")]
        scheme = draw(st.sampled_from([None, None, "header", "query"]))
        version = draw(VERSIONS) if scheme else None
        name = "Api-Version" if scheme == "header" else "api-version"
        specs.append((f"api{number}", prefix, scheme, version, name,
                      draw(st.integers(1, 3)), draw(st.booleans()), ops))
    return specs


@st.composite
def request_paths(draw, specs):
    """Mostly a path under one of the APIs (so operations get matched), else anything."""
    segments = []
    if specs and draw(st.integers(0, 4)):
        spec = draw(st.sampled_from(specs))
        segments = list(spec[1])
        if segments and draw(st.booleans()):
            segments[-1] += draw(st.sampled_from([";rev=1", ";rev=2", ";rev=3", ";rev=x", ";v=1"]))
        template = [s for s in draw(st.sampled_from(spec[7]))[2].split("/") if s]
        for index, segment in enumerate(template):     # one of its operations, filled in
            if segment.startswith("{"):
                segment = draw(st.sampled_from(["42", "a", "Items"]))
            elif segment == "*" and index == len(template) - 1:
                segment = draw(st.sampled_from(["", "x", "x/y"]))
            segments.append(segment)
    if not segments or not draw(st.integers(0, 3)):
        segments += draw(st.lists(st.one_of(
            SEGMENTS, st.sampled_from(["", "42", "x", "X", "*", "{id}", "a;rev=2", "b;rev=x", "a;v=1"])),
            max_size=3))
    path = "/" + "/".join(segments)
    return path if draw(st.integers(0, 9)) else path.lstrip("/")


@st.composite
def tables_and_paths(draw):
    specs = draw(route_specs())
    return specs, draw(request_paths(specs))


@FEW
@given(table=tables_and_paths(), method=st.sampled_from(["GET", "POST", "PUT"]),
       query=st.sampled_from(["", "api-version=v1", "x=1&api-version=v2", "api-version=", "api-version=v9"]),
       headers=st.sampled_from([None, {}, {"api-version": "v1"}, {"api-version": "v2"}, {"api-version": ""}]))
def test_router_match_twins_agree(c_twin, table, method, query, headers):
    specs, path = table
    expected = outcome(py_twin.Router(specs).match, method, path, query, headers)
    assert outcome(c_twin.Router(specs).match, method, path, query, headers) == expected


# ---------------------------------------------------------------- head rewriting

NAMES = st.sampled_from([b"connection", b"keep-alive", b"te", b"x-a", b"x-b", b"host", b"upgrade", b"X-A"])
VALUES = st.sampled_from([b"", b"1", b"x-a", b"X-B, te", b"close", b" x-a ,, host"])


@FEW
@given(headers=st.lists(st.tuples(NAMES, VALUES), max_size=8))
def test_head_twins_agree(c_twin, headers):
    assert c_twin.strip_hop_by_hop(headers) == py_twin.strip_hop_by_hop(headers)
    assert (c_twin.serialize_request_head(b"GET", b"/x", headers)
            == py_twin.serialize_request_head(b"GET", b"/x", headers))
    skip, extra = frozenset([b"te", b"x-a"]), headers[:2]
    assert (c_twin.build_request_head(b"GET", b"/x", headers, skip, extra)
            == py_twin.build_request_head(b"GET", b"/x", headers, skip, extra))


# ---------------------------------------------------------------- the chooser

def _implementation(no_extensions, cwd):
    """fastpath.IMPLEMENTATION in a fresh interpreter (the variable is read at import)."""
    env = {k: v for k, v in os.environ.items() if k != "GW_NO_EXTENSIONS"}
    if no_extensions:
        env["GW_NO_EXTENSIONS"] = "1"
    # cwd away from the source tree: import the installed gwcore, as the tests do
    done = subprocess.run([sys.executable, "-c", "from gwcore import fastpath; print(fastpath.IMPLEMENTATION)"],
                          env=env, cwd=cwd, capture_output=True, text=True, timeout=60, check=True)
    return done.stdout.strip()


def test_chooser_takes_python_twin_when_told(tmp_path):
    assert _implementation(True, tmp_path) == "py"


def test_chooser_takes_c_twin_by_default(tmp_path):
    if os.environ.get("GW_NO_EXTENSIONS"):
        pytest.skip(reason="pure-Python build (GW_NO_EXTENSIONS=1): no C twin to choose")
    assert _implementation(False, tmp_path) == "c"


# ---------------------------------------------------------------- parse_whole_response

# Backend answers built from pieces: a good answer (status line, field lines, Connection with
# tokens that name present fields or say close, one Content-Length, a body of that length), and
# in about half of them one defect of one of many kinds, so that both twins meet every way of
# refusing an answer and of reading one.
GOOD_STATUS = st.sampled_from([b"HTTP/1.1 200 OK\r\n", b"HTTP/1.1 200 \r\n", b"HTTP/1.1 404 Not Found\r\n",
                               b"HTTP/1.1 599 x\t y\r\n", b"HTTP/1.1 201 Created\r\n"])
GOOD_NAMES = st.sampled_from([
    b"X-A", b"x-a", b"X-Named", b"Content-Type", b"Keep-Alive", b"Proxy-Connection", b"TE", b"Trailer",
    b"Upgrade", b"Proxy-Authorization", b"Connections", b"Content-Lengt", b"Content-Lengthx",
    b"!#$%&'*+-.^_`|~", b"A" * 40,
])
GOOD_VALUES = st.sampled_from([
    b"", b" ", b"\t", b"1", b" 1", b"\t1", b"1 ", b"1\t", b"close", b"x-a", b"chunked", b"a b \" ~", b"~" * 30,
])
CONNECTION_TOKENS = st.sampled_from([
    b"close", b"Close", b" CLOSE\t", b"closed", b"close x", b"keep-alive", b"x-a", b"X-A", b"x-named", b"te",
    b"upgrade", b"content-type", b"content-length", b"", b" ",
])
DEFECTS = {
    "status": [b"HTTP/1.1 200 \x7f\r\n", b"HTTP/1.1 200 \xe9\r\n", b"HTTP/1.1 204 No Content\r\n",
               b"HTTP/1.1 304 X\r\n", b"HTTP/1.1 100 Continue\r\n", b"HTTP/1.1 199 X\r\n", b"HTTP/1.1 600 X\r\n",
               b"HTTP/1.1 20 X\r\n", b"HTTP/1.1 2000 X\r\n", b"HTTP/1.1 200\r\n", b"HTTP/1.0 200 OK\r\n",
               b"HTTP/1.1 200 OK\n", b"HTTP/1.1 200 OK\r", b"HTTP/1.1 2x0 OK\r\n", b"http/1.1 200 OK\r\n", b""],
    "name": [b"X A", b"X-A ", b"X-A\t", b"X@A", b"", b"X\x7f", b"X\xe9", b"X\x00"],
    "colon": [b" :", b"", b"\t:", b"::"],
    "value": [b"a\x00b", b"a\x01", b"\x1f", b"a\x7f", b"caf\xc3\xa9", b"\x80", b"\xff", b"a\rb", b"a\nb"],
    "line end": [b"\n", b"\r", b"\r\n\t", b"\r\n "],
    "transfer-encoding": [b"Transfer-Encoding: chunked\r\n", b"transfer-encoding: identity\r\n"],
    "length value": [b"0%d", b"000000000000000%d", b"+%d", b"%d, %d", b"-%d", b"0x%d", b"%d ", b"%d\t", b""],
    "length count": [0, 2],
    "body length": [1, -1],
    "many fields": [99, 100],
    "head end": [b"\n", b"", b"\r"],
    "after": [b"x", b"\r\n", b"HTTP/1.1 200 OK\r\n"],
}

ODDITIES = [(kind, odd) for kind, odds in DEFECTS.items() for odd in odds]


@st.composite
def backend_answers(draw):
    defect, odd = draw(st.sampled_from(ODDITIES)) if draw(st.booleans()) else (None, None)
    pairs = draw(st.lists(st.tuples(GOOD_NAMES, GOOD_VALUES), max_size=4))
    fields = [[name, b": ", value, b"\r\n"] for name, value in pairs]
    if draw(st.booleans()):
        tokens = draw(st.lists(CONNECTION_TOKENS, min_size=1, max_size=3))
        fields.insert(draw(st.integers(0, len(fields))), [b"Connection", b": ", b", ".join(tokens), b"\r\n"])
    body = draw(st.sampled_from([b"", b"hi", b"x" * 10, b"\r\n\r\n", b"\x00\xff\x80"]))
    length = len(body) + (odd if defect == "body length" else 0)
    form = odd if defect == "length value" else b"%d"
    for _ in range(odd if defect == "length count" else 1):
        fields.insert(draw(st.integers(0, len(fields))),
                      [b"Content-Length", b": ", form.replace(b"%d", b"%d" % max(length, 0)), b"\r\n"])
    if defect == "transfer-encoding":
        fields.insert(draw(st.integers(0, len(fields))), [odd])
    elif defect in ("name", "colon", "value", "line end"):
        field = draw(st.sampled_from([f for f in fields if len(f) == 4] or [[b"X-A", b": ", b"1", b"\r\n"]]))
        if field not in fields:
            fields.append(field)
        field[("name", "colon", "value", "line end").index(defect)] = odd
    if defect == "many fields":
        fields[:0] = [[b"X-%d: v\r\n" % i] for i in range(odd)]
    return (odd if defect == "status" else draw(GOOD_STATUS)) + b"".join(b"".join(f) for f in fields) \
        + (odd if defect == "head end" else b"\r\n") + body + (odd if defect == "after" else b"")


@FEW
@given(data=backend_answers(), cut=st.one_of(st.none(), st.none(), st.integers(0, 200)))
def test_parse_whole_response_twins_agree(c_twin, data, cut):
    if cut is not None:     # a part of an answer, as a read may bring
        data = data[:cut]
    expected = outcome(py_twin.parse_whole_response, data)
    assert outcome(c_twin.parse_whole_response, data) == expected
