"""A worker's serving state: the current Plan, its connections, upstream pools, the deadline sweep."""
import asyncio
import os
import time

from gwcore.observability.access_log import AccessLog
from gwcore.state import open_backend
from gwcore.upstream.pool import Upstreams
from gwcore.workers.exchange import H_REQUEST_ID, SPECIAL_HEADERS, skip_set
from gwcore.workers.protocol import HttpProtocol

SWEEP_SECONDS = 0.25
DRAIN_IDLE_GRACE = 1.0


class Worker:
    """Serves one listening socket with the Plan it is given; knows nothing of signals."""

    def __init__(self, plan, sock, loop, slot: int = 0, shared_table=None):
        self.loop = loop
        self.shared_table = shared_table   # this host's SharedTable (limits exact across workers)
        self.state = None
        self.sock = sock
        self.slot = slot
        self.pid = os.getpid()
        self.requests = 0
        self.started_at = time.time()
        self.connections = set()
        self.draining = False
        self.server = None
        self.scheme = b"http"
        self.configuration_status = "Synced"
        self.upstreams = Upstreams(loop)
        self.access_log = None
        self._rid_prefix = os.urandom(5).hex().encode()
        self._rid_counter = 0
        self._sweeper = None
        self.use_plan(plan)

    def use_plan(self, plan) -> None:
        """Swap to a new Plan between requests; exchanges already started keep the old one."""
        settings = plan.settings
        self.plan = plan
        self.limits = settings.limits
        self.timeouts = settings.timeouts
        self.request_id_header = rid = settings.request_id_header.encode("ascii")
        self.skip_request_headers = skip_set(rid)
        self.special_headers = {**SPECIAL_HEADERS, rid: H_REQUEST_ID}
        self.upstreams.use_plan(plan)
        if self.state is None or self.state_url != settings.state:
            self._open_state(settings)
        if self.access_log is not None:
            self.access_log.close()
        self.access_log = AccessLog.open(settings.access_log)

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
        """SIGUSR1: reopen the access log file (after logrotate moved it)."""
        if self.access_log is not None:
            self.access_log.close()
        self.access_log = AccessLog.open(self.plan.settings.access_log)

    def new_request_id(self) -> bytes:
        """Unique per worker without a syscall: a random prefix and a counter."""
        self._rid_counter += 1
        return b"%s-%x" % (self._rid_prefix, self._rid_counter)

    def health_problems(self) -> list:
        """Reasons this worker cannot serve: draining, or a state backend failing closed."""
        return (["shutting down"] if self.draining else []) + self.state.problems()

    async def start(self) -> None:
        await self.state.start(timeout=1.0)
        self.server = await self.loop.create_server(lambda: HttpProtocol(self), sock=self.sock, backlog=4096)
        self._sweeper = self.loop.call_later(SWEEP_SECONDS, self._sweep)

    def _sweep(self) -> None:
        now = self.loop.time()
        for conn in list(self.connections):
            conn.check_deadline(now)
        self.upstreams.sweep(now)
        if self.access_log is not None:
            self.access_log.flush()
        self._sweeper = self.loop.call_later(SWEEP_SECONDS, self._sweep)

    async def drain(self, timeout: float) -> None:
        """Stop accepting, let in-flight requests finish (their answers say close), then stop.

        Idle keep-alive connections get a short grace instead of an immediate close: a
        client about to reuse one gets its answer (with Connection: close) instead of a reset.
        """
        self.draining = True
        if self.server is not None:
            self.server.close()  # our copy only: the slot's socket and its queue live on
        deadline = self.loop.time() + timeout
        grace_end = self.loop.time() + DRAIN_IDLE_GRACE
        for conn in list(self.connections):
            conn.shorten_idle(grace_end)
        while self.connections and self.loop.time() < deadline:
            await asyncio.sleep(0.05)
        self.stop()

    def stop(self) -> None:
        """Close everything now."""
        self.draining = True
        if self.server is not None:
            self.server.close()
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
