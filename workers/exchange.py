"""One request/response cycle: parse, route, check the key, run the policies or forward directly.

Driven entirely by callbacks (client parser, upstream parser); nothing here awaits except
opening a new upstream connection and policy steps that wait on something.
"""
import re
from time import perf_counter, time
from urllib.parse import unquote, unquote_plus

from gwcore.fastpath import HOP_BY_HOP, PathError, normalize_path
from gwcore.pipeline.context import Body, Context, Headers, Query, Request, Url
from gwcore.pipeline.errors import PolicyError
from gwcore.pipeline.runner import ON_ERROR, Run
from gwcore.pipeline.subscriptions import NO_GRANT, grant
from gwcore.tls.certificate import peer_certificate
from gwcore.workers import replies, status_endpoints
from gwcore.workers.flow_control import PENDING_BODY
from gwcore.workers.exchange_state import BODY_CHUNKED, BODY_LENGTH, BODY_NONE
from gwcore.workers.forwarding import CONTINUE
from gwcore.workers.responding import Responding

# Request headers that need a look as they arrive; everything else is only collected.
H_HOST, H_LENGTH, H_TE, H_EXPECT, H_CONNECTION, H_XFF, H_REQUEST_ID = range(7)
SPECIAL_HEADERS = {b"host": H_HOST, b"content-length": H_LENGTH, b"transfer-encoding": H_TE,
                   b"expect": H_EXPECT, b"connection": H_CONNECTION, b"x-forwarded-for": H_XFF}
# Headers the gateway sets itself on the way to the backend; the client's copies are dropped.
REPLACED = frozenset([b"host", b"x-forwarded-for", b"x-forwarded-proto", b"x-forwarded-host", b"expect",
                      b"content-length"])
_REQUEST_ID = re.compile(rb"^[A-Za-z0-9._:\-]{1,128}$")


def skip_set(request_id_header: bytes) -> frozenset:
    """Request headers never copied to the backend as they came."""
    return HOP_BY_HOP | REPLACED | {request_id_header}


class Exchange(Responding):
    """One request: the head checks, routing, the key and the pipeline (the way to the backend is
    Forwarding's, the way back Responding's, the fields ExchangeState's)."""

    __slots__ = ()

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
        """Validate the head httptools parsed; (status, message) when it must be refused, else None."""
        keep_alive = parser.should_keep_alive()
        tokens = self.connection_tokens
        if keep_alive and (tokens is None or b"keep-alive" not in tokens):
            # llhttp keeps an HTTP/1.0 (or 2.0) connection alive only when it says so: this is
            # 1.1, and httptools need not format the version string (a cost on every request)
            version = "1.1"
        else:
            version = parser.get_http_version()
        return self.check_head(parser.get_method(), keep_alive, version, parser.should_upgrade())

    def check_head(self, method: bytes, keep_alive: bool, version: str, upgrade: bool):
        """Validate a parsed head; (status, message) when it must be refused, else None."""
        self.method = method
        self.keep_alive = keep_alive
        self.version = version
        if version != "1.1" and version != "1.0":
            return 505, "HTTP Version Not Supported"
        if method == b"CONNECT":
            return 501, "CONNECT is not supported"
        if method == b"TRACE":
            return 405, "TRACE is not allowed"
        if upgrade:
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
            if self.content_length > self.worker.max_body_bytes:
                return 413, "Request body too large"
            self.body_mode = BODY_LENGTH
        if not self.url.startswith(b"/"):
            return 400, "Bad Request: only origin-form request targets are accepted"
        return None

    # ------------------------------------------------------------ routing, the key, the pipeline

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
        match = plan.router.match(self.method.decode("ascii"), path, query.decode("latin-1"), self)
        asked = self.preflight_method() if self.method == b"OPTIONS" else None
        routed_by_asked = False
        if match is None and asked is not None:
            # a CORS preflight asks about another method: the operation it would reach answers it
            match = plan.router.match(asked, path, query.decode("latin-1"), self)
            routed_by_asked = True
        if match is None:
            unmatched = plan.unmatched
            if unmatched is None or not unmatched.program.sections[ON_ERROR]:
                return self.reply(404, replies.NOT_FOUND)
            self.request_id = self.request_id or worker.new_request_id()
            self.begin(unmatched, NO_GRANT, "", query)
            return self.run.fail(PolicyError(404, replies.NOT_FOUND, "OperationNotFound", source="configuration"))
        self.api, self.operation, self.params, rest = match
        api = self.api
        key, query = self.take_key(api, query)
        if not self.request_id:
            self.request_id = worker.new_request_id()
        if asked is not None and self.preflight(key, rest, query):
            return
        if routed_by_asked:  # that operation has no cors to answer with
            return self.reply(404, replies.NOT_FOUND)
        granted = api.grants.get(key)   # a key (or no key) that passed before: no more to check
        if granted is None:
            try:
                granted = grant(plan, api, key)
            except PolicyError as error:
                pipeline = self.operation.pipelines[None]
                if pipeline.program is None or not pipeline.program.sections[ON_ERROR]:
                    return self.reply(error.status, error.message)
                self.begin(pipeline, NO_GRANT, rest, query)
                return self.run.fail(error)
        pipeline = self.operation.pipelines[granted[1]]
        if pipeline.plain:
            return self.forward_plain(rest, query, pipeline)
        self.begin(pipeline, granted, rest, query)
        if self.buffering_request:
            return  # request_buffered() starts the run once the whole body is in
        self.run.start()

    def preflight_method(self):
        """The method a CORS preflight asks about (OPTIONS with Origin and
        Access-Control-Request-Method), else None."""
        origin = asked = None
        for name, value in self.headers:
            if name == b"origin":
                origin = value
            elif name == b"access-control-request-method":
                asked = value.strip()
        if origin is None or not asked:
            return None
        return asked.decode("latin-1").upper()

    def preflight(self, key, rest: str, query: bytes) -> bool:
        """Answer a CORS preflight with the cors steps alone, as APIM does; a browser sends a
        preflight without the subscription key. False when the pipeline holds no cors."""
        api = self.api
        try:
            granted = grant(self.plan, api, key)
        except PolicyError as error:
            if key is not None:  # a wrong key is refused, preflight or not
                self.reply(error.status, error.message)
                return True
            granted = NO_GRANT  # no key, and the API has no open product
        pipeline = self.operation.pipelines[granted[1]]
        if pipeline.program is None or pipeline.program.preflight is None:
            return False
        self.begin(pipeline, granted, rest, query, pipeline.program.preflight)
        self.run.start()
        return True

    def take_key(self, api, query: bytes):
        """(subscription key or None, query to forward): the key is read from the API's header,
        else from its query parameter; both are removed from what goes to the backend."""
        key = None
        name = api.key_header_bytes
        headers = self.headers
        for index, (header, value) in enumerate(headers):
            if header == name:
                key = value.decode("latin-1")
                del headers[index]
                for later in range(len(headers) - 1, index - 1, -1):  # repeats go too
                    if headers[later][0] == name:
                        del headers[later]
                break
        marker = api.key_query_bytes
        # a name may come escaped (subscription%2Dkey=...): the backend would decode it, so it is
        # the key parameter too, and must not reach the backend
        if query and (marker in query or b"%" in query):
            kept = []
            for pair in query.split(b"&"):
                name, equals, value = pair.partition(b"=")
                if pair.startswith(marker) or (equals and b"%" in name
                                               and unquote_plus(name.decode("latin-1")) == api.key_query):
                    if key is None:
                        key = unquote_plus(value.decode("latin-1"))
                else:
                    kept.append(pair)
            query = b"&".join(kept)
        return key, query

    def begin(self, pipeline, granted: tuple, rest: str, query: bytes, program=None) -> None:
        """Build the context and the Run for an operation with policies (`granted`: what
        subscriptions.grant gave the call; `program`: another Program than the pipeline's, e.g.
        its preflight)."""
        program = self.program = pipeline.program if program is None else program
        worker = self.worker
        url = Url(self.conn.scheme_text, self.host, self.path, Query(query))
        # matched parameters are values, as APIM gives them: decoded once here (the path kept its
        # escapes), so rewrite-uri's re-encoding does not turn %20 into %2520
        params = self.params
        if params:
            params = {name: unquote(value) if "%" in value else value for name, value in params.items()}
        request = Request(self.method.decode("ascii"), url, Headers(self.headers), self.conn.peer_text,
                          params or {})
        if self.conn.scheme == b"https":
            request.certificate = peer_certificate(self.conn.transport)
        api, operation = self.api, self.operation
        ctx = self.ctx = Context(
            self, request, api.info if api else None, operation.info if operation else None,
            granted[3], granted[2], self.request_id.decode("latin-1"), time(), rest)
        self.run = Run(program, ctx, self, worker.loop)
        if program.request_body:
            if self.body_mode != BODY_NONE and not self.request_complete:
                self.buffering_request = True
                self.conn.flow.resume_reading(PENDING_BODY)
                if self.expect and self.body_received == 0:
                    self.conn.transport.write(CONTINUE)
            else:
                request.body = Body(b"".join(self.pending or ()))
                self.pending = None

    def request_buffered(self) -> None:
        """The whole body of a request whose policies read it has arrived: run them."""
        self.buffering_request = False
        self.ctx.request.body = Body(b"".join(self.pending or ()))
        self.pending = None
        self.pending_bytes = 0
        self.run.start()

    # ------------------------------------------------------------ ending

    def client_lost(self):
        """The client went away: the upstream connection is mid-exchange and cannot be reused."""
        self.done = True
        if self.upstream is not None:
            self.upstream.abort()
            self.upstream = None
        if self.connecting is not None:
            self.connecting.cancel()
            self.connecting = None
        if self.ctx is not None:
            self.run.abandon()
            self.ended()

    # ------------------------------------------------------------ for routing by header

    def get(self, name: str):
        """Request header by lower-case name (first value), for header-scheme versioning."""
        key = name.encode("latin-1")
        for header, value in self.headers:
            if header == key:
                return value.decode("latin-1")
        return None
