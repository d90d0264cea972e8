"""The way to the backend: send the request (head and body) through the pool to a member.

Two ways through: a plain operation (only the default forward-request) forwards straight
from the parsed request; an operation with policies forwards what its context says. The
answer coming back is workers/responding.py's.
"""
from time import perf_counter

from gwcore.fastpath import build_request_head
from gwcore.pipeline.errors import BackendError
from gwcore.pipeline.runner import WAIT
from gwcore.upstream.balancing import retarget
from gwcore.upstream.pool import ConnectFailed
from gwcore.workers import replies
from gwcore.workers.exchange_state import (BODY_CHUNKED, BODY_NONE, OUT_BUFFER, OUT_HELD, OUT_STREAM,
                                           ExchangeState)
from gwcore.workers.flow_control import PENDING_BODY

IDEMPOTENT = frozenset([b"GET", b"HEAD", b"OPTIONS", b"PUT", b"DELETE"])
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
PENDING_HIGH_WATER = 256 * 1024   # request body held before the backend is ready: pause reading above


def frame_chunks(chunks: list) -> bytes:
    data = b"".join(chunks)
    return b"%x\r\n%s\r\n" % (len(data), data) if data else b""


class Forwarding(ExchangeState):
    """Exchange's way to the backend member (its base class, as Responding is the next)."""

    __slots__ = ()

    # ------------------------------------------------------------ sending the request

    def forward_plain(self, rest: str, query: bytes, pipeline) -> None:
        """An operation without policies (or only constant set-header statements, which
        Pipeline.request_edits and answer_edits carry): forward the parsed request as it came."""
        backend = self.api.backend
        if backend is None:
            return self.reply(500, "Backend service URL is not defined")
        timeout = pipeline.timeout
        self.timeout = backend.timeout if timeout is None else timeout
        edits = pipeline.request_edits
        if edits is not None:
            edits.apply(self.headers)
        self.answer_edits = pipeline.answer_edits
        backend_set = self.worker.upstreams.backend_set(backend.name)
        self.pool = pool = backend_set.choose()
        if pool is None:  # every member tripped or unhealthy
            error = backend_set.unavailable()
            return self.reply(error.status, error.message, error.headers)
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
        if ctx._client_cert is not None:  # authentication-certificate: pools of its own
            backend_set = upstreams.with_client_cert(backend_set, ctx._client_cert)
        if self.upstream is not None or self.connecting is not None:  # a retry: drop the last attempt
            self._drop_upstream()
        self.timeout = backend_set.backend.timeout if timeout is None else timeout
        self.pool = pool = backend_set.choose()
        if pool is None:
            raise backend_set.unavailable()
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
        method = request.method.encode("ascii")
        self.head = self.build_head(method, target, pool.member.host_header, request.headers._items, framing)
        self.forwarded = True
        program = self.program
        if program.response_body:
            self.out_mode = OUT_BUFFER
        elif program.streams and method == self.method:
            # the answer goes back as on a plain operation (set-method may have made a GET a HEAD:
            # that answer needs the held path, which knows it has no body)
            self.out_mode = OUT_STREAM
        else:
            self.out_mode = OUT_HELD
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
            (b"x-forwarded-proto", self.conn.scheme),
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
            self.pool.failed(exc.reason)
            if not self.done and not self.retry_elsewhere():
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

    def retry_elsewhere(self) -> bool:
        """Once, an idempotent request without a body that failed before any byte of an answer:
        send it to another member of the backend (True), if one is usable."""
        head = self.head
        if self.retried or self.response_started or self.body_mode != BODY_NONE \
                or head[:head.index(b" ")] not in IDEMPOTENT:
            return False
        other = self.pool.backend_set.other(self.pool)
        if other is None:
            return False
        self.retried = True
        self.head = retarget(head, self.pool.member, other.member)
        self.pool = other
        self._send_to(other)
        return True

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
        if self.body_received > self.worker.max_body_bytes:
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
