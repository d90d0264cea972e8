"""State fixtures: an injectable clock, an event loop, and each StateBackend behind one synchronous harness."""
import asyncio
import uuid

import pytest
import uvloop

from gwcore.state.local import LocalBackend
from state.harness import FakeClock, Harness, twin_module


@pytest.fixture(params=["py", "c"])
def shm_twin(request):
    """Each shared-table implementation in turn, with test ids `py` and `c`."""
    return twin_module(request.param)


@pytest.fixture
def loop():
    loop = uvloop.new_event_loop()
    asyncio.set_event_loop(loop)
    yield loop
    loop.run_until_complete(asyncio.sleep(0))
    loop.close()
    asyncio.set_event_loop(None)


@pytest.fixture
def clock():
    return FakeClock()


BACKENDS = [
    pytest.param("local-py", id="local-py"),
    pytest.param("local-c", id="local-c"),
    pytest.param("redis", id="redis", marks=pytest.mark.redis),
    pytest.param("redis-py", id="redis-py", marks=pytest.mark.redis),
    pytest.param("redis-cluster", id="redis-cluster", marks=pytest.mark.redis),
]


@pytest.fixture(params=BACKENDS)
def backend(request, loop, clock):
    """Every StateBackend in turn, driven by `clock`: local on each twin, Redis (lean client and
    redis-py), Redis Cluster."""
    name = request.param
    if name.startswith("local"):
        table = twin_module(name.split("-")[1]).SharedTable.create(4096)
        harness = Harness(name, LocalBackend(table, clock=clock), loop, clock)
        yield harness
        loop.run_until_complete(harness.backend.close())
        table.close()
        return
    from gwcore.state.redis_backend import RedisBackend
    if name == "redis-cluster":
        url, client = request.getfixturevalue("redis_cluster").url, "lean"
    else:
        url = request.getfixturevalue("redis_server").url
        client = "redis-py" if name == "redis-py" else "lean"
    backend = RedisBackend(url, clock=clock, client=client, deadline=2.0, fallback=LocalBackend(clock=clock))
    loop.run_until_complete(backend.start(timeout=10))
    assert backend.connected, backend.health()
    harness = Harness(name, backend, loop, clock, prefix=f"{uuid.uuid4().hex}:")
    yield harness
    # the suite pins Redis answers, not fallback ones: a disconnect during a test must fail it
    assert backend.connected and backend.health()["errors"] == 0, backend.health()
    loop.run_until_complete(backend.close())
