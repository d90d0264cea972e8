"""Keep-alive connection pools per backend member, and the member choice per request."""
import asyncio
import ssl

from gwcore.config.plan import adhoc_backend
from gwcore.upstream.connection import UpstreamConnection


class ConnectFailed(Exception):
    """The backend member could not be reached (reason: "timeout" or "connection")."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(detail or reason)
        self.reason = reason


class UpstreamPool:
    """Idle keep-alive connections to one member, most recently used first."""

    def __init__(self, member, loop, max_idle: int, idle_timeout: float, connect_timeout: float):
        self.member = member
        self.address = f"{member.host}:{member.port}"
        self.loop = loop
        self.max_idle = max_idle
        self.idle_timeout = idle_timeout
        self.connect_timeout = connect_timeout
        self.idle = []
        self.open = 0
        self.retired = False  # dropped by a reload: connections coming back are closed
        self._ssl = ssl.create_default_context() if member.scheme == "https" else None

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
                    ssl=self._ssl, server_hostname=member.host if self._ssl else None),
                self.connect_timeout)
        except asyncio.TimeoutError:
            raise ConnectFailed("timeout", f"connect to {self.address} timed out") from None
        except OSError as exc:
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


class BackendSet:
    """The pools of one backend; picks a member per request (weighted round-robin)."""

    def __init__(self, backend, pools: list):
        self.backend = backend
        self.pools = pools
        order = []
        for pool in pools:
            order += [pool] * pool.member.weight
        self._order = order
        self._next = 0

    def choose(self) -> UpstreamPool:
        order = self._order
        if len(order) == 1:
            return order[0]
        self._next = (self._next + 1) % len(order)
        return order[self._next]


class Upstreams:
    """Every pool of a worker, kept across config reloads while a member stays the same."""

    def __init__(self, loop):
        self.loop = loop
        self._pools = {}     # (url, max_idle, idle_timeout, connect_timeout) -> UpstreamPool
        self._sets = {}      # backend name -> BackendSet for the current plan
        self._by_url = {}    # set-backend-service base-url -> BackendSet, for the current plan

    def use_plan(self, plan) -> None:
        keep = {}
        sets = {}
        for name, backend in plan.backends.items():
            pools = []
            for member in backend.members:
                key = (member.url, backend.max_idle_connections, backend.idle_timeout, backend.connect_timeout)
                pool = keep.get(key) or self._pools.get(key) or UpstreamPool(
                    member, self.loop, backend.max_idle_connections, backend.idle_timeout,
                    backend.connect_timeout)
                keep[key] = pool
                pools.append(pool)
            sets[name] = BackendSet(backend, pools)
        for key, pool in self._pools.items():
            if key not in keep:
                pool.close()
        for backend_set in self._by_url.values():
            for pool in backend_set.pools:
                pool.close()
        self._pools = keep
        self._sets = sets
        self._by_url = {}

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
            found = self._by_url[url] = BackendSet(backend, pools)
        return found

    def _all(self):
        yield from self._pools.values()
        for backend_set in self._by_url.values():
            yield from backend_set.pools

    def sweep(self, now: float) -> None:
        for pool in self._all():
            pool.sweep(now)

    def close(self) -> None:
        for pool in self._all():
            pool.close()
