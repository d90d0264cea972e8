"""A small one-shot HTTP/1.1 client on asyncio and httptools: one request on its own connection, then close.

For the gateway's own calls (OpenID configuration and JWKS documents, later send-request), where a
keep-alive pool is not worth it. The project rule is no aiohttp/httpx in the gateway, so this is the
whole client: http and https (the ssl module), one deadline for connect, send and receive, a cap on
the response size, Content-Length, chunked and read-until-close bodies.
"""
import asyncio
import ssl
from urllib.parse import urlsplit

import httptools

from gwcore import __version__

MAX_BODY = 1 << 20          # default cap of the response body, in bytes
MAX_HEAD = 64 * 1024        # cap of the response head (status line and headers)
USER_AGENT = f"gwcore/{__version__}"


class ClientError(Exception):
    """The request could not be made or the answer was unusable (refused, TLS, malformed, truncated)."""


class ClientTimeout(ClientError):
    """No complete answer within the deadline."""


class ResponseTooLarge(ClientError):
    """The answer was bigger than max_bytes."""


class Response:
    """A complete answer: status, reason, headers as (lower-case name, value) text pairs, body bytes."""

    __slots__ = ("status", "reason", "headers", "body")

    def __init__(self, status: int, reason: str, headers: list, body: bytes):
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body

    def header(self, name: str, default=None):
        """The first value of a header, by name in any case."""
        name = name.lower()
        for key, value in self.headers:
            if key == name:
                return value
        return default

    def __repr__(self) -> str:
        return f"Response({self.status} {self.reason!r}, {len(self.body)} bytes)"


async def fetch(method: str, url: str, headers=(), body: bytes = b"", timeout: float = 5.0,
                max_bytes: int = MAX_BODY, ssl_context: ssl.SSLContext = None) -> Response:
    """Send one request and read the whole answer; ClientError (ClientTimeout, ResponseTooLarge) if not.

    `headers` are (name, value) pairs sent after Host, User-Agent and Connection: close (a Host or
    User-Agent given here replaces ours). https uses `ssl_context`, else the system's trusted CAs.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{url!r} is not an http:// or https:// URL with a host")
    host = parts.hostname
    port = parts.port or (443 if parts.scheme == "https" else 80)
    tls = None
    if parts.scheme == "https":
        tls = ssl_context if ssl_context is not None else _default_tls()
    request = _request_head(method, parts, host, port, headers, body) + body
    try:
        return await asyncio.wait_for(_exchange(request, host, port, tls, method == "HEAD", max_bytes), timeout)
    except asyncio.TimeoutError:
        raise ClientTimeout(f"no complete answer from {host}:{port} within {timeout:g} s") from None


async def _exchange(request: bytes, host: str, port: int, tls, head: bool, max_bytes: int) -> Response:
    loop = asyncio.get_running_loop()
    reader = _OneResponse(loop, head, max_bytes)
    try:
        transport, _ = await loop.create_connection(lambda: reader, host, port, ssl=tls,
                                                    server_hostname=host if tls is not None else None)
    except OSError as exc:  # refused, unreachable, DNS (gaierror), TLS (SSLError) are all OSErrors
        raise ClientError(f"cannot connect to {host}:{port}: {exc}") from exc
    try:
        transport.write(request)
        return await reader.done
    finally:
        # done or not (cancelled by the deadline), the connection is never reused
        transport.abort()


def _request_head(method: str, parts, host: str, port: int, headers, body: bytes) -> bytes:
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    if not method.isalpha() or any(ch <= " " or ch == "\x7f" for ch in target):
        raise ValueError(f"cannot send {method} {target!r}: the method must be letters and the target"
                         " may not hold spaces or control characters (percent-encode them)")
    shown = f"[{host}]" if ":" in host else host
    default_port = 443 if parts.scheme == "https" else 80
    given = {str(name).lower() for name, _ in headers}
    lines = [f"{method.upper()} {target} HTTP/1.1"]
    if "host" not in given:
        lines.append(f"Host: {shown}" if port == default_port else f"Host: {shown}:{port}")
    if "user-agent" not in given:
        lines.append(f"User-Agent: {USER_AGENT}")
    lines.append("Connection: close")
    if body or method.upper() in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(body)}")
    for name, value in headers:
        name, value = str(name), str(value)
        if name.lower() in ("connection", "content-length", "transfer-encoding"):
            raise ValueError(f"header {name} is set by the client itself")
        if not name or any(ch in name for ch in " :\r\n\0") or any(ch in value for ch in "\r\n\0"):
            raise ValueError(f"header {name!r} would break the request: no CR, LF or NUL, no spaces or :"
                             " in the name")
        lines.append(f"{name}: {value}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


_TLS = None


def _default_tls() -> ssl.SSLContext:
    global _TLS
    if _TLS is None:  # loading the CA bundle takes milliseconds: once per process
        _TLS = ssl.create_default_context()
    return _TLS


class _OneResponse(asyncio.Protocol):
    """Reads one response with httptools; `done` gets the Response or the ClientError."""

    def __init__(self, loop, head: bool, max_bytes: int):
        self.done = loop.create_future()
        self.parser = httptools.HttpResponseParser(self)
        self.head = head                # a HEAD answer has no body, whatever its Content-Length says
        self.max_bytes = max_bytes
        self.transport = None
        self._clear()

    def _clear(self) -> None:
        self.reason = b""
        self.headers = []
        self.head_bytes = 0
        self.body = []
        self.size = 0
        self.framed = False             # Content-Length or chunked: the end is known without EOF
        self.headers_done = False
        self.interim = False

    # ---- asyncio.Protocol

    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        if self.done.done():
            return
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._fail(ClientError("the server switched protocols; only plain HTTP/1.1 answers are read"))
        except httptools.HttpParserError as exc:
            if not self.done.done():
                self._fail(ClientError(f"malformed response: {exc}"))
        if self.done.done() and self.transport is not None:
            self.transport.abort()

    def eof_received(self):
        return False

    def connection_lost(self, exc):
        if self.done.done():
            return
        status = self.parser.get_status_code() if self.headers_done else 0
        if self.headers_done and not self.framed and status not in (204, 304):
            self._complete()  # no Content-Length, not chunked: the body ends when the server closes
        else:
            self._fail(ClientError("the server closed the connection before the response was complete"))

    # ---- httptools callbacks

    def on_status(self, reason: bytes):
        self.reason += reason

    def on_header(self, name: bytes, value: bytes):
        self.head_bytes += len(name) + len(value) + 4
        if self.head_bytes > MAX_HEAD:
            return self._fail(ResponseTooLarge(f"response headers larger than {MAX_HEAD} bytes"))
        name = name.lower()
        if name == b"content-length" or (name == b"transfer-encoding" and b"chunked" in value.lower()):
            self.framed = True
        self.headers.append((name.decode("latin-1"), value.decode("latin-1")))

    def on_headers_complete(self):
        self.headers_done = True
        status = self.parser.get_status_code()
        if status < 200:  # 100 Continue, 103 Early Hints: the real answer follows
            self.interim = True
        elif self.head:
            self._complete()

    def on_body(self, body: bytes):
        if self.done.done():
            return
        self.size += len(body)
        if self.size > self.max_bytes:
            return self._fail(ResponseTooLarge(f"response body larger than {self.max_bytes} bytes"))
        self.body.append(body)

    def on_message_complete(self):
        if self.interim:
            self._clear()
            return
        self._complete()

    # ----

    def _complete(self) -> None:
        if not self.done.done():
            self.done.set_result(Response(self.parser.get_status_code(), self.reason.decode("latin-1"),
                                          self.headers, b"".join(self.body)))

    def _fail(self, error: ClientError) -> None:
        if not self.done.done():
            self.done.set_exception(error)
