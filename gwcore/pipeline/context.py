"""The per-request `context` that policies change and expressions read.

Everything an expression may see is a public attribute; whatever it must not reach (the
exchange, the run state, raw keys) lives in attributes starting with `_`, which the
expression language refuses to name.
"""
from urllib.parse import parse_qsl, quote

import orjson


class Headers:
    """Case-insensitive view of a header list of (lower-case name, value) byte pairs.

    The list is the one the exchange forwards or answers with, so a change here is what goes
    on the wire. Values read as text (latin-1); several values of one name read joined with
    ", " as APIM's GetValueOrDefault does.
    """

    __slots__ = ("_items",)

    def __init__(self, items: list):
        self._items = items

    def get(self, name: str, default=None):
        key = name.lower().encode("latin-1")
        found = [v for k, v in self._items if k == key]
        if not found:
            return default
        return found[0].decode("latin-1") if len(found) == 1 else ", ".join(v.decode("latin-1") for v in found)

    def get_all(self, name: str) -> list:
        key = name.lower().encode("latin-1")
        return [v.decode("latin-1") for k, v in self._items if k == key]

    def __contains__(self, name) -> bool:
        key = str(name).lower().encode("latin-1")
        return any(k == key for k, _ in self._items)

    def __getitem__(self, name: str) -> str:
        value = self.get(name)
        if value is None:
            raise KeyError(name)
        return value

    def keys(self) -> list:
        return list(dict.fromkeys(k.decode("latin-1") for k, _ in self._items))

    def items(self) -> list:
        return [(k, self.get(k)) for k in self.keys()]

    def __len__(self) -> int:
        return len(self.keys())

    # ---- changes (set-header); not callable from expressions

    def _remove(self, key: bytes) -> None:
        items = self._items
        for name, _ in items:
            if name == key:  # a copy only when there is something to remove (seldom)
                items[:] = [h for h in items if h[0] != key]
                return

    def _add(self, key: bytes, values) -> None:
        items = self._items
        for value in values:
            items.append((key, value))


class Query:
    """The query string as ordered (name, value) pairs, parsed on first use; `raw` until changed."""

    __slots__ = ("_raw", "_pairs")

    def __init__(self, raw: bytes):
        self._raw = raw
        self._pairs = None

    def _parsed(self) -> list:
        if self._pairs is None:
            self._pairs = parse_qsl(self._raw.decode("latin-1"), keep_blank_values=True)
        return self._pairs

    def get(self, name: str, default=None):
        found = [v for k, v in self._parsed() if k == name]
        return ",".join(found) if found else default

    def get_all(self, name: str) -> list:
        return [v for k, v in self._parsed() if k == name]

    def __contains__(self, name) -> bool:
        return any(k == name for k, _ in self._parsed())

    def __getitem__(self, name: str) -> str:
        value = self.get(name)
        if value is None:
            raise KeyError(name)
        return value

    def keys(self) -> list:
        return list(dict.fromkeys(k for k, _ in self._parsed()))

    def __len__(self) -> int:
        return len(self.keys())

    def _set(self, pairs: list) -> None:
        self._pairs = pairs
        self._raw = None

    def _encoded(self) -> bytes:
        """The query as it goes to the backend: byte for byte as received unless a policy changed it."""
        if self._raw is not None:
            return self._raw
        return "&".join([f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in self._pairs]).encode("ascii")

    def __str__(self) -> str:
        return self._encoded().decode("ascii", "replace")


class Url:
    """context.request.url: scheme, host, port, path (normalised) and query."""

    __slots__ = ("scheme", "_authority", "path", "query")

    def __init__(self, scheme: str, authority: bytes, path: str, query: Query):
        self.scheme = scheme
        self._authority = authority   # the Host header as received; split when asked for
        self.path = path
        self.query = query

    def _split(self) -> tuple:
        authority = self._authority
        host = authority.decode("latin-1") if isinstance(authority, bytes) else authority
        if host.startswith("["):          # [v6 address]:port
            end = host.find("]") + 1
            name, port = host[:end], host[end + 1:] if host[end:end + 1] == ":" else ""
        else:
            name, _, port = host.rpartition(":") if ":" in host else (host, "", "")
        return name, int(port) if port.isdigit() else (443 if self.scheme == "https" else 80)

    @property
    def host(self) -> str:
        return self._split()[0]

    @property
    def port(self) -> int:
        return self._split()[1]

    def __str__(self) -> str:
        query = str(self.query)
        default = self.port == (443 if self.scheme == "https" else 80)
        host = self.host if default else f"{self.host}:{self.port}"
        return f"{self.scheme}://{host}{self.path}" + (f"?{query}" if query else "")


class Body:
    """A message body read whole: `.text`, `.json` (parsed once), `.bytes` and `len()`."""

    __slots__ = ("bytes", "_json")

    def __init__(self, data: bytes):
        self.bytes = data
        self._json = None

    @property
    def text(self) -> str:
        return self.bytes.decode("utf-8", "replace")

    @property
    def json(self):
        if self._json is None:
            self._json = orjson.loads(self.bytes) if self.bytes else None
        return self._json

    def __len__(self) -> int:
        return len(self.bytes)

    def __str__(self) -> str:
        return self.text


class Request:
    """context.request."""

    __slots__ = ("method", "url", "headers", "ip", "matched_parameters", "body", "certificate")

    def __init__(self, method: str, url: Url, headers: Headers, ip: str, matched_parameters: dict):
        self.method = method
        self.url = url
        self.headers = headers
        self.ip = ip
        self.matched_parameters = matched_parameters
        self.body = None          # a Body when the pipeline reads or replaces it
        self.certificate = None   # the client certificate, with TLS client authentication

    @property
    def ip_address(self) -> str:
        """APIM's name (context.Request.IpAddress) for `ip`."""
        return self.ip


class Response:
    """context.response: the backend's answer (or the one policies build), before it is sent."""

    __slots__ = ("status_code", "reason", "headers", "body")

    def __init__(self, status_code: int = 200, reason: str = None, headers: list = None, body: Body = None):
        self.status_code = status_code
        self.reason = reason
        self.headers = Headers([] if headers is None else headers)
        self.body = body          # None: the backend's body streams through unread

    def _replace(self, status: int, body: bytes, content_type: bytes = b"application/json; charset=utf-8",
                 headers: tuple = ()) -> None:
        """Become a gateway-made answer (errors, mock-response)."""
        self.status_code = status
        self.reason = None
        self.headers = Headers([(b"content-type", content_type), *headers])
        self.body = Body(body)


class Named:
    """context.api / context.operation / context.product / context.subscription: plain fields."""

    def __init__(self, **fields):
        self.__dict__.update(fields)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.__dict__})"


class Variables(dict):
    """context.variables: a dict; `get_value(name, default)` as APIM's GetValueOrDefault."""

    __slots__ = ()

    def get_value(self, name, default=None):
        return self.get(name, default)


class Context:
    """One request's context. Built only for operations whose pipeline has policy steps."""

    __slots__ = ("request", "response", "api", "operation", "product", "subscription", "_variables",
                 "request_id", "last_error", "jwt", "timestamp",
                 "_exchange", "_run", "_backend", "_rest", "_finally", "_state", "_extra", "_client_cert")

    def __init__(self, exchange, request: Request, api, operation, product, subscription, request_id: str,
                 timestamp: float, rest: str):
        self.request = request
        self.response = Response()
        self.api = api
        self.operation = operation
        self.product = product
        self.subscription = subscription
        self._variables = None      # made on first use: most requests set none
        self.request_id = request_id
        self.last_error = None
        self.jwt = None
        self.timestamp = timestamp
        self._exchange = exchange   # the worker's side of the request: forwarding, answering
        self._run = None            # the Run walking this request's steps
        self._backend = None        # set-backend-service: a backend name or an ad-hoc Member
        self._rest = rest           # the path below the API, forwarded under the backend's path
        self._finally = None        # callbacks when the request ends (limit-concurrency release)
        self._state = None          # per-request scratch of steps that loop (retry counters)
        self._extra = None          # headers for whatever response is sent (CORS)
        self._client_cert = None    # authentication-certificate: the identity for https backends

    @property
    def variables(self) -> Variables:
        """context.variables (APIM's context.Variables)."""
        found = self._variables
        if found is None:
            found = self._variables = Variables()
        return found

    def _add_response_headers(self, headers) -> None:
        if self._extra is None:
            self._extra = []
        self._extra.extend(headers)

    def _on_end(self, callback) -> None:
        if self._finally is None:
            self._finally = []
        self._finally.append(callback)

    def _ended(self) -> None:
        callbacks, self._finally = self._finally, None
        for callback in callbacks or ():
            callback()
