"""Fast path, Python twin: path normalisation, route matching, request-head rewriting,
whole request heads and backend answers read in one go.

`_fastpath.pyx` implements the same API in Cython; `fastpath.py` picks one. Keep the two
in step: the tests run both and a hypothesis test demands identical answers.
"""

import re

__all__ = [
    "PathError", "normalize_path", "Router",
    "HOP_BY_HOP", "strip_hop_by_hop", "serialize_request_head", "build_request_head",
    "build_head", "has_header", "parse_whole_response", "parse_whole_request",
]

_HEX = "0123456789ABCDEFabcdef"
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
# Raw characters refused in a path: controls, space, backslash (some backends read it as /),
# and what a request target may not hold.
_REFUSED = frozenset([chr(c) for c in range(0x21)] + ["\x7f", "\\", "#", '"', "<", ">", "{", "}", "|", "^", "`"])


# Everything printable in ASCII but what _REFUSED names: one regex call instead of a loop.
_ALLOWED = re.compile(r"[!$%&'()*+,\-./0-9:;=?@A-Z\[\]_a-z~]*")


class PathError(ValueError):
    """The request path is malformed or tries to escape: answered with 400."""


def normalize_path(path):
    """The canonical form of a request path, the form that is routed and forwarded.

    Percent-encoded unreserved characters are decoded, other escapes upper-cased; `.` and
    `..` segments resolved; repeated slashes merged. An encoded slash or backslash, `%00`,
    a bad escape, a refused raw character, non-ASCII, or `..` above the root raise PathError.
    """
    if isinstance(path, (bytes, bytearray)):
        try:
            path = path.decode("ascii")
        except UnicodeDecodeError:
            raise PathError("non-ASCII byte in path") from None
    if not path.startswith("/"):
        raise PathError("path must start with /")
    if "%" in path:
        path = _decode_escapes(path)
    if _ALLOWED.fullmatch(path) is None:
        raise PathError("refused character in path")
    if "//" not in path and "/." not in path:
        return path
    trailing = path.endswith("/") or path.endswith("/.") or path.endswith("/..")
    out = []
    for segment in path.split("/"):
        if segment == "" or segment == ".":
            continue
        if segment == "..":
            if not out:
                raise PathError("path climbs above the root")
            out.pop()
            continue
        head = segment.split(";", 1)[0]
        if head == "." or head == "..":
            raise PathError("dot segment with parameters")
        out.append(segment)
    result = "/" + "/".join(out)
    if trailing and out:
        result += "/"
    return result


def _decode_escapes(path):
    parts = []
    i = 0
    n = len(path)
    while i < n:
        ch = path[i]
        if ch != "%":
            parts.append(ch)
            i += 1
            continue
        if i + 2 >= n:
            raise PathError("truncated percent-escape")
        h1 = path[i + 1]
        h2 = path[i + 2]
        if h1 not in _HEX or h2 not in _HEX:
            raise PathError("bad percent-escape")
        code = int(h1 + h2, 16)
        decoded = chr(code)
        if decoded in _UNRESERVED:
            parts.append(decoded)
        elif code == 0x2F or code == 0x5C or code == 0:
            raise PathError("encoded slash, backslash or NUL in path")
        else:
            parts.append("%" + (h1 + h2).upper())
        i += 3
    return "".join(parts)


# ---------------------------------------------------------------- routing

class _OpNode:
    """One segment position of an API's operation templates.

    `ops` and `wildcard` hold (op, param names) entries: two templates may name the
    parameter at one position differently (/items/{id}, /items/{itemId}/parts), so the
    names belong to the operation, not to the shared node.
    """

    __slots__ = ("literal", "param", "wildcard", "ops")

    def __init__(self):
        self.literal = {}
        self.param = None
        self.wildcard = None  # {method: entry} matching zero or more remaining segments
        self.ops = None       # {method: entry} for a template ending here


class _Variant:
    """Every revision of one version of an API at one path."""

    __slots__ = ("revisions", "current", "root")

    def __init__(self):
        self.revisions = {}   # revision number -> (api, op root)
        self.current = None


class _PathNode:
    __slots__ = ("children", "variants", "scheme", "version_name")

    def __init__(self):
        self.children = {}
        self.variants = None  # {version or None: _Variant}
        self.scheme = None    # "header" | "query" | None
        self.version_name = None


class Router:
    """Maps (method, normalised path, query, headers) to (api, operation, params, rest).

    Built once per config from route specs; every lookup walks dicts, so its cost grows
    with the depth of the path, not the number of APIs or operations.

    A route spec is a tuple (api, segments, scheme, version, version_name, revision,
    current, operations) where `segments` are the API path segments (with a path-scheme
    version appended), `scheme` is "header", "query" or None, and operations is a list of
    (op, method, template); method "*" matches any method and a last segment "*" any
    rest of the path. `api` and `op` are opaque objects handed back by `match`.
    """

    def __init__(self, specs):
        self._root = _PathNode()
        for spec in specs:
            self._add(*spec)

    def _add(self, api, segments, scheme, version, version_name, revision, current, operations):
        node = self._root
        for segment in segments:
            key = segment.lower()
            child = node.children.get(key)
            if child is None:
                child = node.children[key] = _PathNode()
            node = child
        if node.variants is None:
            node.variants = {}
        if scheme is not None:
            node.scheme = scheme
            node.version_name = version_name.lower() if scheme == "header" else version_name
        variant = node.variants.get(version)
        if variant is None:
            variant = node.variants[version] = _Variant()
        root = _OpNode()
        for op, method, template in operations:
            _add_operation(root, op, method, template)
        variant.revisions[revision] = (api, root)
        if current or variant.current is None:
            variant.current = revision

    def match(self, method, path, query="", headers=None):
        """(api, operation, params, rest) or None; `rest` is the path after the API's prefix."""
        segments = path.split("/")
        n = len(segments)
        node = self._root
        found = node if node.variants is not None else None
        found_at = 1
        revision = None
        i = 1
        while i < n:
            segment = segments[i]
            rev = None
            if ";" in segment:
                segment, sep, rev = segment.partition(";rev=")
                if not sep:
                    segment = segments[i]
                    rev = None
            child = node.children.get(segment.lower())
            if child is None:
                break
            node = child
            i += 1
            if rev is not None:
                revision = _revision_number(rev)
                if node.variants is None or revision is None:
                    return None
                found = node
                found_at = i
                break
            if node.variants is not None:
                found = node
                found_at = i
        if found is None:
            return None
        variant = _pick_variant(found, query, headers)
        if variant is None:
            return None
        entry = variant.revisions.get(variant.current if revision is None else revision)
        if entry is None:
            return None
        api, root = entry
        rest_segments = segments[found_at:]
        if rest_segments and rest_segments[-1] == "":
            rest_segments = rest_segments[:-1]
        values = []
        entry = _match_operation(root, rest_segments, 0, method, values)
        if entry is None:
            return None
        op, names = entry
        rest = "/" + "/".join(segments[found_at:]) if found_at < n else ""
        return api, op, dict(zip(names, values)), rest


def _revision_number(rev):
    """The number in `;rev=N`, or None. ASCII digits only (str.isdigit also takes '²', which
    int() refuses) and at most 18 of them (int() refuses thousands of digits)."""
    if 0 < len(rev) <= 18 and rev.isascii() and rev.isdigit():
        return int(rev)
    return None


def _add_operation(root, op, method, template):
    node = root
    names = []
    segments = [s for s in template.split("/") if s]
    for index, segment in enumerate(segments):
        if segment == "*" and index == len(segments) - 1:
            if node.wildcard is None:
                node.wildcard = {}
            node.wildcard[method] = (op, tuple(names))
            return
        if segment.startswith("{") and segment.endswith("}"):
            if node.param is None:
                node.param = _OpNode()
            names.append(segment[1:-1])
            node = node.param
        else:
            key = segment.lower()
            child = node.literal.get(key)
            if child is None:
                child = node.literal[key] = _OpNode()
            node = child
    if node.ops is None:
        node.ops = {}
    node.ops[method] = (op, tuple(names))


def _by_method(ops, method):
    op = ops.get(method)
    if op is None:
        op = ops.get("*")
    return op


def _match_operation(node, segments, i, method, values):
    """Depth-first: literal beats {param} beats * at every segment; the method must match.

    Returns the (op, param names) entry; `values` then holds the parameter values in order.
    """
    if i == len(segments):
        if node.ops is not None:
            entry = _by_method(node.ops, method)
            if entry is not None:
                return entry
        if node.wildcard is not None:
            return _by_method(node.wildcard, method)
        return None
    segment = segments[i]
    child = node.literal.get(segment.lower())
    if child is not None:
        entry = _match_operation(child, segments, i + 1, method, values)
        if entry is not None:
            return entry
    if node.param is not None and segment != "":
        values.append(segment)
        entry = _match_operation(node.param, segments, i + 1, method, values)
        if entry is not None:
            return entry
        values.pop()
    if node.wildcard is not None:
        return _by_method(node.wildcard, method)
    return None


def _pick_variant(node, query, headers):
    variants = node.variants
    if node.scheme is None:
        return variants.get(None)
    wanted = None
    if node.scheme == "header":
        if headers is not None:
            wanted = headers.get(node.version_name)
    else:
        wanted = _query_value(query, node.version_name)
    if wanted is None or wanted == "":
        return variants.get(None)
    return variants.get(wanted)


def _query_value(query, name):
    if not query:
        return None
    for pair in query.split("&"):
        key, _, value = pair.partition("=")
        if key == name:
            return value
    return None


# ---------------------------------------------------------------- request head

# Hop-by-hop headers (RFC 9110 7.6.1) plus those a proxy must never forward as-is.
HOP_BY_HOP = frozenset([
    b"connection", b"keep-alive", b"proxy-connection", b"te", b"trailer",
    b"transfer-encoding", b"upgrade", b"proxy-authorization",
])
# Names a Connection header cannot take away: the hop-by-hop ones go anyway, and
# Content-Length frames the message, so dropping it would leave the body unframed.
_NOT_OPTIONS = HOP_BY_HOP | {b"content-length"}


def strip_hop_by_hop(headers):
    """Headers without hop-by-hop ones and without those named in Connection.

    `headers` is a list of (lower-case name, value) byte pairs; the order is kept.
    """
    named = None
    for name, value in headers:
        if name == b"connection":
            for token in value.split(b","):
                token = token.strip().lower()
                if token and token not in _NOT_OPTIONS:
                    if named is None:
                        named = set()
                    named.add(token)
    out = []
    for pair in headers:
        name = pair[0]
        if name in HOP_BY_HOP or (named is not None and name in named):
            continue
        out.append(pair)
    return out


def serialize_request_head(method, target, headers):
    """`METHOD target HTTP/1.1` and header lines as one bytes object, ready to write."""
    return build_request_head(method, target, headers, frozenset(), ())


def build_request_head(method, target, headers, skip, extra):
    """The upstream request head: `headers` less the names in `skip` (a set), then `extra`."""
    return build_head(method + b" " + target + b" HTTP/1.1\r\n", headers, skip, extra)


def build_head(first_line, headers, skip, extra):
    """A message head: the first line (with its CRLF), `headers` less the names in `skip`, then `extra`."""
    parts = [first_line]
    for name, value in headers:
        if name not in skip:
            parts += (name, b": ", value, b"\r\n")
    for name, value in extra:
        parts += (name, b": ", value, b"\r\n")
    parts.append(b"\r\n")
    return b"".join(parts)


def has_header(headers, name):
    """Is there a (name, value) pair with this name in `headers`?"""
    for pair in headers:
        if pair[0] == name:
            return True
    return False


# ---------------------------------------------------------------- backend answers

# The common answer, whole in one read, parsed without httptools' per-header callbacks.
# What is taken here is a strict subset of what llhttp takes, read the same way (values from
# their first non-blank byte to the end of the line, as httptools gives them); anything else
# is None and goes to httptools, which then decides.
_STATUS_LINE = re.compile(rb"HTTP/1\.1 ([2-5][0-9][0-9]) [\t\x20-\x7e]*\r\n")
_FIELD_LINE = re.compile(rb"([!#$%&'*+\-.^_`|~0-9A-Za-z]+):[ \t]*([\t\x20-\x7e]*)\r\n")
_CONTENT_LENGTH = re.compile(rb"[0-9]{1,15}")
MAX_RESPONSE_FIELDS = 100


def parse_whole_response(data):
    """(status, headers, keep_alive, body_start) when `data` is exactly one whole HTTP/1.1
    answer framed by one Content-Length, else None.

    `headers` are (lower-case name, value) pairs without hop-by-hop headers and without those
    that Connection names; `keep_alive` is False when Connection says close. Not taken (None):
    HTTP/1.0, 1xx, 204, 304, Transfer-Encoding, no or several Content-Length, Proxy-Connection
    (llhttp reads it as Connection), obs-fold, bare LF, controls or non-ASCII bytes, more than
    MAX_RESPONSE_FIELDS fields, bytes after the body.
    """
    if type(data) is not bytes:
        return None
    line = _STATUS_LINE.match(data)
    if line is None:
        return None
    status = int(line.group(1))
    if status == 204 or status == 304:
        return None
    at = line.end()
    headers = []
    named = None
    keep_alive = True
    length = -1
    while not data.startswith(b"\r\n", at):
        field = _FIELD_LINE.match(data, at)
        if field is None or len(headers) >= MAX_RESPONSE_FIELDS:
            return None
        at = field.end()
        name = field.group(1).lower()
        value = field.group(2)
        if name in HOP_BY_HOP:
            if name == b"transfer-encoding" or name == b"proxy-connection":
                return None
            if name == b"connection":
                for token in value.split(b","):
                    token = token.strip(b" \t").lower()
                    if token == b"close":
                        keep_alive = False
                    elif token and token not in _NOT_OPTIONS:
                        named = named or set()
                        named.add(token)
            continue
        if name == b"content-length":
            if length >= 0 or _CONTENT_LENGTH.fullmatch(value) is None:
                return None
            length = int(value)
        headers.append((name, value))
    at += 2
    if length < 0 or len(data) - at != length:
        return None
    if named is not None:
        headers = [pair for pair in headers if pair[0] not in named]
    return status, headers, keep_alive, at


# ---------------------------------------------------------------- client requests

# The common request, a head with no body whole in one read, parsed without httptools' callbacks.
# As for answers, a strict subset of what llhttp takes, read as httptools reads it; None sends
# the bytes to httptools.
_REQUEST_LINE = re.compile(rb"(GET|HEAD|POST|PUT|DELETE|OPTIONS|PATCH) (/[A-Za-z0-9\-._~!$&'()*+,;=:@/?%]*) HTTP/1\.1\r\n")
# what decides the framing or the connection's fate: httptools reads Proxy-Connection as Connection
_FRAMING = frozenset([b"content-length", b"transfer-encoding", b"upgrade", b"proxy-connection"])


def parse_whole_request(data):
    """(method, target, headers) when `data` is exactly one HTTP/1.1 request head with no body
    and nothing after it, else None.

    `headers` are all the (lower-case name, value) pairs in order, as httptools would report them.
    Not taken (None): methods other than GET, HEAD, POST, PUT, DELETE, OPTIONS and PATCH; a target
    that does not start with / or holds a character outside RFC 3986's pchar, / and ? (% included,
    # not); versions other than 1.1; Content-Length, Transfer-Encoding, Upgrade or Proxy-Connection
    (llhttp reads it as Connection); obs-fold, bare LF, controls or non-ASCII bytes; more than
    MAX_RESPONSE_FIELDS fields; bytes after the head.
    """
    if type(data) is not bytes:
        return None
    line = _REQUEST_LINE.match(data)
    if line is None:
        return None
    at = line.end()
    headers = []
    while not data.startswith(b"\r\n", at):
        field = _FIELD_LINE.match(data, at)
        if field is None or len(headers) >= MAX_RESPONSE_FIELDS:
            return None
        at = field.end()
        name = field.group(1).lower()
        if name in _FRAMING:
            return None
        headers.append((name, field.group(2)))
    if at + 2 != len(data):
        return None
    return line.group(1), line.group(2), headers
