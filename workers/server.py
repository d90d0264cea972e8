"""A worker's serving state: the current Plan, its connections, upstream pools, the deadline sweep."""
import asyncio
import gc
import os
import socket
import time

from gwcore.observability import metrics
from gwcore.observability.access_log import AccessLog
from gwcore.state import open_backend
from gwcore.state.shm import SharedTable
from gwcore.upstream.health import HealthBoard
from gwcore.upstream.pool import Upstreams
from gwcore.workers.exchange import H_REQUEST_ID, SPECIAL_HEADERS, skip_set
from gwcore.workers.protocol import HttpProtocol
from gwcore.workers.worker_state import WorkerState

SWEEP_SECONDS = 0.25
# Allocations between collections of the youngest generation (CPython's default is 700).
GC_YOUNG_THRESHOLD = 20_000
DRAIN_IDLE_GRACE = 1.0
HTTPS = b"https"


def tune_collector() -> None:
    """Once booted: what boot built is kept out of the cyclic GC, and the young generation is
    collected less often. A request's objects are freed by refcount (exchanges break their
    cycles), so a collection finds little: run rarely, it sees fewer of them still alive."""
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD)


class Worker(WorkerState):
    """Serves one listening socket with the Plan it is given; knows nothing of signals."""

    def __init__(self, plan, sock, loop, slot: int = 0, shared_fds=(), tls_sock=None):
        self.loop = loop
        self.sock = sock
        self.tls_sock = tls_sock            # the slot's TLS listening socket, when gateway.tls is set
        self.tls = None                     # the ServerTls new handshakes choose certificates from
        self.tls_server = None
        self.slot = slot
        self.shared_fds = list(shared_fds)  # shared memory from the supervisor (supervisor/shared.py)
        # the host's limit table, so limits are exact across workers; without a supervisor
        # (tests, tools) the state backend makes a table of its own
        self.shared_table = SharedTable.attach(self.shared_fds[0]) if self.shared_fds else None
        self.state = None
        self.pid = os.getpid()
        self.requests = 0
        self.started_at = time.time()
        self.connections = set()
        self.draining = False
        self.server = None
        self.configuration_status = "Synced"
        # the host's health verdicts (the supervisor's checker writes them), when run by a supervisor
        self.upstreams = Upstreams(loop, HealthBoard(self.shared_fds[1]) if len(self.shared_fds) > 1 else None)
        self.access_log = None
        self.metrics = None      # WorkerMetrics while gateway.metrics is on
        self.tracing = None      # set by the worker process when OpenTelemetry is on (observability/tracing.py)
        self.observe = None      # called by every finished exchange: counting, spans
        self._rid_prefix = os.urandom(5).hex().encode()
        self._rid_counter = 0
        self._sweeper = None
        self.use_plan(plan)

    def use_plan(self, plan) -> None:
        """Swap to a new Plan between requests; exchanges already started keep the old one.

        What can fail (opening the access log) is done first, so a failure leaves the old
        Plan serving whole rather than half-swapped.
        """
        settings = plan.settings
        access_log = AccessLog.open(settings.access_log)
        rid = settings.request_id_header.encode("ascii")
        old_log = self.access_log
        self.plan = plan
        self.use_limits_and_timeouts(settings.limits, settings.timeouts)
        self.request_id_header = rid
        self.skip_request_headers = skip_set(rid)
        self.special_headers = {**SPECIAL_HEADERS, rid: H_REQUEST_ID}
        self.upstreams.use_plan(plan)
        self._use_tls(plan.tls)
        if self.state is None or self.state_url != settings.state:
            self._open_state(settings)
        self.access_log = access_log
        if old_log is not None:
            old_log.close()
        if not settings.metrics:
            self.metrics = None
        elif self.metrics is None:  # kept across reloads: what it counted is still to be sent
            self.metrics = metrics.WorkerMetrics()
        metrics.current = self.metrics
        self.set_observers()

    def set_observers(self, tracing=None) -> None:
        """What each finished exchange calls: the metrics' count, the tracer's spans, both or nothing."""
        if tracing is not None:
            self.tracing = tracing
        counter = self.metrics.count if self.metrics is not None else None
        if self.tracing is None:
            self.observe = counter
        elif counter is None:
            self.observe = self.tracing.finished
        else:
            spans = self.tracing.finished

            def observe(exchange):
                counter(exchange)
                spans(exchange)
            self.observe = observe

    def _use_tls(self, tls) -> None:
        """New handshakes choose from `tls`; connections keep the context they began with. A change
        a switched context cannot carry (versions, ciphers, client certificates) gets a new server."""
        old, self.tls = self.tls, tls
        if self.tls_server is not None and tls is not None and old is not None and tls.handshake != old.handshake:
            self.loop.create_task(self._serve_tls())

    def _on_sni(self, ssl_object, server_name, context):
        """ssl's SNI callback, on every handshake (server_name None when the client sent none)."""
        tls = self.tls
        if tls is not None:
            chosen = tls.select(server_name)
            if chosen is not context:
                ssl_object.context = chosen
        return None

    async def _serve_tls(self) -> None:
        if self.tls_sock is None or self.tls is None or self.draining:
            return
        # each server owns a copy of the socket: closing the old one leaves the slot's queue alive
        sock = socket.socket(fileno=os.dup(self.tls_sock.fileno()))
        sock.setblocking(False)
        context = self.tls.listener_context(self._on_sni)
        server = await self.loop.create_server(
            lambda: HttpProtocol(self, HTTPS), sock=sock, backlog=4096, ssl=context,
            ssl_handshake_timeout=self.timeouts.header_read)
        old, self.tls_server = self.tls_server, server
        if old is not None:
            old.close()

    def _open_state(self, settings) -> None:
        """The state backend the settings name; a reload that changes it swaps backends."""
        old = self.state
        self.state = open_backend(settings, self.shared_table)
        self.state_url = settings.state
        if self.loop.is_running():
            self.loop.create_task(self.state.start(timeout=1.0))
        if old is not None:
            self.loop.create_task(old.close())

    def reopen_logs(self) -> None:
        """SIGUSR1: reopen the access log file (after logrotate moved it); on failure keep the old one."""
        if self.access_log is None:
            return
        old_log = self.access_log
        self.access_log = AccessLog.open(self.plan.settings.access_log)
        old_log.close()

    def health_problems(self) -> list:
        """Reasons this worker cannot serve: draining, or a state backend failing closed."""
        return (["shutting down"] if self.draining else []) + self.state.problems()

    def health_warnings(self) -> list:
        """Reasons this worker serves degraded but serves (a Redis failing open): said, not made a 503."""
        return self.state.degraded()

    async def start(self) -> None:
        await self.state.start(timeout=1.0)
        self.server = await self.loop.create_server(lambda: HttpProtocol(self), sock=self.sock, backlog=4096)
        await self._serve_tls()
        self._sweeper = self.loop.call_later(SWEEP_SECONDS, self._sweep)

    def _sweep(self) -> None:
        now = self.loop.time()
        for conn in list(self.connections):
            conn.check_deadline(now)
        self.upstreams.sweep(now)
        if self.access_log is not None:
            self.access_log.flush()
        self._sweeper = self.loop.call_later(SWEEP_SECONDS, self._sweep)

    async def drain(self, timeout: float, leave_group: bool = False) -> None:
        """Stop accepting, let in-flight requests finish (their answers say close), then stop.

        Idle keep-alive connections get a short grace instead of an immediate close: a
        client about to reuse one gets its answer (with Connection: close) instead of a reset.
        With `leave_group` (the slot is retiring) the socket leaves the SO_REUSEPORT group first.
        """
        self.draining = True
        servers = [(self.server, None), (self.tls_server, HTTPS)]
        for server, scheme in servers:
            if server is None:
                continue
            if leave_group:
                await self._leave_group(server, scheme)
            else:
                server.close()  # our copy only: the slot's socket and its queue live on
        deadline = self.loop.time() + timeout
        grace_end = self.loop.time() + DRAIN_IDLE_GRACE
        for conn in list(self.connections):
            conn.shorten_idle(grace_end)
        while self.connections and self.loop.time() < deadline:
            await asyncio.sleep(0.05)
        self.stop()

    async def _leave_group(self, server, scheme) -> None:
        """Shut the listening socket down for everyone (no new connection is routed to it),
        taking over what it queued the moment before, so that nothing queued is reset.

        Between the last accept and the shutdown the kernel may still queue one; only
        net.ipv4.tcp_migrate_req=1 closes that window (it moves such requests to a sibling).
        """
        listener = socket.socket(fileno=os.dup(server.sockets[0].fileno()))
        listener.setblocking(False)
        server.close()
        pending = []
        try:
            while True:
                try:
                    conn, _ = listener.accept()
                except (BlockingIOError, InterruptedError):
                    break
                pending.append(conn)
            listener.shutdown(socket.SHUT_RD)
        except OSError:
            pass
        finally:
            listener.close()
        context = self.tls.listener_context(self._on_sni) if scheme and self.tls is not None else None
        for conn in pending:
            conn.setblocking(False)
            if scheme:
                await self.loop.connect_accepted_socket(lambda: HttpProtocol(self, scheme), conn, ssl=context)
            else:
                await self.loop.connect_accepted_socket(lambda: HttpProtocol(self), conn)

    def stop(self) -> None:
        """Close everything now."""
        self.draining = True
        for server in (self.server, self.tls_server):
            if server is not None:
                server.close()
        for conn in list(self.connections):
            if conn.transport is not None:
                conn.transport.abort()
        if self._sweeper is not None:
            self._sweeper.cancel()
        self.upstreams.close()
        if self.access_log is not None:
            self.access_log.close()
            self.access_log = None
        if self.state is not None:
            self.loop.create_task(self.state.close())
