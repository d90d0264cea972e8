"""One keep-alive HTTP/1.1 connection to a backend member, parsed with httptools.

An answer that arrives whole in the first read after the request (the common small answer) is
read by the fast path's parse_whole_response instead, with no callback per header; anything
that one does not take goes to httptools as before.
"""

import httptools

from gwcore.fastpath import HOP_BY_HOP, parse_whole_response, strip_hop_by_hop


class UpstreamClient:
    """What a connection calls on the exchange it is lent to (workers/responding.py answers them).
    A base class rather than a duck type, so that compiled these are C calls."""

    __slots__ = ()

    def upstream_headers(self, status: int, headers: list):
        """The answer's status and end-to-end headers (hop-by-hop ones removed)."""
        raise NotImplementedError

    def upstream_body(self, chunk: bytes):
        raise NotImplementedError

    def upstream_flush(self):
        """The end of one read from the backend: write out what it produced."""
        raise NotImplementedError

    def upstream_complete(self, keep_alive: bool):
        raise NotImplementedError

    def upstream_failed(self, reason: str, got_bytes: bool):
        """The connection closed ("closed") or sent what cannot be parsed ("malformed")."""
        raise NotImplementedError

    def upstream_write_paused(self):
        raise NotImplementedError

    def upstream_write_resumed(self):
        raise NotImplementedError


class UpstreamConnection:
    """A connection lent by an UpstreamPool to one exchange at a time (an asyncio protocol by its
    methods: compiled, it is a C type, which cannot derive from asyncio.Protocol)."""

    __slots__ = (
        # per-connection state
        "pool", "transport", "parser", "closed", "reused", "write_paused", "idle_since",
        # per-response state
        "exchange", "headers", "got_bytes", "content_lengths", "chunked", "head_request",
        "has_connection", "interim", "fresh", "head_done", "head_keep_alive",
    )

    def __init__(self, pool):
        self.pool = pool
        self.transport = None
        self.parser = httptools.HttpResponseParser(self)
        self.closed = False
        self.reused = False
        self.write_paused = False
        self.idle_since = 0.0
        self.exchange = None
        self._reset()

    def _reset(self):
        self.headers = []           # end-to-end headers, and Connection ones until the head ends
        self.got_bytes = False
        self.content_lengths = 0
        self.chunked = False
        self.head_request = False
        self.has_connection = False
        self.interim = False
        self.fresh = True           # nothing of this answer has been read: httptools is between messages
        self.head_done = False      # a HEAD answer's head is read: it completes when this read is parsed
        self.head_keep_alive = False

    # -------------------------------------------------- lending

    def attach(self, exchange, head_request: bool) -> None:
        self.exchange = exchange
        self._reset()
        self.head_request = head_request

    def write(self, data) -> None:
        self.transport.write(data)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            if self.transport is not None:
                self.transport.close()

    def abort(self) -> None:
        self.closed = True
        self.exchange = None
        if self.transport is not None:
            self.transport.abort()

    # -------------------------------------------------- asyncio.Protocol

    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        exchange = self.exchange
        if exchange is None:  # bytes nobody asked for: the connection cannot be trusted
            self.close()
            return
        self.got_bytes = True
        if self.fresh:
            self.fresh = False
            if not self.head_request and self._take_whole(exchange, data):
                return
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            if self.head_done:  # garbage after a HEAD answer: the answer itself is whole
                self.head_keep_alive = False
            else:
                self.exchange = None
                self.close()
                exchange.upstream_failed("malformed", True)
                return
        if self.head_done:
            self._finish_head(exchange)
        elif self.exchange is exchange:
            exchange.upstream_flush()

    def _take_whole(self, exchange, data) -> bool:
        """The answer is whole in `data` and the fast path took it: the same calls on the exchange
        as httptools' callbacks would have made, in the same order."""
        whole = parse_whole_response(data)
        if whole is None:
            return False
        status, headers, keep_alive, body_start = whole
        self.content_lengths = 1    # the exchange frames its answer by it
        try:
            exchange.upstream_headers(status, headers)
            if body_start < len(data) and self.exchange is not None:
                exchange.upstream_body(data[body_start:])
            if self.exchange is not None:
                self._finish(keep_alive)
        except Exception:  # as httptools reports a failing callback: the backend's answer is lost
            self.exchange = None
            self.close()
            exchange.upstream_failed("malformed", True)
        return True

    def eof_received(self):
        return False

    def connection_lost(self, exc):
        self.closed = True
        exchange = self.exchange
        self.exchange = None
        self.pool.forget(self)
        if exchange is not None:
            exchange.upstream_failed("closed", self.got_bytes)

    def pause_writing(self):
        self.write_paused = True
        if self.exchange is not None:
            self.exchange.upstream_write_paused()

    def resume_writing(self):
        self.write_paused = False
        if self.exchange is not None:
            self.exchange.upstream_write_resumed()

    # -------------------------------------------------- httptools callbacks

    def on_header(self, name: bytes, value: bytes):
        name = name.lower()
        if name in HOP_BY_HOP:
            if name == b"transfer-encoding":
                self.chunked = True
            elif name == b"connection":  # kept until the head ends: strip_hop_by_hop reads them all
                self.has_connection = True
                self.headers.append((name, value))
            return
        if name == b"content-length":
            self.content_lengths += 1
        self.headers.append((name, value))

    def on_headers_complete(self):
        # Ambiguous framing must never reach the client: treat it as a broken backend.
        if self.content_lengths > 1 or (self.content_lengths and self.chunked):
            raise httptools.HttpParserError("ambiguous response framing")
        status = self.parser.get_status_code()
        if status < 200:  # 1xx interim answers (103 Early Hints, a stray 100) are not passed on
            self.interim = True
            return
        headers = self.headers
        if self.has_connection:
            headers = strip_hop_by_hop(headers)
        self.exchange.upstream_headers(status, headers)
        if self.head_request:
            # httptools cannot be told that a HEAD answer has no body, and goes on reading this
            # read's bytes as one: the answer completes after feed_data (_finish_head), so that
            # nothing the parser reads past the head can reach an exchange lent the connection next.
            self.head_done = True
            self.head_keep_alive = self.parser.should_keep_alive()

    def on_body(self, body: bytes):
        if self.head_done:  # bytes after a HEAD answer: the backend cannot be trusted with another
            self.head_keep_alive = False
        elif self.exchange is not None:
            self.exchange.upstream_body(body)

    def on_message_complete(self):
        if self.interim:
            self.interim = False
            self.headers = []
            self.content_lengths = 0
            self.chunked = False
            self.has_connection = False
            return
        if self.exchange is not None and not self.head_request:
            self._finish(self.parser.should_keep_alive())

    def _finish_head(self, exchange):
        """The HEAD answer's read is parsed: a fresh parser for the next answer, and the exchange
        completes (kept alive only if nothing but the head came)."""
        self.head_done = False
        self.parser = httptools.HttpResponseParser(self)
        if self.exchange is exchange:
            self._finish(self.head_keep_alive)

    def _finish(self, keep_alive: bool):
        exchange = self.exchange
        self.exchange = None
        exchange.upstream_complete(keep_alive)
