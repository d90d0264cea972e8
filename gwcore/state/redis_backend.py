"""The Redis state backend: counters and cache shared by every gateway host, with a local fallback while Redis is away.

Every call made in one event-loop tick goes out in one pipeline (one write, one read), and
every batch has a deadline (default 100 ms, `?deadline=0.05` in the URL): when it passes (and
one more read of the socket finds nothing), or the connection fails, the batch is answered
from the fallback LocalBackend (the host's shared table, so limits stay exact per host) or,
with on_state_failure: closed, with StateUnavailable. The backend then counts itself
disconnected, logs the transition once, and reconnects in the background with backoff (a
server that closes the connection is noticed at once, call or not); while disconnected calls
are answered at once, without a round trip.

Rate limits and quotas run as Lua scripts (gwcore/state/lua/), loaded on each connection and
called with EVALSHA (EVAL with the source when a server answers NOSCRIPT: after a restart, a
failover or a SCRIPT FLUSH). Keys are gw:v1:{<key>}:<kind>:... : a format version, and the
caller's key as a hash tag so a future two-key script stays on one Cluster slot.

Client CPU per rate_limit call, measured on the 2-core dev box against a local redis-server:
lean client 54 us alone in its tick, 6 us at 10 calls per tick, 4 us at 100; redis-py 111,
47 and 25 us. So single servers and Sentinel masters use the lean client (resp.py) and only
Cluster, which needs slot routing, goes through redis-py.
"""
import asyncio
import functools
import logging
import math
import random
import time

from gwcore.state.base import StateBackend, StateUnavailable, decision, iso
from gwcore.state.local import LocalBackend
from gwcore.state.redis_transport import transport_for
from gwcore.state.redis_url import parse_url
from gwcore.state.resp import ReplyError
from gwcore.state.scripts import ALL, QUOTA, SLIDING_WINDOW, SOURCE_BY_SHA
from gwcore.state.shm import MAX_LIMIT   # the same limits as the local table (32-bit bucket counts)

DEFAULT_DEADLINE = 0.1
CONNECT_TIMEOUT = 1.0       # background reconnects may take longer than a request's deadline
BACKOFF_FIRST = 0.05
BACKOFF_MAX = 2.0
# Replies that mean this server cannot serve us now: handled like an unreachable server.
UNAVAILABLE_CODES = frozenset({"READONLY", "LOADING", "MASTERDOWN", "CLUSTERDOWN", "TRYAGAIN", "NOREPLICAS"})

log = logging.getLogger("gwcore.state")


def _decision(reply):
    return decision(tuple(reply))


def _same(reply):
    return reply


def _nothing(reply):
    return None


def _cancel(future) -> None:
    if not future.done():
        future.cancel()


def _describe(exc) -> str:
    if isinstance(exc, (asyncio.TimeoutError, TimeoutError)) and not str(exc):
        return "no answer in time"
    return str(exc) or type(exc).__name__


class RedisBackend(StateBackend):
    """Answers with futures while Redis is connected; with the fallback's values (or StateUnavailable) while not."""

    kind = "redis"

    def __init__(self, url: str, *, fallback=None, on_failure: str = "open", deadline: float = None,
                 clock=None, client: str = "lean"):
        target = parse_url(url)
        self.deadline = deadline or target.deadline or DEFAULT_DEADLINE
        self.fallback = fallback if fallback is not None else LocalBackend(clock=clock)
        self.fail_closed = on_failure == "closed"
        self._clock = clock     # None: the scripts read the server's clock (TIME)
        self._connect_timeout = max(CONNECT_TIMEOUT, 10 * self.deadline)
        self._transport = transport_for(target, self._connect_timeout, client)
        self._transport.on_lost = self._lost
        self._loop = None
        self._pending = []      # (command, future or None, convert reply, fallback method, its args, guarded)
        self._up = asyncio.Event()
        self._connector = None
        self._closing = False
        self.connected = False
        self._since = None
        self._reason = "not connected yet"
        self._errors = 0
        self._latency_ms = None
        self.batches = 0        # pipelines sent (the tests check that one tick's calls share one)

    # ------------------------------------------------------------ the interface

    def rate_limit(self, key, limit, period, cost=1):
        if cost < 0 or not 0 <= limit <= MAX_LIMIT or not period > 0:
            raise ValueError("window needs cost >= 0, 0 <= limit < 2**31 and period > 0")
        if not self.connected:
            return self._unavailable(self.fallback.rate_limit, (key, limit, period, cost))
        period = float(period)
        future = self._loop.create_future()
        self._queue(("EVALSHA", SLIDING_WINDOW.sha, 1, f"gw:v1:{{{key}}}:w:{period!r}",
                     limit, repr(period), cost, self._now()),
                    future, _decision, self.fallback.rate_limit, (key, limit, period, cost), True)
        return future

    def quota(self, key, limit, period, cost=1, start=0.0):
        if cost < 0 or limit < 0 or period < 0:
            raise ValueError("quota needs cost >= 0, limit >= 0 and period >= 0")
        if not self.connected:
            return self._unavailable(self.fallback.quota, (key, limit, period, cost, start))
        period, start = float(period), float(start)
        future = self._loop.create_future()
        self._queue(("EVALSHA", QUOTA.sha, 1, f"gw:v1:{{{key}}}:q:{period!r}:{start!r}",
                     limit, repr(period), cost, repr(start), self._now(), 0),
                    future, _decision, self.fallback.quota, (key, limit, period, cost, start), True)
        return future

    def quota_add(self, key, period, amount, start=0.0):
        if not self.connected:
            self._ensure_connecting()
            self.fallback.quota_add(key, period, amount, start)
            return
        period, start = float(period), float(start)
        self._queue(("EVALSHA", QUOTA.sha, 1, f"gw:v1:{{{key}}}:q:{period!r}:{start!r}",
                     0, repr(period), amount, repr(start), self._now(), 1),
                    None, _nothing, self.fallback.quota_add, (key, period, amount, start), False)

    # A cache miss is always a safe answer, so the cache falls back to the worker's own cache
    # whatever on_state_failure says.
    def cache_get(self, key):
        if not self.connected:
            self._ensure_connecting()
            return self.fallback.cache_get(key)
        future = self._loop.create_future()
        self._queue(("GET", f"gw:v1:{{{key}}}:c"), future, _same, self.fallback.cache_get, (key,), False)
        return future

    def cache_set(self, key, value, ttl):
        if not self.connected:
            self._ensure_connecting()
            return self.fallback.cache_set(key, value, ttl)
        name = f"gw:v1:{{{key}}}:c"
        command = ("SET", name, value, "PX", max(1, math.ceil(ttl * 1000))) if ttl > 0 else ("DEL", name)
        future = self._loop.create_future()
        self._queue(command, future, _nothing, self.fallback.cache_set, (key, value, ttl), False)
        return future

    def cache_delete(self, key):
        if not self.connected:
            self._ensure_connecting()
            return self.fallback.cache_delete(key)
        future = self._loop.create_future()
        self._queue(("DEL", f"gw:v1:{{{key}}}:c"), future, _nothing, self.fallback.cache_delete, (key,), False)
        return future

    def health(self) -> dict:
        return {"kind": "redis", "connected": self.connected, "since": iso(self._since) if self._since else None,
                "errors": self._errors,
                "latency_ms": None if self._latency_ms is None else round(self._latency_ms, 3),
                "address": self._transport.name, "reason": None if self.connected else self._reason,
                "on_failure": "closed" if self.fail_closed else "open"}

    def problems(self) -> list:
        """Failing open, the gateway serves on local counters: only a closed backend makes it unready."""
        if self.connected or not self.fail_closed:
            return []
        return [self._unreachable()]

    def degraded(self) -> list:
        if self.connected or self.fail_closed:
            return []
        return [f"{self._unreachable()}; serving on local counters (on_state_failure: open)"]

    async def start(self, timeout: float = 1.0) -> None:
        self._ensure_connecting()
        if not self.connected:
            try:
                await asyncio.wait_for(self._up.wait(), timeout)
            except asyncio.TimeoutError:
                pass

    async def close(self) -> None:
        self._closing = True
        connector = self._connector
        if connector is not None:
            connector.cancel()
            try:
                await connector
            except asyncio.CancelledError:
                pass
        self.connected = False
        batch, self._pending = self._pending, []
        self._fall_back(batch)
        await self._transport.close()
        await self.fallback.close()

    # ------------------------------------------------------------ batching

    def _now(self) -> str:
        return "" if self._clock is None else repr(float(self._clock()))

    def _queue(self, command, future, convert, fallback, args, guarded) -> None:
        pending = self._pending
        pending.append((command, future, convert, fallback, args, guarded))
        if len(pending) == 1:
            self._loop.call_soon(self._flush)

    def _flush(self) -> None:
        batch, self._pending = self._pending, []
        if self.connected:
            self._send(batch, self._loop.time() + self.deadline)
        else:
            self._fall_back(batch)

    def _send(self, batch, deadline_at: float) -> None:
        try:
            replies = self._transport.send([entry[0] for entry in batch])
        except Exception as exc:  # the connection closed since the last batch
            self._lost(exc)
            self._fall_back(batch)
            return
        self.batches += 1
        timer = self._loop.call_at(deadline_at, self._overdue, replies)
        replies.add_done_callback(functools.partial(self._replied, batch, timer, time.perf_counter(), deadline_at))

    def _overdue(self, replies) -> None:
        """The deadline passed: give up on the replies after one more turn of the loop's I/O.

        When the worker itself was late (a long callback, or not scheduled on a loaded host), the
        deadline timer can run before the loop has read what arrived meanwhile: the replies may be
        in the socket already. Calling Redis unreachable then would serve the next calls on local
        counters, which admits a key's limit again on every host (bench/accuracy.py saw it on
        every run of 3 gateways x 2 workers on 2 cores)."""
        if not replies.done():
            self._loop.call_later(0.001, _cancel, replies)   # a timer: it runs after the next I/O poll

    def _replied(self, batch, timer, sent_at, deadline_at, replies) -> None:
        timer.cancel()
        if replies.cancelled():
            self._lost(TimeoutError(f"no reply within {self.deadline * 1000:.0f} ms"))
            self._fall_back(batch)
            return
        exc = replies.exception()
        if exc is not None:
            self._lost(exc)
            self._fall_back(batch)
            return
        self._latency_ms = (time.perf_counter() - sent_at) * 1000.0   # uvloop's clock counts whole ms
        again = []
        for entry, reply in zip(batch, replies.result()):
            if isinstance(reply, ReplyError):
                code = reply.code
                if code == "NOSCRIPT":   # the server lost its scripts: EVAL with the source loads it again
                    again.append((("EVAL", SOURCE_BY_SHA[entry[0][1]]) + entry[0][2:],) + entry[1:])
                    continue
                if code in UNAVAILABLE_CODES:
                    self._lost(reply)
                else:
                    self._errors += 1
                    log.error("state backend redis %s refused %s: %s", self._transport.name, entry[0][0], reply)
                self._fall_back((entry,))
                continue
            future = entry[1]
            if future is not None and not future.done():
                future.set_result(entry[2](reply))
        if again:
            if self.connected:
                self._send(again, deadline_at)
            else:
                self._fall_back(again)

    def _fall_back(self, batch) -> None:
        """Answer what Redis could not: from the fallback, or StateUnavailable for a limit when failing closed."""
        for _, future, _, fallback, args, guarded in batch:
            if future is not None and future.done():
                continue    # the caller gave up on it
            if guarded and self.fail_closed:
                future.set_exception(StateUnavailable(self._unreachable()))
                continue
            value = fallback(*args)
            if future is not None:
                future.set_result(value)

    def _unavailable(self, fallback, args):
        self._ensure_connecting()
        if self.fail_closed:
            raise StateUnavailable(self._unreachable())
        return fallback(*args)

    # ------------------------------------------------------------ connection state

    def _unreachable(self) -> str:
        since = f" since {iso(self._since)}" if self._since else ""
        return f"state backend redis {self._transport.name} unreachable{since}: {self._reason}"

    def _lost(self, exc) -> None:
        self._errors += 1
        if not self.connected:
            return
        self.connected = False
        self._up.clear()
        self._since = time.time()
        self._reason = _describe(exc)
        self._transport.abort()
        log.warning("%s; %s", self._unreachable(),
                    "answering 503 (on_state_failure: closed)" if self.fail_closed else "serving on local counters")
        self._ensure_connecting()

    def _ensure_connecting(self) -> None:
        if self._connector is not None or self.connected or self._closing:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return      # not in a loop yet: the first call from the loop starts it
        self._loop = loop
        self._connector = loop.create_task(self._connect_loop())

    async def _connect_loop(self) -> None:
        delay = BACKOFF_FIRST
        try:
            while not self._closing:
                try:
                    await asyncio.wait_for(self._connect_once(), self._connect_timeout)
                except Exception as exc:
                    self._transport.abort()
                    self._errors += 1
                    self._reason = _describe(exc)
                    if self._since is None:   # never connected: say so once, then keep trying quietly
                        self._since = time.time()
                        log.warning("%s; %s", self._unreachable(), "answering 503 (on_state_failure: closed)"
                                    if self.fail_closed else "serving on local counters until it answers")
                    await asyncio.sleep(delay * random.uniform(0.5, 1.0))
                    delay = min(delay * 2, BACKOFF_MAX)
                    continue
                down_for = time.time() - self._since if self._since else None
                self.connected = True
                self._since = time.time()
                self._reason = None
                self._up.set()
                if down_for is None:
                    log.info("state backend redis %s connected", self._transport.name)
                else:
                    log.warning("state backend redis %s connected again after %.1f s", self._transport.name, down_for)
                return
        finally:
            self._connector = None

    async def _connect_once(self) -> None:
        await self._transport.connect()
        await self._transport.load(ALL)
