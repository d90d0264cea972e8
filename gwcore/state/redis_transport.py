"""How the Redis backend reaches Redis: a lean pipelined connection, or redis-py where routing is needed (Cluster)."""
import asyncio
import ssl

from redis import exceptions as redis_errors
from redis.asyncio import Redis
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.asyncio.sentinel import Sentinel

from gwcore.state.resp import ReplyError, RespProtocol, pack_command


def tls_context(target):
    if not target.tls:
        return None
    context = ssl.create_default_context(cafile=target.tls_ca_file)
    if not target.tls_verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


class LeanTransport:
    """One pipelined RESP connection read by hiredis.Reader, to a single server or to the master Sentinel names.

    The request path costs a pack, a write and a parse: a half to a seventh of the client CPU
    of a redis-py pipeline (the module docstring of redis_backend.py has the figures)."""

    def __init__(self, target, connect_timeout: float):
        self.target = target
        self.connect_timeout = connect_timeout
        self.address = target.addresses[0] if target.kind == "single" else None
        self._ssl = tls_context(target)
        self._protocol = None
        # on_lost(error): the server closed the connection we use. Set by the backend, so that a
        # worker that makes no call learns of a dead Redis too (its status and log say so at once).
        self.on_lost = None

    @property
    def name(self) -> str:
        if self.target.kind == "single" or self.address is None:
            return self.target.name
        return f"{self.target.name} (master {self.address[0]}:{self.address[1]})"

    async def connect(self) -> None:
        self.abort()
        host, port = self.target.addresses[0] if self.target.kind == "single" else await self._master()
        self.address = (host, port)
        _, protocol = await asyncio.get_running_loop().create_connection(
            lambda: RespProtocol(self._closed), host, port, ssl=self._ssl,
            server_hostname=host if self._ssl else None)
        target = self.target
        hello = []
        if target.password:
            hello.append(("AUTH", target.username, target.password) if target.username else ("AUTH", target.password))
        if target.db:
            hello.append(("SELECT", target.db))
        hello.append(("PING",))
        try:
            replies = await protocol.execute(b"".join(pack_command(c) for c in hello), len(hello))
            for command, reply in zip(hello, replies):
                if isinstance(reply, ReplyError):
                    raise ConnectionError(f"Redis at {host}:{port} refused {command[0]}: {reply}")
        except BaseException:
            protocol.transport.abort()
            raise
        self._protocol = protocol

    def _closed(self, protocol, error) -> None:
        if protocol is self._protocol and self.on_lost is not None:   # not one we aborted or never used
            self.on_lost(error)

    async def _master(self):
        """(host, port) of the master the sentinels name; asked again on every reconnect (after a failover)."""
        sentinel = Sentinel(list(self.target.addresses), socket_timeout=self.connect_timeout,
                            socket_connect_timeout=self.connect_timeout)
        try:
            return await sentinel.discover_master(self.target.service)
        finally:
            for client in sentinel.sentinels:
                await client.aclose()

    def send(self, commands: list) -> asyncio.Future:
        """One write for the whole batch; the future gets one reply per command (errors as ReplyError)."""
        protocol = self._protocol
        if protocol is None:
            raise ConnectionError("not connected to Redis")
        return protocol.execute(b"".join([pack_command(c) for c in commands]), len(commands))

    async def load(self, scripts) -> None:
        replies = await self.send([("SCRIPT", "LOAD", script.source) for script in scripts])
        for script, reply in zip(scripts, replies):
            if isinstance(reply, ReplyError):
                raise ConnectionError(f"Redis refused SCRIPT LOAD of {script.name}.lua: {reply}")

    def abort(self) -> None:
        protocol, self._protocol = self._protocol, None   # first: its connection_lost is ours, not news
        if protocol is not None:
            protocol.transport.abort()

    async def close(self) -> None:
        self.abort()


class RedisPyTransport:
    """redis-py (redis.asyncio, hiredis parser): Redis Cluster, where it sends each key to the node owning
    its slot and follows MOVED/ASK; also usable for a single server."""

    def __init__(self, target, connect_timeout: float):
        self.target = target
        self.connect_timeout = connect_timeout
        self._client = None
        self.on_lost = None     # redis-py gives no such signal: a lost connection shows on the next call

    @property
    def name(self) -> str:
        return self.target.name

    def _new_client(self):
        target = self.target
        options = dict(username=target.username, password=target.password,
                       socket_timeout=self.connect_timeout, socket_connect_timeout=self.connect_timeout)
        if target.tls:
            options.update(ssl=True, ssl_cert_reqs="required" if target.tls_verify else "none",
                           ssl_ca_certs=target.tls_ca_file)
        if target.kind == "cluster":
            return RedisCluster(startup_nodes=[ClusterNode(h, p) for h, p in target.addresses], **options)
        host, port = target.addresses[0]
        return Redis(host=host, port=port, db=target.db, **options)

    async def connect(self) -> None:
        await self.close()
        client = self._new_client()
        try:
            if isinstance(client, RedisCluster):
                await client.initialize()
            await client.ping()
        except BaseException:
            await client.aclose()
            raise
        self._client = client

    def send(self, commands: list) -> asyncio.Future:
        client = self._client
        if client is None:
            raise ConnectionError("not connected to Redis")
        pipe = client.pipeline() if isinstance(client, RedisCluster) else client.pipeline(transaction=False)
        for command in commands:
            pipe.execute_command(*command)
        return asyncio.ensure_future(_execute(pipe))

    async def load(self, scripts) -> None:
        for script in scripts:    # a Cluster sends SCRIPT LOAD to every primary
            await self._client.script_load(script.source)

    def abort(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            asyncio.ensure_future(client.aclose())

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()


async def _execute(pipe) -> list:
    return [_reply(result) for result in await pipe.execute(raise_on_error=False)]


_CODES = ((redis_errors.NoScriptError, "NOSCRIPT"), (redis_errors.ReadOnlyError, "READONLY"),
          (redis_errors.BusyLoadingError, "LOADING"))


def _reply(result):
    """redis-py's answer in the lean client's terms: error replies become ReplyError with their code."""
    if isinstance(result, redis_errors.ResponseError):
        for kind, code in _CODES:
            if isinstance(result, kind):
                return ReplyError(f"{code} {result}")
        return ReplyError(f"ERR {result}")
    if isinstance(result, Exception):   # the connection failed under this command
        raise result
    return result


def transport_for(target, connect_timeout: float, client: str = "lean"):
    """The transport for `target`: lean for a server or Sentinel (unless client="redis-py"), redis-py for Cluster."""
    if target.kind == "cluster" or client == "redis-py":
        if target.kind == "sentinel":
            raise ValueError("redis-py transport is only used for a single server or a Cluster")
        return RedisPyTransport(target, connect_timeout)
    return LeanTransport(target, connect_timeout)
