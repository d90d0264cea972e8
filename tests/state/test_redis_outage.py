"""Redis going away: answers within the deadline from local counters (or 503 when failing closed), status says so, recovery."""
import asyncio
import functools
import inspect
import logging
import socket
import time
import uuid

import pytest

from conftest import free_port
from gwcore.state.base import Decision, StateUnavailable
from gwcore.state.local import LocalBackend
from gwcore.state.redis_backend import RedisBackend

pytestmark = pytest.mark.redis

DEADLINE = 0.1
# Time on top of the deadline a loaded two-core machine may take to run the timer's callback;
# still below the 1 s a reconnect may take, so waiting on a reconnect would fail the tests.
SCHEDULING_SLACK = 0.6


def make_backend(loop, url, **options):
    backend = RedisBackend(url, deadline=DEADLINE, fallback=LocalBackend(slots=1024), **options)
    loop.run_until_complete(backend.start(timeout=10))
    return backend


def wait_until(loop, condition, timeout=15.0):
    async def poll():
        deadline = time.monotonic() + timeout
        while not condition():
            assert time.monotonic() < deadline, "condition not met in time"
            await asyncio.sleep(0.02)
    loop.run_until_complete(poll())


async def timed(call):
    """(seconds the caller of `call()` waited, the answer or the exception)."""
    started = time.monotonic()
    try:
        result = call()
        value = await result if inspect.isawaitable(result) else result
    except Exception as exc:
        value = exc
    return time.monotonic() - started, value


def test_killed_mid_load_serves_on_local_counters_and_comes_back(loop, redis_factory, caplog):
    caplog.set_level(logging.INFO, logger="gwcore.state")
    server = redis_factory()
    backend = make_backend(loop, server.url)
    assert backend.connected

    async def load(seconds, kill_at):
        answers, killed = [], False
        started = time.monotonic()
        while time.monotonic() - started < seconds:
            if not killed and time.monotonic() - started >= kill_at:
                server.kill()
                killed = True
            calls = [functools.partial(backend.rate_limit, f"load-{i}", 10**6, 60) for i in range(20)]
            answers += await asyncio.gather(*(timed(call) for call in calls))
            await asyncio.sleep(0.005)
        return answers

    answers = loop.run_until_complete(load(1.0, kill_at=0.3))
    assert all(isinstance(value, Decision) and value.allowed for _, value in answers)
    assert max(waited for waited, _ in answers) < DEADLINE + SCHEDULING_SLACK

    health = backend.health()
    assert health["connected"] is False and health["since"].endswith("Z") and health["reason"]
    assert backend.problems() == []     # failing open: degraded, still serving
    assert any("unreachable" in r.getMessage() and "serving on local counters" in r.getMessage()
               for r in caplog.records if r.levelno == logging.WARNING)

    # while Redis is away the answers come at once, from the host's own counters
    key = uuid.uuid4().hex
    local = [backend.rate_limit(key, 2, 60) for _ in range(3)]
    assert all(isinstance(d, Decision) for d in local)
    assert [d.allowed for d in local] == [True, True, False]

    server.start()
    wait_until(loop, lambda: backend.connected)
    assert any("connected again" in r.getMessage() for r in caplog.records)
    again = backend.rate_limit(key, 2, 60)
    assert inspect.isawaitable(again)
    assert loop.run_until_complete(again).remaining == 1    # Redis counts afresh
    assert backend.health()["connected"] and backend.health()["reason"] is None
    loop.run_until_complete(backend.close())


def test_a_hung_server_costs_a_call_the_deadline_and_no_more(loop, redis_factory):
    server = redis_factory()
    backend = make_backend(loop, server.url)
    server.pause()
    try:
        waited, value = loop.run_until_complete(timed(lambda: backend.rate_limit("k", 5, 60)))
        assert DEADLINE * 0.9 <= waited < DEADLINE + SCHEDULING_SLACK
        assert value == Decision(True, 5, 4, 0, value.reset)
        assert not backend.connected and "no reply within 100 ms" in backend.health()["reason"]
        waited, value = loop.run_until_complete(timed(lambda: backend.cache_get("k")))
        assert waited < 0.05 and value is None     # known down: no waiting at all
    finally:
        server.resume()
    wait_until(loop, lambda: backend.connected)
    assert loop.run_until_complete(backend.rate_limit(uuid.uuid4().hex, 5, 60)).remaining == 4
    loop.run_until_complete(backend.close())


def test_failing_closed_refuses_limits_but_not_the_cache(loop, redis_factory):
    server = redis_factory()
    backend = make_backend(loop, server.url, on_failure="closed")
    assert backend.problems() == []
    in_flight = backend.rate_limit("k", 5, 60)
    server.kill()
    _, value = loop.run_until_complete(timed(lambda: in_flight))
    assert isinstance(value, (Decision, StateUnavailable))   # it may have been answered before the kill
    waited, value = loop.run_until_complete(timed(lambda: backend.rate_limit("k", 5, 60)))
    assert isinstance(value, StateUnavailable) and waited < DEADLINE + SCHEDULING_SLACK
    assert not backend.connected
    with pytest.raises(StateUnavailable, match="unreachable since"):
        backend.rate_limit("k", 5, 60)
    with pytest.raises(StateUnavailable):
        backend.quota("k", 5, 60)
    backend.quota_add("k", 60, 100)        # bandwidth after a response: counted locally, never raises
    backend.cache_set("page", b"v", 60)
    assert backend.cache_get("page") == b"v"   # a cache is never a reason for a 503
    problems = backend.problems()
    assert len(problems) == 1 and f"127.0.0.1:{server.port}" in problems[0]
    server.start()
    wait_until(loop, lambda: backend.connected)
    assert backend.problems() == []
    loop.run_until_complete(backend.close())


def test_redis_down_at_start_serves_locally_until_it_appears(loop, redis_factory, caplog):
    caplog.set_level(logging.INFO, logger="gwcore.state")
    port = free_port()
    backend = RedisBackend(f"redis://127.0.0.1:{port}/0", deadline=DEADLINE, fallback=LocalBackend(slots=1024))
    started = time.monotonic()
    loop.run_until_complete(backend.start(timeout=0.3))
    assert time.monotonic() - started < 0.3 + SCHEDULING_SLACK
    assert not backend.connected and backend.health()["since"] is not None
    assert isinstance(backend.rate_limit("k", 1, 60), Decision)
    warnings = [r for r in caplog.records if "unreachable" in r.getMessage()]
    assert len(warnings) == 1, "said once, not on every retry"
    redis_factory(port=port)
    wait_until(loop, lambda: backend.connected)
    assert inspect.isawaitable(backend.rate_limit("k", 1, 60))
    loop.run_until_complete(backend.close())


def test_an_idle_backend_notices_a_killed_server_at_once(loop, redis_factory, caplog):
    """A worker that makes no call still says Redis is gone (status, log) and starts reconnecting."""
    caplog.set_level(logging.INFO, logger="gwcore.state")
    server = redis_factory()
    backend = make_backend(loop, server.url)
    server.kill()
    wait_until(loop, lambda: not backend.connected, timeout=5.0)
    assert any("unreachable" in r.getMessage() and "closed the connection" in r.getMessage()
               for r in caplog.records)
    server.start()
    wait_until(loop, lambda: backend.connected)
    loop.run_until_complete(backend.close())
    assert sum("unreachable" in r.getMessage() for r in caplog.records) == 1, "closing is not an outage"


def test_a_late_loop_still_takes_the_reply_that_came_in_time(loop, redis_factory):
    """The worker, not Redis, was slow: the reply came within the deadline while the loop was busy
    with other I/O, and is still unread in the socket when the deadline timer runs."""
    server = redis_factory()
    backend = make_backend(loop, server.url)
    key = uuid.uuid4().hex
    busy, nudge = socket.socketpair()

    def other_io():   # a long callback of another connection; Redis answers meanwhile
        busy.recv(1)
        server.resume()
        time.sleep(DEADLINE * 3)

    async def stalled():
        server.pause()   # so that the reply cannot come before the loop is busy
        loop.add_reader(busy, other_io)
        answer = backend.rate_limit(key, 5, 60)
        loop.call_soon(nudge.send, b"x")   # right after the batch is written, before the loop polls
        try:
            return await answer
        finally:
            loop.remove_reader(busy)

    try:
        assert loop.run_until_complete(stalled()).remaining == 4
    finally:
        server.resume()
        busy.close()
        nudge.close()
    assert backend.connected and backend.health()["errors"] == 0, backend.health()
    assert loop.run_until_complete(backend.rate_limit(key, 5, 60)).remaining == 3   # counted in Redis
    loop.run_until_complete(backend.close())
