"""The backend half of an exchange: send the request through the pool, stream the answer back.

Two ways through: a plain operation (only the default forward-request) forwards straight
from the parsed request; an operation with policies forwards what its context says and
hands the backend's answer to the outbound steps before anything is written.
"""
from time import perf_counter

from gwcore.fastpath import build_request_head, build_response_head, has_header
from gwcore.pipeline.context import Body
from gwcore.pipeline.errors import BackendError
from gwcore.pipeline.runner import WAIT
from gwcore.upstream.pool import ConnectFailed
from gwcore.workers import replies
from gwcore.workers.flow_control import PEER_FULL, PENDING_BODY

BODY_NONE, BODY_LENGTH, BODY_CHUNKED = 0, 1, 2
OUT_NONE, OUT_LENGTH, OUT_CHUNKED, OUT_CLOSE, OUT_HELD, OUT_BUFFER, OUT_DISCARD = range(7)
IDEMPOTENT = frozenset([b"GET", b"HEAD", b"OPTIONS", b"PUT", b"DELETE"])
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
NO_BODY_STATUS = frozenset([204, 304])
FRAMING = frozenset([b"content-length", b"transfer-encoding"])
NOTHING = frozenset()
CHUNKED = (b"transfer-encoding", b"chunked")
CLOSE = (b"connection", b"close")
KEEP_ALIVE = (b"connection", b"keep-alive")


def frame_chunks(chunks: list) -> bytes:
    data = b"".join(chunks)
    return b"%x\r\n%s\r\n" % (len(data), data) if data else b""


class Forwarding:
    """Mixin of Exchange: everything between the gateway and the backend member."""

    __slots__ = ()

    # ------------------------------------------------------------ sending the request

    def forward_plain(self, rest: str, query: bytes, timeout) -> None:
        """An operation without policies: forward the parsed request as it came."""
        backend = self.api.backend
        if backend is None:
            return self.reply(500, "Backend service URL is not defined")
        self.timeout = backend.timeout if timeout is None else timeout
        self.pool = pool = self.worker.upstreams.backend_set(backend.name).choose()
        member = pool.member
        target = (member.base_path + rest or "/").encode("ascii")
        if query:
            target += b"?" + query
        if self.body_mode == BODY_NONE and self.content_length < 0:
            framing = ()
        else:
            framing = self._stream_framing()
            if self.expect and not self.request_complete and self.body_received == 0:
                self.conn.transport.write(CONTINUE)
        self.head = self.build_head(self.method, target, member.host_header, self.headers, framing)
        conn = pool.acquire_idle()
        if conn is not None:
            self.attach(conn)
        else:
            self.connecting = self.worker.loop.create_task(self.connect())

    def forward(self, ctx, timeout) -> object:
        """forward-request: send what the context says; the Run resumes when the answer is in."""
        target_backend = ctx._backend
        upstreams = self.worker.upstreams
        if target_backend is None:
            backend = self.api.backend
            if backend is None:
                raise BackendError(500, "Backend service URL is not defined", "BackendNotDefined")
            backend_set = upstreams.backend_set(backend.name)
        elif target_backend[0] == "name":
            backend_set = upstreams.backend_set(target_backend[1])
            if backend_set is None:
                raise BackendError(500, f"Backend {target_backend[1]!r} is not defined", "BackendNotDefined")
        else:
            backend_set = upstreams.for_url(target_backend[1])
        if self.upstream is not None or self.connecting is not None:  # a retry: drop the last attempt
            self._drop_upstream()
        self.timeout = backend_set.backend.timeout if timeout is None else timeout
        self.pool = pool = backend_set.choose()
        request = ctx.request
        target = (pool.member.base_path + ctx._rest or "/").encode("ascii")
        query = request.url.query._encoded()
        if query:
            target += b"?" + query
        body = request.body
        if body is not None:
            framing = [(b"content-length", b"%d" % len(body.bytes))]
        elif self.forwarded:
            raise BackendError(500, "The request body was streamed to the backend already and cannot be"
                               " sent again", "RequestBodyConsumed")
        else:
            framing = self._stream_framing()
            if self.expect and not self.request_complete and self.body_received == 0:
                self.conn.transport.write(CONTINUE)
        self.head = self.build_head(request.method.encode("ascii"), target, pool.member.host_header,
                                    request.headers._items, framing)
        self.forwarded = True
        self.out_mode = OUT_BUFFER if self.program.response_body else OUT_HELD
        self.held = []
        self._send_to(pool)
        return WAIT

    def _stream_framing(self) -> list:
        if self.body_mode == BODY_CHUNKED:
            return [(b"transfer-encoding", b"chunked")]
        if self.content_length >= 0:
            return [(b"content-length", b"%d" % self.content_length)]
        return []

    def build_head(self, method: bytes, target: bytes, host_header: bytes, headers: list, framing: list) -> bytes:
        """The upstream request head: the headers less hop-by-hop ones and those the gateway sets
        itself, then Host, X-Forwarded-*, the request id and the body framing."""
        worker = self.worker
        skip = worker.skip_request_headers
        if self.connection_tokens:
            skip = skip.union(self.connection_tokens)
        peer = self.conn.peer
        extra = [
            (b"host", host_header),
            (b"x-forwarded-for", peer if self.forwarded_for is None else self.forwarded_for + b", " + peer),
            (b"x-forwarded-proto", worker.scheme),
            (b"x-forwarded-host", self.host),
            (worker.request_id_header, self.request_id),
        ]
        if framing:
            extra += framing
        return build_request_head(method, target, headers, skip, extra)

    def _send_to(self, pool) -> None:
        conn = pool.acquire_idle()
        if conn is not None:
            self.attach(conn)
        else:
            self.connecting = self.worker.loop.create_task(self.connect())

    async def connect(self):
        try:
            conn = await self.pool.connect()
        except ConnectFailed as exc:
            self.connecting = None
            if not self.done:
                if exc.reason == "timeout":
                    self.backend_failed(504, replies.BACKEND_TIMEOUT, "Timeout")
                else:
                    self.backend_failed(502, replies.BACKEND_UNAVAILABLE, "BackendConnectionFailure")
            return
        self.connecting = None
        if self.done:
            self.pool.release(conn)
        else:
            self.attach(conn)

    def attach(self, conn):
        """Lend `conn` to this exchange and send the head and any body received so far."""
        self.upstream = conn
        ctx = self.ctx
        # the backend answers the method it is sent, which set-method may have changed
        method = self.method if ctx is None else ctx.request.method.encode("ascii")
        conn.attach(self, method == b"HEAD")
        self.t_upstream = perf_counter()
        self.upstream_deadline = self.worker.loop.time() + self.timeout
        if ctx is not None and ctx.request.body is not None:
            conn.write(self.head + ctx.request.body.bytes)
            return
        self.streaming_body = True
        pending = self.pending
        data = self.head
        if pending:
            self.pending = None
            self.pending_bytes = 0
            data += frame_chunks(pending) if self.body_mode == BODY_CHUNKED else b"".join(pending)
            self.conn.flow.resume_reading(PENDING_BODY)
        if self.request_complete and self.body_mode == BODY_CHUNKED:
            data += b"0\r\n\r\n"
        conn.write(data)

    def _drop_upstream(self) -> None:
        if self.connecting is not None:
            self.connecting.cancel()
            self.connecting = None
        if self.upstream is not None:
            self.upstream.abort()
            self.upstream = None
        self.held = None
        self.held_paused = False

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
            if self.run is not None:
                self.run.abandon()
            return self.reply(413, "Request body too large")
        if self.streaming_body and self.upstream is not None:
            self.upstream.write(b"%x\r\n%s\r\n" % (len(chunk), chunk) if self.body_mode == BODY_CHUNKED else chunk)
            return
        if self.pending is None:
            self.pending = []
        self.pending.append(chunk)
        self.pending_bytes += len(chunk)
        if self.pending_bytes > PENDING_HIGH_WATER and not self.buffering_request:
            self.conn.flow.pause_reading(PENDING_BODY)

    def request_done(self):
        self.request_complete = True
        if self.done:
            return
        if self.buffering_request:
            return self.request_buffered()
        if self.body_mode == BODY_CHUNKED and self.streaming_body and self.upstream is not None:
            self.upstream.write(b"0\r\n\r\n")

    # ------------------------------------------------------------ upstream response

    def upstream_headers(self, status: int, headers: list):
        self.status = status
        if self.ctx is not None:
            response = self.ctx.response
            response.status_code = status
            response.reason = None
            response.headers._items[:] = headers
            response.body = None
            if self.upstream.head_request and self.method != b"HEAD":
                response.body = _EMPTY  # sent as HEAD (set-method): no body, whatever Content-Length says
            if self.out_mode == OUT_HELD:
                self.run.resume()
                if self.out_mode == OUT_HELD and self.upstream is not None:
                    self.upstream.transport.pause_reading()  # outbound waits: hold the backend
                    self.held_paused = True
            return
        self.out.append(self.response_head(status, None, headers, None, self.upstream.content_lengths > 0))
        self.response_started = True

    def response_head(self, status: int, reason, headers: list, body_length, has_length=None) -> bytes:
        """Serialise the answer's head and decide how its body is framed (self.out_mode).
        `body_length`: the length of a body the gateway sends itself (its own framing replaces
        the backend's); `has_length`: whether `headers` hold a Content-Length, when known."""
        worker = self.worker
        extra = []
        # a 204 may carry no length (RFC 9110 8.6), even when set-status made it one
        if body_length is not None or status == 204:
            skip = FRAMING
        else:
            skip = NOTHING
            if has_length is None:
                has_length = has_header(headers, b"content-length")
        if self.method == b"HEAD" or status in NO_BODY_STATUS:
            self.out_mode = OUT_NONE if body_length is None else OUT_DISCARD
            if body_length is not None and status not in NO_BODY_STATUS:
                extra.append((b"content-length", b"%d" % body_length))  # HEAD: the length a GET gets
        elif body_length is not None:
            extra.append((b"content-length", b"%d" % body_length))
            self.out_mode = OUT_DISCARD
        elif has_length:
            self.out_mode = OUT_LENGTH
        elif self.version == "1.1":
            self.out_mode = OUT_CHUNKED
            extra.append(CHUNKED)
        else:
            self.out_mode = OUT_CLOSE
            self.keep_alive = False
        extra.append((worker.request_id_header, self.request_id))
        if not self.keep_alive or worker.draining:
            self.keep_alive = False
            extra.append(CLOSE)
        elif self.version == "1.0":
            extra.append(KEEP_ALIVE)
        return build_response_head(replies.status_line(status, reason), headers, skip, extra)

    def upstream_body(self, chunk: bytes):
        self.bytes_out += len(chunk)
        mode = self.out_mode
        if mode == OUT_LENGTH or mode == OUT_CLOSE:
            self.out.append(chunk)
        elif mode == OUT_CHUNKED:
            self.out.append(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        elif mode == OUT_HELD or mode == OUT_BUFFER:
            self.held.append(chunk)

    def upstream_flush(self):
        """End of one upstream read: write what it produced to the client in one call."""
        out = self.out
        if out:
            self.conn.transport.write(out[0] if len(out) == 1 else b"".join(out))
            out.clear()
        self.upstream_deadline = self.worker.loop.time() + self.timeout

    def upstream_complete(self, keep_alive: bool):
        conn = self.upstream
        self.upstream = None
        mode = self.out_mode
        if keep_alive and self.request_complete:
            if self.held_paused:
                # upstream_headers paused reading while outbound (or a retry) waits, and the rest of
                # the answer was already in hand: a pooled connection must read its next answer
                conn.transport.resume_reading()
                self.held_paused = False
            self.pool.release(conn)
        else:
            conn.close()
            if not self.request_complete:
                self.keep_alive = False  # the rest of the client's body has nowhere to go
        if mode == OUT_BUFFER:
            self.ctx.response.body = Body(b"".join(self.held))
            self.held = None
            return self.run.resume()
        if mode == OUT_HELD:
            return  # outbound still runs; send_response writes what is held and finishes
        if mode == OUT_CHUNKED:
            self.out.append(b"0\r\n\r\n")
        self.upstream_flush()
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
            return self.backend_failed(502, replies.BACKEND_UNAVAILABLE, "BackendConnectionFailure")
        if self.out_mode == OUT_CLOSE and reason == "closed":
            self.upstream_flush()
            return self.finish()
        self.keep_alive = False
        self.conn.transport.abort()
        self.finish()

    def backend_failed(self, status: int, message: str, reason: str) -> None:
        self.held = None
        if self.run is not None:
            return self.run.fail(BackendError(status, message, reason))
        self.reply(status, message)

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
                return self.backend_failed(504, replies.BACKEND_TIMEOUT, "Timeout")
            self.keep_alive = False
            self.conn.transport.abort()
            self.finish()

    # ------------------------------------------------------------ answers of a pipeline

    def send_response(self, ctx) -> None:
        """The pipeline is done: write context.response; a backend body not read streams on."""
        if self.done:
            return
        response = ctx.response
        headers = response.headers._items
        if ctx._extra:
            headers = headers + ctx._extra
        body = response.body
        held = self.held
        self.held = None
        if not self.request_complete and self.body_mode != BODY_NONE and not self.forwarded:
            self.keep_alive = False  # answered before the body arrived: do not read it all
        streaming = body is None and self.out_mode == OUT_HELD
        if body is None and not streaming:
            body = _EMPTY
        head = self.response_head(response.status_code, response.reason, headers,
                                  None if streaming else len(body.bytes))
        self.response_started = True
        self.status = response.status_code
        if not streaming:
            if self.out_mode == OUT_DISCARD and self.method != b"HEAD" and response.status_code not in NO_BODY_STATUS:
                head += body.bytes
                self.bytes_out = len(body.bytes)
            self.conn.transport.write(head)
            # the backend's own body is not wanted: drop the connection; an answer to HEAD has
            # none and completes as soon as this returns, so that connection goes back to the pool
            if self.upstream is not None and not self.upstream.head_request:
                self.upstream.abort()
                self.upstream = None
            return self.finish()
        self.out.append(head)
        for chunk in held or ():
            self.bytes_out -= len(chunk)  # counted as they arrived
            self.upstream_body(chunk)
        if self.upstream is None:           # the backend finished while outbound ran
            if self.out_mode == OUT_CHUNKED:
                self.out.append(b"0\r\n\r\n")
            self.upstream_flush()
            return self.finish()
        if self.held_paused:                # outbound waited: the backend's read loop is paused
            self.held_paused = False
            self.upstream_flush()
            self.upstream.transport.resume_reading()
        # else we are inside the backend's read: it flushes head and body in one write when it ends

    def send_error(self, error) -> None:
        """The default error reply (no on-error section, or on-error failed too)."""
        if self.done:
            return
        self._drop_upstream()
        if self.response_started:
            self.keep_alive = False
            self.conn.transport.abort()
            return self.finish()
        self.reply(error.status, error.message, error.headers)


_EMPTY = Body(b"")
PENDING_HIGH_WATER = 256 * 1024
