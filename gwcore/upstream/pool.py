"""Keep-alive connection pools, one per member of each backend, with the member's breaker and health."""
import asyncio
import ssl
from dataclasses import replace

from gwcore.config.plan import adhoc_backend
from gwcore.tls.contexts import backend_context
from gwcore.upstream.balancing import BackendSet
from gwcore.upstream.breaker import Breaker
from gwcore.upstream.connection import UpstreamConnection


class ConnectFailed(Exception):
    """The backend member could not be reached (reason: "timeout" or "connection")."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(detail or reason)
        self.reason = reason


class UpstreamPool:
    """Idle keep-alive connections to one member of one backend, most recently used first; the
    member's breaker (this worker's view) and its place in the host's health board."""

    def __init__(self, member, loop, max_idle: int, idle_timeout: float, connect_timeout: float, backend=None,
                 board=None):
        self.member = member
        self.address = f"{member.host}:{member.port}"
        self.loop = loop
        self.max_idle = max_idle
        self.idle_timeout = idle_timeout
        self.connect_timeout = connect_timeout
        self.idle = []
        self.open = 0
        self.retired = False  # dropped by a reload: connections coming back are closed
        self._ssl = None
        self._server_hostname = None
        if member.scheme == "https":
            self._ssl = (backend.ssl_context if backend is not None else None) or ssl.create_default_context()
            self._server_hostname = (backend.sni if backend is not None else None) or member.host
        self.backend_set = None     # the BackendSet choosing this pool (set by it)
        self.current_weight = 0     # smooth weighted round-robin state
        self.breaker = None
        self.use_rules(backend, board)

    def use_rules(self, backend, board) -> None:
        """The breaker and health settings of (a reload of) the pool's backend; a breaker whose rules
        did not change keeps its state."""
        rules = backend.circuit_breaker if backend is not None else None
        if rules is None:
            self.breaker = None
        elif self.breaker is None or self._rules != rules:
            self.breaker = Breaker(rules)
        self._rules = rules
        checked = board is not None and backend is not None and backend.health_check is not None
        self._board = board if checked and self.member.health_slot >= 0 else None

    def usable(self, now: float) -> bool:
        """Not tripped here, and not found unhealthy by the host's health checker."""
        return not self.tripped(now) and self.healthy()

    def healthy(self) -> bool:
        """The host's health checker has not found the member unhealthy (True when unchecked)."""
        board = self._board
        return board is None or not board.unhealthy(self.member.health_slot, self.member.health_tag)

    def tripped(self, now: float) -> bool:
        """This worker's breaker for the member is open."""
        return self.breaker is not None and now < self.breaker.open_until

    def in_flight(self) -> int:
        """Requests this worker has on the member now: its connections not idle (least-requests)."""
        return self.open - len(self.idle)

    def failed(self, reason: str) -> None:
        """A passive failure (reason: connection | timeout), for the breaker."""
        if self.breaker is not None:
            self.breaker.error(reason, self.loop.time())

    def answered(self, status: int, headers: list) -> None:
        """The member's status line arrived, for the breaker (configured status codes are failures)."""
        if self.breaker is not None:
            self.breaker.answered(status, headers, self.loop.time())

    def acquire_idle(self):
        """A live idle connection, or None when a new one must be opened."""
        idle = self.idle
        while idle:
            conn = idle.pop()
            if not conn.closed:
                conn.reused = True
                return conn
        return None

    async def connect(self) -> UpstreamConnection:
        member = self.member
        try:
            _, conn = await asyncio.wait_for(
                self.loop.create_connection(
                    lambda: UpstreamConnection(self), member.host, member.port,
                    ssl=self._ssl, server_hostname=self._server_hostname),
                self.connect_timeout)
        except asyncio.TimeoutError:
            raise ConnectFailed("timeout", f"connect to {self.address} timed out") from None
        except (OSError, ssl.SSLError) as exc:  # a refused connection, or a TLS handshake that failed
            raise ConnectFailed("connection", f"connect to {self.address}: {exc.strerror or exc}") from None
        self.open += 1
        return conn

    def release(self, conn: UpstreamConnection) -> None:
        """Take a connection back after a complete exchange; keep it if there is room."""
        if conn.closed or self.retired or len(self.idle) >= self.max_idle:
            conn.close()
            return
        conn.idle_since = self.loop.time()
        self.idle.append(conn)

    def forget(self, conn: UpstreamConnection) -> None:
        """A connection closed: drop it from the idle list."""
        self.open -= 1
        if conn in self.idle:
            self.idle.remove(conn)

    def sweep(self, now: float) -> None:
        """Close connections idle for longer than idle_timeout (oldest are at the front)."""
        while self.idle and now - self.idle[0].idle_since > self.idle_timeout:
            self.idle.pop(0).close()

    def close(self) -> None:
        self.retired = True
        while self.idle:
            self.idle.pop().close()


class Upstreams:
    """Every pool of a worker, kept across config reloads while a member stays the same."""

    def __init__(self, loop, board=None):
        self.loop = loop
        self.board = board   # the host's HealthBoard (from the supervisor), or None
        self._pools = {}     # (backend, url, max_idle, idle_timeout, connect_timeout, TLS) -> UpstreamPool
        self._sets = {}      # backend name -> BackendSet for the current plan
        self._by_url = {}    # set-backend-service base-url -> BackendSet, for the current plan
        self._by_cert = {}   # (backend, client certificate id) -> BackendSet (authentication-certificate)

    def use_plan(self, plan) -> None:
        keep = {}
        sets = {}
        for name, backend in plan.backends.items():
            pools = []
            for member in backend.members:
                # one pool per member of each backend: the breaker is the backend's rule for it.
                # An https pool is not kept across reloads: the reload may bring new CA or key files.
                key = (name, member, backend.max_idle_connections, backend.idle_timeout, backend.connect_timeout,
                       id(backend.ssl_context) if member.scheme == "https" else None)
                pool = keep.get(key) or self._pools.get(key)
                if pool is None:
                    pool = UpstreamPool(member, self.loop, backend.max_idle_connections, backend.idle_timeout,
                                        backend.connect_timeout, backend, self.board)
                else:
                    pool.use_rules(backend, self.board)
                keep[key] = pool
                pools.append(pool)
            sets[name] = BackendSet(backend, pools, self.loop)
        for key, pool in self._pools.items():
            if key not in keep:
                pool.close()
        for backend_set in (*self._by_url.values(), *self._by_cert.values()):
            for pool in backend_set.pools:
                pool.close()
        self._pools = keep
        self._sets = sets
        self._by_url = {}
        self._by_cert = {}

    def backend_set(self, name: str):
        """The BackendSet of a backend of the current plan, or None."""
        return self._sets.get(name)

    def for_url(self, url: str) -> BackendSet:
        """A backend made from a base URL (set-backend-service base-url), with default settings;
        kept until the next plan, so its connections are pooled like any other's."""
        found = self._by_url.get(url)
        if found is None:
            backend = adhoc_backend(url)
            pools = [UpstreamPool(m, self.loop, backend.max_idle_connections, backend.idle_timeout,
                                  backend.connect_timeout) for m in backend.members]
            found = self._by_url[url] = BackendSet(backend, pools, self.loop)
        return found

    def with_client_cert(self, backend_set, identity) -> BackendSet:
        """The members of `backend_set` reached with `identity` as the TLS client certificate: pools
        of their own, as a connection is authenticated once, at its handshake."""
        key = (backend_set.backend.name, identity.id)
        found = self._by_cert.get(key)
        if found is None:
            backend = backend_set.backend
            context = backend_context(backend.tls, backend.base_dir, (), [])
            identity.load_into(context)
            variant = replace(backend, ssl_context=context)
            pools = [UpstreamPool(m, self.loop, backend.max_idle_connections, backend.idle_timeout,
                                  backend.connect_timeout, variant, self.board) for m in backend.members]
            found = self._by_cert[key] = BackendSet(variant, pools, self.loop)
        return found

    def _all(self):
        yield from self._pools.values()
        for backend_set in (*self._by_url.values(), *self._by_cert.values()):
            yield from backend_set.pools

    def sweep(self, now: float) -> None:
        for pool in self._all():
            pool.sweep(now)

    def close(self) -> None:
        for pool in self._all():
            pool.close()
