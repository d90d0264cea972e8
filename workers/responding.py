"""The way back: the backend's answer streamed to the client, or a pipeline's answer written.

A plain operation's answer is framed and written as it arrives. With policies, the answer's
head waits for the outbound steps (the body too, when a step reads it) and what the context
says goes out; a gateway-made answer (return-response, an error) is written whole.
"""
from gwcore.fastpath import build_head, has_header
from gwcore.pipeline.context import Body
from gwcore.pipeline.errors import BackendError
from gwcore.pipeline.runner import DONE
from gwcore.workers import replies
from gwcore.workers.flow_control import PEER_FULL
from gwcore.workers.exchange_state import (BODY_NONE, OUT_BUFFER, OUT_CHUNKED, OUT_CLOSE, OUT_DISCARD, OUT_HELD,
                                           OUT_LENGTH, OUT_NONE, OUT_STREAM)
from gwcore.workers.forwarding import IDEMPOTENT, Forwarding

NO_BODY_STATUS = frozenset([204, 304])
FRAMING = frozenset([b"content-length", b"transfer-encoding"])
NOTHING = frozenset()
CHUNKED = (b"transfer-encoding", b"chunked")
CLOSE = (b"connection", b"close")
KEEP_ALIVE = (b"connection", b"keep-alive")
_EMPTY = Body(b"")
_STATUS_LINES = replies.STATUS_LINES


class Responding(Forwarding):
    """Exchange's way back to the client (its base class; Forwarding is the one before)."""

    __slots__ = ()

    # ------------------------------------------------------------ upstream response

    def upstream_headers(self, status: int, headers: list):
        self.status = status
        if self.pool.breaker is not None:
            self.pool.answered(status, headers)
        ctx = self.ctx
        if ctx is not None and self.out_mode != OUT_STREAM:
            response = ctx.response
            response.status_code = status
            response.reason = None
            response.headers._items = headers  # the connection starts a new list for its next answer
            response.body = None
            if self.upstream.head_request and self.method != b"HEAD":
                response.body = _EMPTY  # sent as HEAD (set-method): no body, whatever Content-Length says
            if self.out_mode == OUT_HELD:
                self.run.resume()
                if self.out_mode == OUT_HELD and self.upstream is not None:
                    self.upstream.transport.pause_reading()  # outbound waits: hold the backend
                    self.held_paused = True
            return
        has_length = self.upstream.content_lengths > 0
        if self.answer_edits is not None:  # constant set-header statements in outbound
            self.answer_edits.apply(headers)
        if ctx is not None:
            # end-of-request steps (increment-condition) still read context.response
            response = ctx.response
            response.status_code = status
            response.headers._items = headers
            if ctx._extra:
                headers = headers + ctx._extra
        self.out.append(self.response_head(status, None, headers, None, has_length))
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
        # the common answer is a dict lookup here; status_line() (a Python call) for the rest
        line = _STATUS_LINES.get(status) if reason is None else None
        return build_head(line or replies.status_line(status, reason), headers, skip, extra)

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
            if reason == "closed" and not got_bytes:
                if conn is None or not conn.reused:  # a pooled connection may just have gone stale
                    self.pool.failed("connection")
                if self.retry_elsewhere():
                    return
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
            self.pool.failed("timeout")
            if not self.response_started:
                self.keep_alive = self.keep_alive and self.request_complete
                return self.backend_failed(504, replies.BACKEND_TIMEOUT, "Timeout")
            self.keep_alive = False
            self.conn.transport.abort()
            self.finish()

    # ------------------------------------------------------------ answers of the gateway, the end

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
        if self.ctx is not None:
            if self.run.section != DONE:
                self.run.abandon()
            self.ended()
        self.worker.requests += 1
        if self.worker.observe is not None:  # metrics and tracing (gwcore/observability)
            self.worker.observe(self)
        log = self.worker.access_log
        if log is not None:
            log.record(self)
        self.conn.exchange_done(self)

    def ended(self) -> None:
        """Run the context's end callbacks, then break the context's reference cycles (context,
        run and exchange point at each other): refcounting frees them now, not the cyclic GC."""
        ctx, run = self.ctx, self.run
        ctx._ended()
        ctx._run = ctx._exchange = None
        run.ctx = run.host = None

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
