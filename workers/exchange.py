"""One request/response cycle: route, rewrite, forward through the pool, stream the answer back.

Driven entirely by callbacks (client parser, upstream parser); nothing here awaits except
opening a new upstream connection, which is the only place a Task is created.
"""
import re
from time import perf_counter

from gwcore.fastpath import HOP_BY_HOP, PathError, normalize_path
from gwcore.upstream.pool import ConnectFailed
from gwcore.workers import replies, status_endpoints
from gwcore.workers.flow_control import PEER_FULL, PENDING_BODY

BODY_NONE, BODY_LENGTH, BODY_CHUNKED = 0, 1, 2
# Request headers that need a look as they arrive; everything else is only collected.
H_HOST, H_LENGTH, H_TE, H_EXPECT, H_CONNECTION, H_XFF, H_REQUEST_ID = range(7)
SPECIAL_HEADERS = {b"host": H_HOST, b"content-length": H_LENGTH, b"transfer-encoding": H_TE,
                   b"expect": H_EXPECT, b"connection": H_CONNECTION, b"x-forwarded-for": H_XFF}
OUT_NONE, OUT_LENGTH, OUT_CHUNKED, OUT_CLOSE = 0, 1, 2, 3
IDEMPOTENT = frozenset([b"GET", b"HEAD", b"OPTIONS", b"PUT", b"DELETE"])
# Headers the gateway sets itself on the way to the backend; the client's copies are dropped.
REPLACED = frozenset([b"host", b"x-forwarded-for", b"x-forwarded-proto", b"x-forwarded-host", b"expect",
                      b"content-length"])
PENDING_HIGH_WATER = 256 * 1024
_REQUEST_ID = re.compile(rb"^[A-Za-z0-9._:\-]{1,128}$")
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


def build_request_head(method: bytes, target: bytes, headers: list, skip: frozenset, extra: list) -> bytes:
    parts = [method, b" ", target, b" HTTP/1.1\r\n"]
    for name, value in headers:
        if name not in skip:
            parts += (name, b": ", value, b"\r\n")
    for name, value in extra:
        parts += (name, b": ", value, b"\r\n")
    parts.append(b"\r\n")
    return b"".join(parts)


def skip_set(request_id_header: bytes) -> frozenset:
    """Request headers never copied to the backend as they came."""
    return HOP_BY_HOP | REPLACED | {request_id_header}


class Exchange:
    """Per-request state; the connection (HttpProtocol) owns the per-connection state."""

    __slots__ = (
        "conn", "worker",
        # request as parsed
        "url", "headers", "method", "version", "keep_alive", "host", "host_count", "cl_count",
        "content_length", "te", "te_count", "expect", "header_bytes", "body_mode", "body_received",
        "connection_tokens", "forwarded_for",
        "request_complete", "pending", "pending_bytes",
        # routing
        "plan", "api", "operation", "params", "path", "request_id", "t0",
        # upstream
        "pool", "upstream", "head", "timeout", "upstream_deadline", "retried", "connecting", "t_upstream",
        # response
        "status", "out", "out_mode", "response_started", "done",
    )

    def __init__(self, conn):
        self.conn = conn
        self.worker = conn.worker
        self.url = b""
        self.headers = []
        self.method = b""
        self.version = "1.1"
        self.keep_alive = True
        self.host = b""
        self.host_count = 0
        self.cl_count = 0
        self.content_length = -1
        self.te = b""
        self.te_count = 0
        self.expect = False
        self.connection_tokens = None
        self.forwarded_for = None
        self.header_bytes = 0
        self.body_mode = BODY_NONE
        self.body_received = 0
        self.request_complete = False
        self.pending = None
        self.pending_bytes = 0
        self.plan = None
        self.api = None
        self.operation = None
        self.params = None
        self.path = ""
        self.request_id = b""
        self.t0 = 0.0
        self.pool = None
        self.upstream = None
        self.head = b""
        self.timeout = 0.0
        self.upstream_deadline = 0.0
        self.retried = False
        self.connecting = None
        self.t_upstream = 0.0
        self.status = 0
        self.out = []
        self.out_mode = OUT_NONE
        self.response_started = False
        self.done = False

    # ------------------------------------------------------------ request head

    def special_header(self, kind: int, value: bytes):
        """Note a header of SPECIAL_HEADERS; (status, message) if it makes the request invalid."""
        if kind == H_HOST:
            self.host_count += 1
            self.host = value
        elif kind == H_LENGTH:
            if not value.isdigit():
                return 400, "Bad Request: invalid Content-Length"
            self.cl_count += 1
            self.content_length = int(value)
        elif kind == H_TE:
            self.te_count += 1
            self.te = value
        elif kind == H_EXPECT:
            if value.lower() != b"100-continue":
                return 417, "Expectation Failed"
            self.expect = True
        elif kind == H_CONNECTION:
            tokens = [t.strip().lower() for t in value.split(b",")]
            self.connection_tokens = tokens if self.connection_tokens is None else self.connection_tokens + tokens
        elif kind == H_XFF:
            self.forwarded_for = value if self.forwarded_for is None else self.forwarded_for + b", " + value
        elif kind == H_REQUEST_ID:
            if not self.request_id and _REQUEST_ID.match(value):
                self.request_id = value
        return None

    def head_complete(self, parser):
        """Validate the parsed head; (status, message) when it must be refused, else None."""
        self.method = method = parser.get_method()
        self.version = version = parser.get_http_version()
        if version != "1.1" and version != "1.0":
            return 505, "HTTP Version Not Supported"
        if method == b"CONNECT":
            return 501, "CONNECT is not supported"
        if method == b"TRACE":
            return 405, "TRACE is not allowed"
        if parser.should_upgrade():
            return 501, "Protocol upgrade is not supported"
        if self.host_count > 1 or (self.host_count == 0 and version == "1.1"):
            return 400, "Bad Request: exactly one Host header is required"
        if self.cl_count > 1:
            return 400, "Bad Request: more than one Content-Length"
        if self.te_count:
            if self.te_count > 1 or self.cl_count:
                return 400, "Bad Request: ambiguous message framing"
            if self.te.strip().lower() != b"chunked":
                return 501, "Transfer-Encoding other than chunked is not supported"
            self.body_mode = BODY_CHUNKED
        elif self.content_length > 0:
            if self.content_length > self.worker.limits.max_body_bytes:
                return 413, "Request body too large"
            self.body_mode = BODY_LENGTH
        if not self.url.startswith(b"/"):
            return 400, "Bad Request: only origin-form request targets are accepted"
        self.keep_alive = parser.should_keep_alive()
        return None

    # ------------------------------------------------------------ routing and forwarding

    def start(self):
        """Called when it is this request's turn on its connection (answers go in order)."""
        worker = self.worker
        self.t0 = perf_counter()
        self.plan = plan = worker.plan
        url = self.url
        q = url.find(b"?")
        raw_path, query = (url, b"") if q < 0 else (url[:q], url[q + 1:])
        try:
            self.path = path = normalize_path(raw_path)
        except PathError:
            self.keep_alive = False
            return self.reply(400, "Bad Request: malformed path")
        if path in status_endpoints.PATHS:
            return self.local(status_endpoints.answer(path, worker, plan))
        match = plan.match(self.method.decode("ascii"), path, query.decode("latin-1"), self)
        if match is None:
            return self.reply(404, replies.NOT_FOUND)
        self.api, self.operation, self.params, rest = match
        backend = self.api.backend
        if backend is None:
            return self.reply(500, "Backend service URL is not defined")
        self.timeout = backend.timeout
        self.pool = pool = worker.upstreams.backend_set(backend.name).choose()
        target = (pool.member.base_path + rest or "/").encode("ascii")
        if query:
            target += b"?" + query
        self.head = self.build_head(target, pool.member.host_header)
        if self.expect and not self.request_complete and self.body_received == 0:
            self.conn.transport.write(CONTINUE)
        conn = pool.acquire_idle()
        if conn is not None:
            self.attach(conn)
        else:
            self.connecting = worker.loop.create_task(self.connect())

    def build_head(self, target: bytes, host_header: bytes) -> bytes:
        """The upstream request head: the client's headers less hop-by-hop ones and those the
        gateway sets itself, then Host, X-Forwarded-*, the request id and the body framing."""
        worker = self.worker
        skip = worker.skip_request_headers
        if self.connection_tokens:
            skip = skip.union(self.connection_tokens)
        if not self.request_id:
            self.request_id = worker.new_request_id()
        peer = self.conn.peer
        extra = [
            (b"host", host_header),
            (b"x-forwarded-for", peer if self.forwarded_for is None else self.forwarded_for + b", " + peer),
            (b"x-forwarded-proto", worker.scheme),
            (b"x-forwarded-host", self.host),
            (worker.request_id_header, self.request_id),
        ]
        if self.body_mode == BODY_CHUNKED:
            extra.append((b"transfer-encoding", b"chunked"))
        elif self.content_length >= 0:
            extra.append((b"content-length", b"%d" % self.content_length))
        return build_request_head(self.method, target, self.headers, skip, extra)

    async def connect(self):
        try:
            conn = await self.pool.connect()
        except ConnectFailed as exc:
            self.connecting = None
            if not self.done:
                if exc.reason == "timeout":
                    self.reply(504, replies.BACKEND_TIMEOUT)
                else:
                    self.reply(502, replies.BACKEND_UNAVAILABLE)
            return
        self.connecting = None
        if self.done:
            self.pool.release(conn)
        else:
            self.attach(conn)

    def attach(self, conn):
        """Lend `conn` to this exchange and send the head and any body received so far."""
        self.upstream = conn
        conn.attach(self, self.method == b"HEAD")
        self.t_upstream = perf_counter()
        self.upstream_deadline = self.worker.loop.time() + self.timeout
        pending = self.pending
        if pending:
            self.pending = None
            self.pending_bytes = 0
            conn.write(self.head + b"".join(pending))
            self.conn.flow.resume_reading(PENDING_BODY)
        else:
            conn.write(self.head)

    # ------------------------------------------------------------ request body

    def request_body(self, chunk: bytes):
        if self.done:
            return
        self.body_received += len(chunk)
        if self.body_received > self.worker.limits.max_body_bytes:
            self.keep_alive = False
            if self.upstream is not None:
                self.upstream.abort()
                self.upstream = None
            if self.response_started:
                self.conn.transport.abort()
                return
            return self.reply(413, "Request body too large")
        if self.body_mode == BODY_CHUNKED:
            chunk = b"%x\r\n%s\r\n" % (len(chunk), chunk)
        self._send_body(chunk)

    def request_done(self):
        self.request_complete = True
        if self.body_mode == BODY_CHUNKED and not self.done:
            self._send_body(b"0\r\n\r\n")

    def _send_body(self, data: bytes):
        if self.upstream is not None:
            self.upstream.write(data)
            return
        if self.pending is None:
            self.pending = []
        self.pending.append(data)
        self.pending_bytes += len(data)
        if self.pending_bytes > PENDING_HIGH_WATER:
            self.conn.flow.pause_reading(PENDING_BODY)

    # ------------------------------------------------------------ upstream response

    def upstream_headers(self, status: int, headers: list):
        self.status = status
        worker = self.worker
        has_length = False
        parts = [replies.status_line(status)]
        for name, value in headers:  # hop-by-hop ones were dropped as they arrived
            if name == b"content-length":
                has_length = True
            parts += (name, b": ", value, b"\r\n")
        if self.method == b"HEAD" or status == 204 or status == 304:
            self.out_mode = OUT_NONE
        elif has_length:
            self.out_mode = OUT_LENGTH
        elif self.version == "1.1":
            self.out_mode = OUT_CHUNKED
            parts.append(b"transfer-encoding: chunked\r\n")
        else:
            self.out_mode = OUT_CLOSE
            self.keep_alive = False
        parts += (worker.request_id_header, b": ", self.request_id, b"\r\n")
        if not self.keep_alive or worker.draining:
            self.keep_alive = False
            parts.append(b"connection: close\r\n\r\n")
        elif self.version == "1.0":
            parts.append(b"connection: keep-alive\r\n\r\n")
        else:
            parts.append(b"\r\n")
        self.out.append(b"".join(parts))
        self.response_started = True

    def upstream_body(self, chunk: bytes):
        if self.out_mode == OUT_CHUNKED:
            self.out.append(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        elif self.out_mode != OUT_NONE:
            self.out.append(chunk)

    def upstream_flush(self):
        """End of one upstream read: write what it produced to the client in one call."""
        out = self.out
        if out:
            self.conn.transport.write(out[0] if len(out) == 1 else b"".join(out))
            out.clear()
        self.upstream_deadline = self.worker.loop.time() + self.timeout

    def upstream_complete(self, keep_alive: bool):
        if self.out_mode == OUT_CHUNKED:
            self.out.append(b"0\r\n\r\n")
        self.upstream_flush()
        conn = self.upstream
        self.upstream = None
        if keep_alive and self.request_complete:
            self.pool.release(conn)
        else:
            conn.close()
            if not self.request_complete:
                self.keep_alive = False  # the rest of the client's body has nowhere to go
        self.finish()

    def upstream_failed(self, reason: str, got_bytes: bool):
        """The upstream connection closed or sent garbage before the response was complete."""
        conn = self.upstream
        self.upstream = None
        if self.done:
            return
        if not self.response_started:
            if (reason == "closed" and not got_bytes and conn is not None and conn.reused
                    and not self.retried and self.body_mode == BODY_NONE and self.method in IDEMPOTENT):
                # a pooled connection the backend had already closed: once more on a fresh one
                self.retried = True
                self.connecting = self.worker.loop.create_task(self.connect())
                return
            self.keep_alive = self.keep_alive and self.request_complete
            return self.reply(502, replies.BACKEND_UNAVAILABLE)
        if self.out_mode == OUT_CLOSE and reason == "closed":
            self.upstream_flush()
            return self.finish()
        self.keep_alive = False
        self.conn.transport.abort()
        self.finish()

    def upstream_write_paused(self):
        self.conn.flow.pause_reading(PEER_FULL)

    def upstream_write_resumed(self):
        self.conn.flow.resume_reading(PEER_FULL)

    def check_deadline(self, now: float):
        """Called by the worker's sweep: a backend that stays silent too long gets 504."""
        if self.upstream is not None and now > self.upstream_deadline:
            conn = self.upstream
            self.upstream = None
            conn.abort()
            if not self.response_started:
                self.keep_alive = self.keep_alive and self.request_complete
                return self.reply(504, replies.BACKEND_TIMEOUT)
            self.keep_alive = False
            self.conn.transport.abort()
            self.finish()

    # ------------------------------------------------------------ ending

    def reply(self, status: int, message: str, extra: tuple = ()):
        """Answer from the gateway itself with the APIM-style JSON error body."""
        return self.local((status, replies.error_body(status, message), extra))

    def local(self, answer):
        status, body, extra = answer
        if not self.request_complete and self.body_mode != BODY_NONE:
            self.keep_alive = False  # answered before the body arrived: do not read it all
        if not self.request_id:
            self.request_id = self.worker.new_request_id()
        self.status = status
        self.response_started = True
        self.conn.transport.write(replies.json_response(
            status, body, close=not self.keep_alive or self.worker.draining,
            request_id=self.request_id, request_id_header=self.worker.request_id_header,
            extra=extra, head_only=self.method == b"HEAD"))
        if self.worker.draining:
            self.keep_alive = False
        self.finish()

    def finish(self):
        if self.done:
            return
        self.done = True
        if self.connecting is not None:
            self.connecting.cancel()
            self.connecting = None
        self.worker.requests += 1
        log = self.worker.access_log
        if log is not None:
            log.record(self)
        self.conn.exchange_done(self)

    def client_lost(self):
        """The client went away: the upstream connection is mid-exchange and cannot be reused."""
        self.done = True
        if self.upstream is not None:
            self.upstream.abort()
            self.upstream = None
        if self.connecting is not None:
            self.connecting.cancel()
            self.connecting = None

    # ------------------------------------------------------------ for routing by header

    def get(self, name: str):
        """Request header by lower-case name (first value), for header-scheme versioning."""
        key = name.encode("latin-1")
        for header, value in self.headers:
            if header == key:
                return value.decode("latin-1")
        return None
