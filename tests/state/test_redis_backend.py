"""The Redis backend on a real server: one pipeline per loop tick, NOSCRIPT recovery, URLs, Sentinel, open_backend."""
import asyncio
import inspect
import uuid

import pytest

from conftest import RedisServer, redis_command
from gwcore.config.schema import Gateway
from gwcore.state import open_backend
from gwcore.state.base import Decision
from gwcore.state.local import LocalBackend
from gwcore.state.redis_backend import RedisBackend
from gwcore.state.redis_url import parse_url


def started(loop, url, **options):
    backend = RedisBackend(url, **options)
    loop.run_until_complete(backend.start(timeout=10))
    assert backend.connected, backend.health()
    return backend


@pytest.mark.redis
@pytest.mark.parametrize("client", ["lean", "redis-py"])
def test_calls_of_one_tick_share_one_pipeline(loop, redis_server, client):
    backend = started(loop, redis_server.url, client=client)
    key = uuid.uuid4().hex

    async def one_tick():
        calls = [backend.rate_limit(key, 30, 60) for _ in range(40)]
        calls += [backend.quota(key, 5, 60), backend.cache_get(key)]
        backend.quota_add(key, 60, 100)
        assert all(inspect.isawaitable(c) for c in calls)
        return await asyncio.gather(*calls)

    before = backend.batches
    replies = loop.run_until_complete(one_tick())
    assert backend.batches == before + 1
    assert [r.allowed for r in replies[:40]] == [True] * 30 + [False] * 10
    assert replies[40] == Decision(True, 5, 4, 0, replies[40].reset) and replies[41] is None

    async def separate_ticks():
        for _ in range(3):
            await backend.rate_limit(key + "-2", 30, 60)

    before = backend.batches
    loop.run_until_complete(separate_ticks())
    assert backend.batches == before + 3
    health = backend.health()
    assert health["connected"] and health["latency_ms"] > 0 and health["errors"] == 0
    loop.run_until_complete(backend.close())


@pytest.mark.redis
def test_scripts_flushed_on_the_server_are_sent_again(loop, redis_server):
    backend = started(loop, redis_server.url)
    key = uuid.uuid4().hex
    assert loop.run_until_complete(backend.rate_limit(key, 2, 60)).remaining == 1
    redis_command(redis_server.port, "SCRIPT", "FLUSH")
    before = backend.batches
    assert loop.run_until_complete(backend.rate_limit(key, 2, 60)).remaining == 0
    assert backend.batches == before + 2     # NOSCRIPT, then EVAL with the source
    assert loop.run_until_complete(backend.rate_limit(key, 2, 60)).allowed is False
    assert backend.batches == before + 3     # and EVALSHA works again
    assert backend.health()["errors"] == 0
    loop.run_until_complete(backend.close())


@pytest.mark.redis
def test_keys_are_versioned_and_hash_tagged(loop, redis_server):
    backend = started(loop, redis_server.url)
    key = uuid.uuid4().hex
    loop.run_until_complete(backend.rate_limit(key, 2, 60))
    loop.run_until_complete(backend.quota(key, 2, 3600, 1, 1000.0))
    loop.run_until_complete(backend.cache_set(key, b"v", 60))
    keys = sorted(k.decode() for k in redis_command(redis_server.port, "KEYS", f"*{key}*"))
    assert keys == [f"gw:v1:{{{key}}}:c", f"gw:v1:{{{key}}}:q:3600.0:1000.0", f"gw:v1:{{{key}}}:w:60.0"]
    ttl = redis_command(redis_server.port, "PTTL", f"gw:v1:{{{key}}}:w:60.0")
    assert 60_000 < ttl <= 64_001     # entries go when their window does
    loop.run_until_complete(backend.close())


@pytest.mark.redis
def test_the_server_clock_decides_without_an_injected_one(loop, redis_server):
    backend = started(loop, redis_server.url)
    key = uuid.uuid4().hex
    first = loop.run_until_complete(backend.rate_limit(key, 1, 60))
    second = loop.run_until_complete(backend.rate_limit(key, 1, 60))
    assert first.allowed and 60 <= first.reset <= 64
    assert not second.allowed and 1 <= second.retry_after <= 64
    loop.run_until_complete(backend.close())


@pytest.mark.redis
def test_a_database_and_a_password_from_the_url(loop, tmp_path):
    server = RedisServer(tmp_path / "auth", extra=("--requirepass", "s3cret")).start()
    try:
        backend = started(loop, f"redis://:s3cret@127.0.0.1:{server.port}/3")
        key = uuid.uuid4().hex
        loop.run_until_complete(backend.cache_set(key, b"v", 60))
        assert loop.run_until_complete(backend.cache_get(key)) == b"v"
        assert "s3cret" not in str(backend.health())
        loop.run_until_complete(backend.close())
        wrong = RedisBackend(f"redis://:wrong@127.0.0.1:{server.port}/0")
        loop.run_until_complete(wrong.start(timeout=0.5))
        assert not wrong.connected and "WRONGPASS" in wrong.health()["reason"]
        loop.run_until_complete(wrong.close())
    finally:
        server.kill()


@pytest.mark.redis
def test_sentinel_names_the_master(loop, redis_server, tmp_path):
    conf = tmp_path / "sentinel.conf"   # Sentinel rewrites its config file: one of its own
    conf.write_text(f"sentinel monitor gwmaster 127.0.0.1 {redis_server.port} 1\n")
    sentinel = RedisServer(tmp_path / "sentinel", config_file=str(conf), extra=("--sentinel",)).start()
    try:
        backend = started(loop, f"redis+sentinel://127.0.0.1:{sentinel.port}/gwmaster/0")
        assert f"master 127.0.0.1:{redis_server.port}" in backend.health()["address"]
        key = uuid.uuid4().hex
        assert loop.run_until_complete(backend.rate_limit(key, 1, 60)).allowed
        assert not loop.run_until_complete(backend.rate_limit(key, 1, 60)).allowed
        loop.run_until_complete(backend.close())
    finally:
        sentinel.kill()


@pytest.mark.redis
def test_open_backend_builds_redis_over_the_local_table(loop, redis_server, shm_twin):
    table = shm_twin.SharedTable.create(64)
    backend = open_backend(Gateway(state=redis_server.url, on_state_failure="closed"), table)
    assert isinstance(backend, RedisBackend) and backend.fail_closed
    assert isinstance(backend.fallback, LocalBackend) and backend.fallback.table is table
    loop.run_until_complete(backend.start(timeout=10))
    assert backend.health()["kind"] == "redis" and backend.health()["connected"]
    loop.run_until_complete(backend.close())
    table.close()


# ---------------------------------------------------------------- URLs

@pytest.mark.parametrize("url, kind, addresses, db, extra", [
    ("redis://cache.internal", "single", (("cache.internal", 6379),), 0, {}),
    ("redis://:pw@10.0.0.5:6380/2", "single", (("10.0.0.5", 6380),), 2, {"password": "pw"}),
    ("redis://user:p%40ss@h:1/0?deadline=0.05", "single", (("h", 1),), 0,
     {"username": "user", "password": "p@ss", "deadline": 0.05}),
    ("rediss://h:6380?ssl_cert_reqs=none", "single", (("h", 6380),), 0, {"tls": True, "tls_verify": False}),
    ("redis+sentinel://s1:26379,s2/mymaster/1", "sentinel", (("s1", 26379), ("s2", 26379)), 1,
     {"service": "mymaster"}),
    ("redis+cluster://n1:7000,n2:7001,[::1]:7002", "cluster", (("n1", 7000), ("n2", 7001), ("::1", 7002)), 0, {}),
])
def test_state_urls(url, kind, addresses, db, extra):
    target = parse_url(url)
    assert (target.kind, target.addresses, target.db) == (kind, addresses, db)
    for name, value in extra.items():
        assert getattr(target, name) == value


@pytest.mark.parametrize("url, message", [
    ("memcached://h", "scheme"),
    ("redis://", "names no host"),
    ("redis://a:1,b:2", "several hosts"),
    ("redis://h:99999", "not host:port"),
    ("redis://h/zero", "whole number"),
    ("redis+sentinel://s1:26379", "service name"),
    ("redis+cluster://n1:7000/1", "Cluster has only db 0"),
    ("redis://h?deadline=soon", "deadline is in seconds"),
    ("redis://h?timeout=1", "unknown parameter 'timeout'"),
])
def test_bad_state_urls_say_what_is_wrong(url, message):
    with pytest.raises(ValueError, match=message):
        parse_url(url)
