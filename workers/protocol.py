"""The client side of a worker: one HttpProtocol per connection, parsed with httptools.

Callbacks only move state; they never await. Requests are answered in the order they
arrived (pipelining): while one is being answered, later ones wait in `queue`. A read that
holds exactly one request head with no body (the common request) is read by the fast path's
parse_whole_request instead, and goes through the same steps as httptools' callbacks.
"""
from collections import deque

import httptools

from gwcore.fastpath import parse_whole_request
from gwcore.workers import replies
from gwcore.workers.exchange import Exchange
from gwcore.workers.flow_control import PEER_FULL, PENDING_BODY, PIPELINE, FlowControl

# What the connection is waiting for, for the worker's deadline sweep.
WAIT_NONE, WAIT_IDLE, WAIT_HEAD, WAIT_BODY, WAIT_LINGER = 0, 1, 2, 3, 4
LINGER_SECONDS = 2.0


class _Refused(Exception):
    """Raised inside a parser callback to stop parsing once the request is refused."""


class HttpProtocol:
    """One client connection (an asyncio protocol by its methods: compiled, it is a C type, which
    cannot derive from asyncio.Protocol)."""

    __slots__ = (
        # per-connection state
        "worker", "loop", "transport", "parser", "peer", "peer_text", "flow", "active", "queue", "failure",
        "closing", "wait", "deadline", "scheme", "scheme_text",
        # per-request state: the request being parsed
        "current",
    )

    def __init__(self, worker, scheme: bytes = b"http"):
        self.worker = worker
        self.scheme = scheme    # of the listener: X-Forwarded-Proto and context.request.url say it
        self.scheme_text = scheme.decode("ascii")
        self.loop = worker.loop
        self.transport = None
        self.parser = httptools.HttpRequestParser(self)
        self.peer = b""
        self.peer_text = ""
        self.flow = None
        self.active = None      # the exchange whose answer is being written
        self.queue = deque()    # parsed requests waiting for their turn
        self.failure = None     # (status, message) to answer after the queue, then close
        self.closing = False
        self.wait = WAIT_HEAD
        self.deadline = 0.0
        self.current = None

    # ------------------------------------------------------------ asyncio.Protocol

    def connection_made(self, transport):
        self.transport = transport
        self.flow = FlowControl(transport)
        peer = transport.get_extra_info("peername")
        self.peer_text = peer[0] if peer else "unknown"
        self.peer = self.peer_text.encode("ascii")
        self.worker.connections.add(self)
        self.deadline = self.loop.time() + self.worker.header_read_timeout

    def data_received(self, data):
        if self.closing or self.failure is not None:
            return  # refused or lingering: the rest is discarded
        if self.wait == WAIT_IDLE:
            self.wait = WAIT_HEAD
            self.deadline = self.loop.time() + self.worker.header_read_timeout
        try:
            if self.current is None:  # httptools is between requests: the fast path may take this one
                whole = parse_whole_request(data)
                if whole is not None:
                    self._take_whole(whole[0], whole[1], whole[2])
                    return
            self.parser.feed_data(data)
        except _Refused:
            pass
        except httptools.HttpParserCallbackError as exc:
            if not isinstance(exc.__context__, _Refused):
                raise
        except httptools.HttpParserUpgrade:
            if self.failure is None:
                self.fail(501, "Protocol upgrade is not supported")
        except httptools.HttpParserError as exc:
            if self.failure is None:
                text = str(exc).lower()
                if "version" in text:
                    self.fail(505, "HTTP Version Not Supported")
                else:
                    self.fail(400, "Bad Request")

    def connection_lost(self, exc):
        self.closing = True
        self.worker.connections.discard(self)
        if self.active is not None:
            self.active.client_lost()
            self.active = None
        for waiting in self.queue:
            waiting.client_lost()
        self.queue.clear()

    def pause_writing(self):
        upstream = self.active.upstream if self.active is not None else None
        if upstream is not None and upstream.transport is not None:
            upstream.transport.pause_reading()

    def resume_writing(self):
        upstream = self.active.upstream if self.active is not None else None
        if upstream is not None and upstream.transport is not None:
            upstream.transport.resume_reading()

    # ------------------------------------------------------------ httptools callbacks

    def on_message_begin(self):
        self._begin()

    def on_url(self, url: bytes):
        current = self.current
        current.url += url
        if len(current.url) > self.worker.max_uri_bytes:
            self._refuse(414, "URI Too Long")

    def on_header(self, name: bytes, value: bytes):
        # llhttp (strict) already refuses NUL/CR/LF in values, obs-fold, bad tokens,
        # duplicate Content-Length, CL with TE and TE not ending in chunked.
        self._header(name.lower(), value)

    def on_headers_complete(self):
        self._head_parsed(self.current.head_complete(self.parser))

    def _take_whole(self, method: bytes, url: bytes, headers: list):
        """A request head the fast path read: the steps of httptools' callbacks, in their order."""
        self._begin()
        current = self.current
        current.url = url
        if len(url) > self.worker.max_uri_bytes:
            self._refuse(414, "URI Too Long")
        for name, value in headers:
            self._header(name, value)
        tokens = current.connection_tokens
        self._head_parsed(current.check_head(method, tokens is None or b"close" not in tokens, "1.1", False))
        self._message_complete()

    def _begin(self):
        self.current = Exchange(self)
        if self.wait != WAIT_HEAD:
            self.wait = WAIT_HEAD
            self.deadline = self.loop.time() + self.worker.header_read_timeout

    def _header(self, name: bytes, value: bytes):
        """One header of the request being parsed, its name in lower case."""
        current = self.current
        worker = self.worker
        current.header_bytes += len(name) + len(value) + 4
        if current.header_bytes > worker.max_header_bytes or len(current.headers) >= worker.max_header_count:
            self._refuse(431, "Request Header Fields Too Large")
        kind = worker.special_headers.get(name)
        if kind is not None:
            refused = current.special_header(kind, value)
            if refused is not None:
                self._refuse(refused[0], refused[1])
        current.headers.append((name, value))

    def _head_parsed(self, refused):
        current = self.current
        if refused is not None:
            self._refuse(refused[0], refused[1])
        if current.body_mode:
            self.wait = WAIT_BODY
            self.deadline = self.loop.time() + self.worker.body_read_timeout
        else:
            self.wait = WAIT_NONE
        if self.active is None:
            self.active = current
            current.start()
        else:
            self.queue.append(current)
            self.flow.pause_reading(PIPELINE)

    def on_body(self, body: bytes):
        self.deadline = self.loop.time() + self.worker.body_read_timeout
        self.current.request_body(body)

    def on_message_complete(self):
        self._message_complete()

    def _message_complete(self):
        current = self.current
        self.current = None
        if self.wait == WAIT_BODY:
            self.wait = WAIT_NONE
        current.request_done()

    # ------------------------------------------------------------ answers, in order

    def exchange_done(self, exchange):
        """`exchange` has written its whole answer: start the next one, idle, or close."""
        if exchange is not self.active:
            return
        self.active = None
        if self.closing:
            return
        if not exchange.keep_alive:
            return self.close()
        if self.queue:
            nxt = self.queue.popleft()
            if not self.queue:
                self.flow.resume_reading(PIPELINE)
            self.active = nxt
            nxt.start()
            return
        if self.failure is not None:
            return self._send_failure()
        if self.worker.draining:
            return self.close()
        if self.current is None and self.wait == WAIT_NONE:
            self.wait = WAIT_IDLE
            self.deadline = self.loop.time() + self.worker.keepalive_idle_timeout

    def fail(self, status: int, message: str):
        """Refuse the request being parsed: answer after the ones ahead of it, then close."""
        parsing = self.current
        self.failure = (status, message)
        self.current = None
        self.flow.pause_reading(PIPELINE)
        if parsing is not None and parsing is self.active:
            # its body went bad while being forwarded: the backend must not wait for the rest
            if parsing.response_started:
                self.transport.abort()
                return
            parsing.client_lost()
            self.active = None
        if self.active is None and not self.queue:
            self._send_failure()

    def _refuse(self, status: int, message: str):
        self.fail(status, message)
        raise _Refused()

    def _send_failure(self):
        status, message = self.failure
        self.transport.write(replies.json_response(
            status, replies.error_body(status, message), close=True,
            request_id=self.worker.new_request_id(), request_id_header=self.worker.request_id_header))
        self.close()

    def close(self):
        """Close after what was written; linger briefly if the client may still be sending,
        so our answer is not lost to a reset."""
        if self.closing:
            return
        self.closing = True
        self.queue.clear()
        if self.current is not None or self.failure is not None:
            self.wait = WAIT_LINGER
            self.deadline = self.loop.time() + LINGER_SECONDS
            if self.transport.can_write_eof():
                self.transport.write_eof()
            self.flow.resume_reading(PIPELINE | PEER_FULL | PENDING_BODY)
            return
        self.transport.close()

    # ------------------------------------------------------------ deadlines (worker sweep)

    def check_deadline(self, now: float):
        active = self.active
        if active is not None and active.upstream is not None:
            active.check_deadline(now)
        if self.wait == WAIT_NONE or now <= self.deadline:
            return
        if self.wait == WAIT_BODY and self.flow.reasons & (PEER_FULL | PENDING_BODY):
            # we stopped reading the body (back-pressure), not the client; the backend's own
            # timeout still bounds the exchange
            self.deadline = now + self.worker.body_read_timeout
            return
        if self.wait == WAIT_IDLE or self.wait == WAIT_LINGER:
            self.closing = True
            self.transport.close()
        elif active is not None and active.response_started:
            self.transport.abort()
        elif self.failure is None:
            self.current = None
            self.fail(408, "Request Timeout")
            if self.active is not None:  # body of the request being forwarded stopped coming
                self.active.client_lost()
                self.active = None
                self.queue.clear()
                self._send_failure()

    def shorten_idle(self, deadline: float) -> None:
        """Draining: an idle connection closes at `deadline` at the latest."""
        if self.wait == WAIT_IDLE or (self.wait == WAIT_HEAD and self.current is None):
            self.wait = WAIT_IDLE
            self.deadline = min(self.deadline, deadline)
