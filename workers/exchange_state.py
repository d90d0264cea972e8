"""The fields of one exchange (a request and its answer), declared in one place.

Compiled (exchange_state.pxd beside it), they are C struct fields, so the per-request code in
Responding, Forwarding and Exchange reads them without a dictionary or descriptor lookup.
"""
from gwcore.upstream.connection import UpstreamClient

# How the request body comes (body_mode) and how the answer's body goes out (out_mode).
BODY_NONE, BODY_LENGTH, BODY_CHUNKED = 0, 1, 2
OUT_NONE, OUT_LENGTH, OUT_CHUNKED, OUT_CLOSE, OUT_HELD, OUT_BUFFER, OUT_DISCARD, OUT_STREAM = range(8)


class ExchangeState(UpstreamClient):
    """Per-request state; the connection (HttpProtocol) owns the per-connection state."""

    __slots__ = (
        "conn", "worker",
        # request as parsed
        "url", "headers", "method", "version", "keep_alive", "host", "host_count", "cl_count",
        "content_length", "te", "te_count", "expect", "header_bytes", "body_mode", "body_received",
        "connection_tokens", "forwarded_for",
        "request_complete", "pending", "pending_bytes", "buffering_request", "streaming_body",
        # routing and policies
        "plan", "api", "operation", "params", "path", "request_id", "t0", "program", "ctx", "run",
        # upstream
        "pool", "upstream", "head", "timeout", "upstream_deadline", "retried", "connecting", "t_upstream",
        "forwarded", "answer_edits",
        # response
        "status", "out", "out_mode", "held", "held_paused", "response_started", "done", "bytes_out",
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
        self.buffering_request = False
        self.streaming_body = False
        self.plan = None
        self.api = None
        self.operation = None
        self.params = None
        self.path = ""
        self.request_id = b""
        self.t0 = 0.0
        self.program = None
        self.ctx = None
        self.run = None
        self.pool = None
        self.upstream = None
        self.head = b""
        self.timeout = 0.0
        self.upstream_deadline = 0.0
        self.retried = False
        self.connecting = None
        self.t_upstream = 0.0
        self.forwarded = False
        self.answer_edits = None    # Pipeline.answer_edits of a plain operation, for the answer's head
        self.status = 0
        self.out = []
        self.out_mode = OUT_NONE
        self.held = None
        self.held_paused = False
        self.bytes_out = 0
        self.response_started = False
        self.done = False
