"""Fast path, C twin: path normalisation, route matching, request-head rewriting,
whole request heads and backend answers read in one go.

Same API and the same answers as `_fastpath_py.py` (the tests run both, and a hypothesis
test demands identical output); here the per-request loops run in C. setup.py compiles
this with boundscheck and wraparound off, so no index in this file may be negative.
"""

from cpython.bytes cimport (
    PyBytes_AS_STRING, PyBytes_CheckExact, PyBytes_FromStringAndSize, PyBytes_GET_SIZE,
)
from cpython.mem cimport PyMem_Free, PyMem_Malloc
from cpython.tuple cimport PyTuple_CheckExact, PyTuple_GET_SIZE
from cpython.unicode cimport PyUnicode_DATA, PyUnicode_DecodeASCII, PyUnicode_GET_LENGTH
from libc.string cimport memchr, memcmp, memcpy

cdef extern from *:
    """
    /* str data may only be read once the string is "ready": needed on 3.10 and 3.11,
       always true (and the call gone) from 3.12. */
    #if PY_VERSION_HEX < 0x030C0000
    #define gw_str_ready(o) PyUnicode_READY(o)
    #else
    #define gw_str_ready(o) 0
    #endif
    """
    int gw_str_ready(object) except -1
    bint PyUnicode_IS_ASCII(object)

__all__ = [
    "PathError", "normalize_path", "Router",
    "HOP_BY_HOP", "strip_hop_by_hop", "serialize_request_head", "build_request_head",
    "build_head", "has_header", "parse_whole_response", "parse_whole_request",
]


class PathError(ValueError):
    """The request path is malformed or tries to escape: answered with 400."""


# ---------------------------------------------------------------- path normalisation

# Byte tables filled once at import, so each character test in the loops is one load.
# _ALLOWED is the twin's _ALLOWED regex: printable ASCII minus what a path may not hold
# raw (controls, space, backslash, and " # < > ^ ` { | }).
cdef unsigned char _ALLOWED[256]
cdef unsigned char _UNRESERVED[256]
cdef signed char _HEXVAL[256]      # value of a hex digit, -1 for anything else
cdef unsigned char _TCHAR[256]     # a header name's characters (RFC 9110 token)
cdef unsigned char _FIELD_TEXT[256]  # what the whole-message parsers take in a value: HTAB, SP, VCHAR
cdef unsigned char _TARGET[256]    # what parse_whole_request takes in a target: RFC 3986 pchar, / and ?
cdef const char *_UPPER_HEX = b"0123456789ABCDEF"


cdef void _fill_tables() noexcept:
    cdef int c
    for c in range(256):
        _ALLOWED[c] = 0
        _UNRESERVED[c] = 0
        _HEXVAL[c] = -1
        _TCHAR[c] = 0
        _TARGET[c] = 0
        _FIELD_TEXT[c] = c == 9 or 0x20 <= c <= 0x7E
    for c in b"!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz":
        _TCHAR[c] = 1
    for c in b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=:@/?%":
        _TARGET[c] = 1
    for c in b"!$%&'()*+,-./0123456789:;=?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[]_abcdefghijklmnopqrstuvwxyz~":
        _ALLOWED[c] = 1
    for c in b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~":
        _UNRESERVED[c] = 1
    for c in range(10):
        _HEXVAL[c + 48] = c
    for c in range(6):
        _HEXVAL[c + 65] = c + 10
        _HEXVAL[c + 97] = c + 10


_fill_tables()


def normalize_path(path):
    """The canonical form of a request path, the form that is routed and forwarded.

    Percent-encoded unreserved characters are decoded, other escapes upper-cased; `.` and
    `..` segments resolved; repeated slashes merged. An encoded slash or backslash, `%00`,
    a bad escape, a refused raw character, non-ASCII, or `..` above the root raise PathError.
    """
    cdef const unsigned char *s
    cdef Py_ssize_t n
    if isinstance(path, (bytes, bytearray)):
        if not PyBytes_CheckExact(path):
            path = bytes(path)
        s = <const unsigned char *>PyBytes_AS_STRING(path)
        n = PyBytes_GET_SIZE(path)
        if not _is_ascii(s, n):
            raise PathError("non-ASCII byte in path")
        if _is_canonical(s, n):
            return PyUnicode_DecodeASCII(<const char *>s, n, NULL)
        return _normalize_ascii(s, n, None)
    if not isinstance(path, str):
        raise TypeError(f"path must be str or bytes, not {type(path).__name__}")
    gw_str_ready(path)
    if not PyUnicode_IS_ASCII(path):
        raise _non_ascii_error(path)
    s = <const unsigned char *>PyUnicode_DATA(path)
    n = PyUnicode_GET_LENGTH(path)
    if _is_canonical(s, n):
        return path     # the common case: nothing to change, nothing allocated
    return _normalize_ascii(s, n, path)


cdef inline bint _is_ascii(const unsigned char *s, Py_ssize_t n) noexcept:
    cdef Py_ssize_t i
    for i in range(n):
        if s[i] & 0x80:
            return False
    return True


cdef inline bint _is_canonical(const unsigned char *s, Py_ssize_t n) noexcept:
    """One pass: starts with /, only allowed characters, no escape, no // and no /. (the
    start of every dot segment). Anything else takes the slow path, which decides."""
    cdef Py_ssize_t i
    cdef unsigned char c
    if n == 0 or s[0] != c'/':
        return False
    for i in range(n):
        c = s[i]
        if c == c'/':
            if i + 1 < n and (s[i + 1] == c'/' or s[i + 1] == c'.'):
                return False
        elif c == c'%' or not _ALLOWED[c]:
            return False
    return True


cdef object _normalize_ascii(const unsigned char *s, Py_ssize_t n, object source):
    """The slow path, checking in the Python twin's order so both raise the same error.

    `source` is the str `s` points into (returned as is when nothing changes), or None.
    """
    cdef char *decoded = NULL
    cdef Py_ssize_t i
    if n == 0 or s[0] != c'/':
        raise PathError("path must start with /")
    if memchr(s, c'%', n) != NULL:
        decoded = <char *>PyMem_Malloc(n)   # decoding only shrinks
        if decoded == NULL:
            raise MemoryError()
    try:
        if decoded != NULL:
            n = _decode_escapes(s, n, decoded)
            s = <const unsigned char *>decoded
            source = None
        for i in range(n):
            if not _ALLOWED[s[i]]:
                raise PathError("refused character in path")
        if not _has_dot_or_double_slash(s, n):
            if source is not None:
                return source
            return PyUnicode_DecodeASCII(<const char *>s, n, NULL)
        return _resolve_segments(s, n)
    finally:
        PyMem_Free(decoded)


cdef Py_ssize_t _decode_escapes(const unsigned char *s, Py_ssize_t n, char *out) except -1:
    """Writes `s` with escapes decoded or upper-cased into `out`; returns the new length."""
    cdef Py_ssize_t i = 0, o = 0
    cdef int hi, lo, code
    while i < n:
        if s[i] != c'%':
            out[o] = <char>s[i]
            o += 1
            i += 1
            continue
        if i + 2 >= n:
            raise PathError("truncated percent-escape")
        hi = _HEXVAL[s[i + 1]]
        lo = _HEXVAL[s[i + 2]]
        if hi < 0 or lo < 0:
            raise PathError("bad percent-escape")
        code = hi * 16 + lo
        if _UNRESERVED[code]:
            out[o] = <char>code
            o += 1
        elif code == 0x2F or code == 0x5C or code == 0:
            raise PathError("encoded slash, backslash or NUL in path")
        else:
            out[o] = c'%'
            out[o + 1] = _UPPER_HEX[hi]
            out[o + 2] = _UPPER_HEX[lo]
            o += 3
        i += 3
    return o


cdef inline bint _has_dot_or_double_slash(const unsigned char *s, Py_ssize_t n) noexcept:
    cdef Py_ssize_t i
    for i in range(n - 1):
        if s[i] == c'/' and (s[i + 1] == c'/' or s[i + 1] == c'.'):
            return True
    return False


cdef object _resolve_segments(const unsigned char *s, Py_ssize_t n):
    """Drops empty and `.` segments and resolves `..`; `s` starts with / and is non-empty."""
    cdef char *out = <char *>PyMem_Malloc(n + 1)
    # starts[k]: where kept segment k begins in `out`, so `..` is one assignment
    cdef Py_ssize_t *starts = <Py_ssize_t *>PyMem_Malloc((n // 2 + 1) * sizeof(Py_ssize_t))
    cdef Py_ssize_t i = 0, j, k, length, depth = 0, o = 0
    cdef const unsigned char *segment
    cdef bint trailing
    try:
        if out == NULL or starts == NULL:
            raise MemoryError()
        while i < n:           # s[i] is the / before the segment
            j = i + 1
            while j < n and s[j] != c'/':
                j += 1
            segment = s + i + 1
            length = j - i - 1
            i = j
            if length == 0 or (length == 1 and segment[0] == c'.'):
                continue
            if length == 2 and segment[0] == c'.' and segment[1] == c'.':
                if depth == 0:
                    raise PathError("path climbs above the root")
                depth -= 1
                o = starts[depth]
                continue
            k = 0               # `..;x` would be resolved differently by some backends
            while k < length and segment[k] != c';':
                k += 1
            if (k == 1 and segment[0] == c'.') or (k == 2 and segment[0] == c'.' and segment[1] == c'.'):
                raise PathError("dot segment with parameters")
            starts[depth] = o
            depth += 1
            out[o] = c'/'
            memcpy(out + o + 1, segment, length)
            o += length + 1
        trailing = (s[n - 1] == c'/'
                    or (n >= 2 and s[n - 2] == c'/' and s[n - 1] == c'.')
                    or (n >= 3 and s[n - 3] == c'/' and s[n - 2] == c'.' and s[n - 1] == c'.'))
        if depth == 0:
            return "/"
        if trailing:
            out[o] = c'/'
            o += 1
        return PyUnicode_DecodeASCII(out, o, NULL)
    finally:
        PyMem_Free(out)
        PyMem_Free(starts)


cdef object _non_ascii_error(str path):
    """The PathError for a str holding non-ASCII, which is always refused. Which error
    depends on what the Python twin finds first, so check what it checks, in its order."""
    cdef Py_ssize_t i = 0, n = len(path)
    cdef Py_UCS4 h1, h2
    if not path.startswith("/"):
        return PathError("path must start with /")
    while i < n:
        if path[i] != u'%':
            i += 1
            continue
        if i + 2 >= n:
            return PathError("truncated percent-escape")
        h1 = path[i + 1]
        h2 = path[i + 2]
        if h1 > 127 or h2 > 127 or _HEXVAL[h1] < 0 or _HEXVAL[h2] < 0:
            return PathError("bad percent-escape")
        if _HEXVAL[h1] * 16 + _HEXVAL[h2] in (0x2F, 0x5C, 0):
            return PathError("encoded slash, backslash or NUL in path")
        i += 3
    return PathError("refused character in path")


# ---------------------------------------------------------------- routing

cdef enum:
    SCHEME_NONE = 0     # the version, if any, is a path segment
    SCHEME_HEADER = 1
    SCHEME_QUERY = 2


cdef class _OpNode:
    """One segment position of an API's operation templates.

    `ops` and `wildcard` hold (op, param names) entries: two templates may name the
    parameter at one position differently (/items/{id}, /items/{itemId}/parts), so the
    names belong to the operation, not to the shared node.
    """
    cdef dict literal
    cdef _OpNode param
    cdef dict wildcard      # {method: entry} matching zero or more remaining segments
    cdef dict ops           # {method: entry} for a template ending here

    def __cinit__(self):
        self.literal = {}


cdef class _Variant:
    """Every revision of one version of an API at one path."""
    cdef dict revisions     # revision number -> (api, op root)
    cdef object current

    def __cinit__(self):
        self.revisions = {}


cdef class _PathNode:
    cdef dict children
    cdef dict variants      # {version or None: _Variant}, None where no API ends
    cdef int scheme
    cdef object version_name

    def __cinit__(self):
        self.children = {}
        self.scheme = SCHEME_NONE


cdef class Router:
    """Maps (method, normalised path, query, headers) to (api, operation, params, rest).

    Built once per config from route specs; every lookup walks dicts, so its cost grows
    with the depth of the path, not the number of APIs or operations.

    A route spec is a tuple (api, segments, scheme, version, version_name, revision,
    current, operations) where `segments` are the API path segments (with a path-scheme
    version appended), `scheme` is "header", "query" or None, and operations is a list of
    (op, method, template); method "*" matches any method and a last segment "*" any
    rest of the path. `api` and `op` are opaque objects handed back by `match`.
    """
    cdef _PathNode _root

    def __init__(self, specs):
        self._root = _PathNode()
        for spec in specs:
            self._add(*spec)

    def _add(self, api, segments, scheme, version, version_name, revision, current, operations):
        cdef _PathNode node = self._root, child
        cdef _Variant variant
        cdef _OpNode root
        for segment in segments:
            key = segment.lower()
            child = node.children.get(key)
            if child is None:
                child = node.children[key] = _PathNode()
            node = child
        if node.variants is None:
            node.variants = {}
        if scheme is not None:
            node.scheme = SCHEME_HEADER if scheme == "header" else SCHEME_QUERY
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

    def match(self, method, str path, query="", headers=None):
        """(api, operation, params, rest) or None; `rest` is the path after the API's prefix."""
        cdef list segments = path.split("/")
        cdef Py_ssize_t n = len(segments)
        cdef _PathNode node = self._root, child, found
        cdef _Variant variant
        cdef _OpNode root
        cdef Py_ssize_t i = 1, found_at = 1, cut, length, k, end
        # offset: where segments[i] starts in `path`; the rest is cut from there, not joined
        cdef Py_ssize_t offset = len(<str>segments[0]) + 1, found_offset
        cdef bint fold = _needs_fold(path)
        cdef str segment
        cdef object rev, revision = None
        cdef tuple names
        cdef list values
        cdef dict params
        found = node if node.variants is not None else None
        found_offset = offset
        while i < n:
            segment = <str>segments[i]
            length = len(segment)
            rev = None
            if ";" in segment:
                cut = segment.find(";rev=")
                if cut >= 0:
                    rev = segment[cut + 5:]
                    segment = segment[:cut]
            child = node.children.get(segment.lower() if fold else segment)
            if child is None:
                break
            node = child
            i += 1
            offset += length + 1
            if rev is not None:
                revision = _revision_number(rev)
                if node.variants is None or revision is None:
                    return None
                found = node
                found_at = i
                found_offset = offset
                break
            if node.variants is not None:
                found = node
                found_at = i
                found_offset = offset
        if found is None:
            return None
        variant = _pick_variant(found, query, headers)
        if variant is None:
            return None
        entry = variant.revisions.get(variant.current if revision is None else revision)
        if entry is None:
            return None
        # entries are tuples built by _add and _add_operation: index them, no unpacking
        api = (<tuple>entry)[0]
        root = (<tuple>entry)[1]
        end = n
        if found_at < n and len(<str>segments[n - 1]) == 0:
            end = n - 1         # a trailing slash is not one more (empty) segment
        values = []
        entry = _match_operation(root, segments, found_at, end, method, values, fold)
        if entry is None:
            return None
        op = (<tuple>entry)[0]
        names = (<tuple>entry)[1]
        params = {}
        for k in range(len(names)):
            params[names[k]] = values[k]
        rest = path[found_offset - 1:] if found_at < n else ""
        return api, op, params, rest


cdef inline bint _needs_fold(str path) except -1:
    """False when lower() would change nothing (ASCII without capitals, the usual case), so
    segments are used as dict keys without a lower-cased copy."""
    cdef const unsigned char *s
    cdef Py_ssize_t i
    gw_str_ready(path)
    if not PyUnicode_IS_ASCII(path):
        return True
    s = <const unsigned char *>PyUnicode_DATA(path)
    for i in range(PyUnicode_GET_LENGTH(path)):
        if c'A' <= s[i] <= c'Z':
            return True
    return False


cdef object _revision_number(str rev):
    """The number in `;rev=N`, or None. ASCII digits only and at most 18 of them (a long
    long holds them; no configured revision is longer)."""
    cdef Py_ssize_t i, n = len(rev)
    cdef long long value = 0
    cdef Py_UCS4 ch
    if n == 0 or n > 18:
        return None
    for i in range(n):
        ch = rev[i]
        if ch < u'0' or ch > u'9':
            return None
        value = value * 10 + (<long long>ch - 48)
    return value


cdef int _add_operation(_OpNode root, object op, object method, str template) except -1:
    cdef _OpNode node = root, child
    cdef list names = []
    cdef list segments = [s for s in template.split("/") if s]
    cdef Py_ssize_t index, last = len(segments) - 1
    cdef str segment
    for index in range(len(segments)):
        segment = segments[index]
        if segment == "*" and index == last:
            if node.wildcard is None:
                node.wildcard = {}
            node.wildcard[method] = (op, tuple(names))
            return 0
        if segment.startswith("{") and segment.endswith("}"):
            if node.param is None:
                node.param = _OpNode()
            names.append(segment[1:len(segment) - 1])
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
    return 0


cdef inline object _by_method(dict ops, object method):
    entry = ops.get(method)
    if entry is None:
        entry = ops.get("*")
    return entry


cdef object _match_operation(_OpNode node, list segments, Py_ssize_t i, Py_ssize_t end,
                             object method, list values, bint fold):
    """Depth-first: literal beats {param} beats * at every segment; the method must match.

    Matches segments[i:end]; returns the (op, param names) entry, `values` then holding
    the parameter values in order.
    """
    cdef str segment
    cdef _OpNode child
    if i == end:
        if node.ops is not None:
            entry = _by_method(node.ops, method)
            if entry is not None:
                return entry
        if node.wildcard is not None:
            return _by_method(node.wildcard, method)
        return None
    segment = <str>segments[i]
    child = node.literal.get(segment.lower() if fold else segment)
    if child is not None:
        entry = _match_operation(child, segments, i + 1, end, method, values, fold)
        if entry is not None:
            return entry
    if node.param is not None and len(segment) != 0:
        values.append(segment)
        entry = _match_operation(node.param, segments, i + 1, end, method, values, fold)
        if entry is not None:
            return entry
        values.pop()
    if node.wildcard is not None:
        return _by_method(node.wildcard, method)
    return None


cdef _Variant _pick_variant(_PathNode node, object query, object headers):
    cdef dict variants = node.variants
    if node.scheme == SCHEME_NONE:
        return variants.get(None)
    wanted = None
    if node.scheme == SCHEME_HEADER:
        if headers is not None:
            wanted = headers.get(node.version_name)
    else:
        wanted = _query_value(query, node.version_name)
    if wanted is None or wanted == "":
        return variants.get(None)
    return variants.get(wanted)


cdef object _query_value(object query, object name):
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
cdef frozenset _HOP = HOP_BY_HOP
# Names a Connection header cannot take away: the hop-by-hop ones go anyway, and
# Content-Length frames the message, so dropping it would leave the body unframed.
cdef frozenset _NOT_OPTIONS = HOP_BY_HOP | {b"content-length"}

# Bit L set when some hop-by-hop name is L bytes long: most names are ruled out by their
# length alone, before any hashing.
cdef unsigned int _HOP_LENGTHS = 0
for _name in HOP_BY_HOP:
    _HOP_LENGTHS |= (<unsigned int>1) << len(_name)
del _name


cdef inline bint _is_connection(object name) except -1:
    if PyBytes_CheckExact(name):
        return PyBytes_GET_SIZE(name) == 10 and memcmp(PyBytes_AS_STRING(name), b"connection", 10) == 0
    return name == b"connection"


cdef inline bint _is_hop_by_hop(object name) except -1:
    cdef Py_ssize_t length
    if PyBytes_CheckExact(name):
        length = PyBytes_GET_SIZE(name)
        if length >= 32 or not (_HOP_LENGTHS >> length) & 1:
            return False
    return name in _HOP


def strip_hop_by_hop(headers):
    """Headers without hop-by-hop ones and without those named in Connection.

    `headers` is a list of (lower-case name, value) byte pairs; the order is kept.
    """
    cdef set named = None
    cdef list out = []
    for name, value in headers:
        if _is_connection(name):
            for token in value.split(b","):
                token = token.strip().lower()
                if token and token not in _NOT_OPTIONS:
                    if named is None:
                        named = set()
                    named.add(token)
    for pair in headers:
        name = pair[0]
        if _is_hop_by_hop(name) or (named is not None and name in named):
            continue
        out.append(pair)
    return out


def serialize_request_head(method, target, headers):
    """`METHOD target HTTP/1.1` and header lines as one bytes object, ready to write."""
    if type(headers) is tuple:
        headers = list(headers)
    return build_request_head(method, target, headers, _NOTHING, [])


_NOTHING = frozenset()


cdef inline char *_put(char *p, bytes data) noexcept:
    cdef Py_ssize_t size = PyBytes_GET_SIZE(data)
    memcpy(p, PyBytes_AS_STRING(data), size)
    return p + size


def build_request_head(method, target, headers, skip, extra):
    """The upstream request head: `headers` less the names in `skip` (a set), then `extra`."""
    return build_head(method + b" " + target + b" HTTP/1.1\r\n", headers, skip, extra)


def build_head(first_line, headers, skip, extra):
    """A message head: the first line (with its CRLF), `headers` less the names in `skip`, then `extra`."""
    if (PyBytes_CheckExact(first_line) and type(headers) is list and type(extra) is list
            and isinstance(skip, (set, frozenset))):
        head = _build_exact(first_line, <list>headers, skip, <list>extra)
        if head is not None:
            return head
    parts = [first_line]   # anything else: the Python twin's code
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


cdef object _build_exact(bytes first_line, list headers, object skip, list extra):
    """Sizes the head, then copies every piece into one bytes object (no list of parts, no join);
    None when some pair is not an exact (bytes, bytes) tuple. The pairs kept are remembered
    between the two passes, so `skip` is asked once per header."""
    cdef Py_ssize_t total = PyBytes_GET_SIZE(first_line) + 2
    cdef list kept = []
    cdef char *p
    for pair in headers:
        if not (PyTuple_CheckExact(pair) and PyTuple_GET_SIZE(pair) == 2):
            return None
        name = (<tuple>pair)[0]
        value = (<tuple>pair)[1]
        if not (PyBytes_CheckExact(name) and PyBytes_CheckExact(value)):
            return None
        if name in skip:
            continue
        kept.append(pair)
        total += PyBytes_GET_SIZE(name) + PyBytes_GET_SIZE(value) + 4
    for pair in extra:
        if not (PyTuple_CheckExact(pair) and PyTuple_GET_SIZE(pair) == 2):
            return None
        name = (<tuple>pair)[0]
        value = (<tuple>pair)[1]
        if not (PyBytes_CheckExact(name) and PyBytes_CheckExact(value)):
            return None
        kept.append(pair)
        total += PyBytes_GET_SIZE(name) + PyBytes_GET_SIZE(value) + 4
    head = PyBytes_FromStringAndSize(NULL, total)
    p = PyBytes_AS_STRING(head)
    p = _put(p, first_line)
    for pair in kept:
        p = _put(p, (<tuple>pair)[0])
        p[0] = c':'
        p[1] = c' '
        p = _put(p + 2, (<tuple>pair)[1])
        p[0] = c'\r'
        p[1] = c'\n'
        p += 2
    p[0] = c'\r'
    p[1] = c'\n'
    return head


# ---------------------------------------------------------------- backend answers

# The common answer, whole in one read, parsed without httptools' per-header callbacks.
# What is taken here is a strict subset of what llhttp takes, read the same way (values from
# their first non-blank byte to the end of the line, as httptools gives them); anything else
# is None and goes to httptools, which then decides.
cdef enum:
    _MAX_FIELDS = 100
MAX_RESPONSE_FIELDS = _MAX_FIELDS


cdef inline bint _is_blank(unsigned char c) noexcept:
    return c == 32 or c == 9


def parse_whole_response(data):
    """(status, headers, keep_alive, body_start) when `data` is exactly one whole HTTP/1.1
    answer framed by one Content-Length, else None.

    `headers` are (lower-case name, value) pairs without hop-by-hop headers and without those
    that Connection names; `keep_alive` is False when Connection says close. Not taken (None):
    HTTP/1.0, 1xx, 204, 304, Transfer-Encoding, no or several Content-Length, Proxy-Connection
    (llhttp reads it as Connection), obs-fold, bare LF, controls or non-ASCII bytes, more than
    MAX_RESPONSE_FIELDS fields, bytes after the body.
    """
    if not PyBytes_CheckExact(data):
        return None
    cdef const unsigned char *s = <const unsigned char *>PyBytes_AS_STRING(data)
    cdef Py_ssize_t n = PyBytes_GET_SIZE(data)
    cdef Py_ssize_t at, start, name_end, value_start, k
    cdef long long length = -1
    cdef int status
    cdef bint keep_alive = True
    cdef list headers = []
    cdef set named = None
    cdef int kind
    if n < 17 or memcmp(s, b"HTTP/1.1 ", 9) != 0:
        return None
    if not (50 <= s[9] <= 53 and 48 <= s[10] <= 57 and 48 <= s[11] <= 57 and s[12] == 32):
        return None
    status = (s[9] - 48) * 100 + (s[10] - 48) * 10 + (s[11] - 48)
    if status == 204 or status == 304:
        return None
    at = 13
    while at < n and _FIELD_TEXT[s[at]]:
        at += 1
    if at + 1 >= n or s[at] != 13 or s[at + 1] != 10:
        return None
    at += 2
    while True:
        if at + 1 >= n:
            return None
        if s[at] == 13 and s[at + 1] == 10:
            break
        start = at
        at = _field_line(s, n, at, &name_end, &value_start)
        if at < 0 or len(headers) >= _MAX_FIELDS:
            return None
        kind = _field_kind(s + start, name_end - start)
        if kind == _F_TRANSFER_ENCODING or kind == _F_PROXY_CONNECTION:
            return None
        if kind == _F_CONNECTION:
            if named is None:
                named = set()
            if not _connection_tokens(s + value_start, at - value_start, named):
                keep_alive = False
            at += 2
            continue
        if kind == _F_HOP or kind == _F_UPGRADE:
            at += 2
            continue
        if kind == _F_CONTENT_LENGTH:
            if length >= 0 or not 1 <= at - value_start <= 15:
                return None
            length = 0
            for k in range(value_start, at):
                if not 48 <= s[k] <= 57:
                    return None
                length = length * 10 + (s[k] - 48)
        name = _lower_bytes(s + start, name_end - start)
        value = PyBytes_FromStringAndSize(<const char *>s + value_start, at - value_start)
        at += 2
        headers.append((name, value))
    at += 2
    if length < 0 or n - at != length:
        return None
    if named:
        headers = [pair for pair in headers if pair[0] not in named]
    return status, headers, keep_alive, at


cdef Py_ssize_t _field_line(const unsigned char *s, Py_ssize_t n, Py_ssize_t at, Py_ssize_t *name_end,
                            Py_ssize_t *value_start) noexcept:
    """Reads one `name: value` line from `at`, a name of token characters and a value of HTAB, SP
    and VCHAR: the offset of its CR (the value ends there), or -1 when it is not such a line."""
    cdef Py_ssize_t start = at
    while at < n and _TCHAR[s[at]]:
        at += 1
    if at == start or at >= n or s[at] != 58:
        return -1
    name_end[0] = at
    at += 1
    while at < n and _is_blank(s[at]):
        at += 1
    value_start[0] = at
    while at < n and _FIELD_TEXT[s[at]]:
        at += 1
    if at + 1 >= n or s[at] != 13 or s[at + 1] != 10:
        return -1
    return at


cdef enum:
    _F_OTHER, _F_CONTENT_LENGTH, _F_TRANSFER_ENCODING, _F_CONNECTION, _F_UPGRADE, _F_PROXY_CONNECTION, _F_HOP


cdef int _field_kind(const unsigned char *name, Py_ssize_t size) noexcept:
    """What a raw header name is to parse_whole_response, told before any object is made."""
    cdef unsigned char low[32]
    cdef Py_ssize_t k
    if size >= 32 or not ((_HOP_LENGTHS | (1 << 14)) >> size) & 1:
        return _F_OTHER
    for k in range(size):
        low[k] = name[k] | 0x20 if 65 <= name[k] <= 90 else name[k]
    if size == 14:
        return _F_CONTENT_LENGTH if memcmp(low, b"content-length", 14) == 0 else _F_OTHER
    if size == 17 and memcmp(low, b"transfer-encoding", 17) == 0:
        return _F_TRANSFER_ENCODING
    if size == 10 and memcmp(low, b"connection", 10) == 0:
        return _F_CONNECTION
    if size == 7 and memcmp(low, b"upgrade", 7) == 0:
        return _F_UPGRADE
    if size == 16 and memcmp(low, b"proxy-connection", 16) == 0:
        return _F_PROXY_CONNECTION
    return _F_HOP if PyBytes_FromStringAndSize(<const char *>low, size) in _HOP else _F_OTHER


cdef bytes _lower_bytes(const unsigned char *text, Py_ssize_t size):
    cdef bytes out = PyBytes_FromStringAndSize(NULL, size)
    cdef char *low = PyBytes_AS_STRING(out)
    cdef Py_ssize_t k
    for k in range(size):
        low[k] = text[k] | 0x20 if 65 <= text[k] <= 90 else text[k]
    return out


cdef bint _connection_tokens(const unsigned char *value, Py_ssize_t size, set named) except -1:
    """Reads a Connection value's tokens: False when one is close; the names other than
    hop-by-hop ones and Content-Length go into `named`."""
    cdef Py_ssize_t at = 0, start, end
    cdef bint keep = True
    cdef bytes token
    while at <= size:
        start = at
        while at < size and value[at] != 44:
            at += 1
        end = at
        at += 1
        while start < end and _is_blank(value[start]):
            start += 1
        while end > start and _is_blank(value[end - 1]):
            end -= 1
        if end == start:
            continue
        token = _lower_bytes(value + start, end - start)
        if end - start == 5 and memcmp(PyBytes_AS_STRING(token), b"close", 5) == 0:
            keep = False
        elif not (end - start == 10 and memcmp(PyBytes_AS_STRING(token), b"keep-alive", 10) == 0) and token not in _NOT_OPTIONS:
            named.add(token)
    return keep


# ---------------------------------------------------------------- client requests

# The common request, a head with no body whole in one read, parsed without httptools' callbacks.
# As for answers, a strict subset of what llhttp takes, read as httptools reads it; None sends
# the bytes to httptools. The methods are the same bytes objects every time.
cdef bytes _GET = b"GET", _PUT = b"PUT", _HEAD = b"HEAD", _POST = b"POST", _PATCH = b"PATCH"
cdef bytes _DELETE = b"DELETE", _OPTIONS = b"OPTIONS"


cdef bytes _known_method(const unsigned char *s, Py_ssize_t size):
    cdef bytes method
    if size == 3:
        method = _GET if s[0] == 71 else _PUT
    elif size == 4:
        method = _HEAD if s[0] == 72 else _POST
    elif size == 5:
        method = _PATCH
    elif size == 6:
        method = _DELETE
    elif size == 7:
        method = _OPTIONS
    else:
        return None
    return method if memcmp(s, PyBytes_AS_STRING(method), size) == 0 else None


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
    if not PyBytes_CheckExact(data):
        return None
    cdef const unsigned char *s = <const unsigned char *>PyBytes_AS_STRING(data)
    cdef Py_ssize_t n = PyBytes_GET_SIZE(data)
    cdef Py_ssize_t at = 0, start, name_end, value_start
    cdef list headers = []
    cdef int kind
    while at < n and 65 <= s[at] <= 90:
        at += 1
    method = _known_method(s, at)
    if method is None or at + 1 >= n or s[at] != 32 or s[at + 1] != 47:
        return None
    at += 1
    start = at
    while at < n and _TARGET[s[at]]:
        at += 1
    if at + 11 > n or memcmp(s + at, b" HTTP/1.1\r\n", 11) != 0:
        return None
    target = PyBytes_FromStringAndSize(<const char *>s + start, at - start)
    at += 11
    while True:
        if at + 1 >= n:
            return None
        if s[at] == 13 and s[at + 1] == 10:
            break
        start = at
        at = _field_line(s, n, at, &name_end, &value_start)
        if at < 0 or len(headers) >= _MAX_FIELDS:
            return None
        kind = _field_kind(s + start, name_end - start)
        if (kind == _F_CONTENT_LENGTH or kind == _F_TRANSFER_ENCODING or kind == _F_UPGRADE
                or kind == _F_PROXY_CONNECTION):
            return None
        headers.append((_lower_bytes(s + start, name_end - start),
                        PyBytes_FromStringAndSize(<const char *>s + value_start, at - value_start)))
        at += 2
    if at + 2 != n:
        return None
    return method, target, headers
