"""The local backend: synchronous answers, a full table failing open out loud, the per-worker cache and its budget."""
import inspect
import logging

import pytest

from gwcore.state import open_backend
from gwcore.state.base import Decision
from gwcore.state.cache import ENTRY_OVERHEAD, ResponseCache
from gwcore.state.local import LocalBackend
from gwcore.config.schema import Gateway
from state.harness import T0, FakeClock


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def local(shm_twin, clock):
    backend = LocalBackend(shm_twin.SharedTable.create(64), clock=clock)
    yield backend
    backend.table.close()


def test_answers_are_values_not_awaitables(local):
    for result in (local.rate_limit("k", 5, 60), local.quota("k", 5, 60)):
        assert isinstance(result, Decision) and not inspect.isawaitable(result)
    assert local.quota_add("k", 60, 10) is None
    assert local.cache_set("k", b"v", 10) is None
    assert local.cache_get("k") == b"v"


def test_a_full_table_admits_logs_and_reports(local, caplog):
    for i in range(64):
        assert local.rate_limit(f"key-{i}", 1, 60).allowed
    with caplog.at_level(logging.WARNING, logger="gwcore.state"):
        for _ in range(3):
            assert local.rate_limit("one-too-many", 1, 60) == Decision(True, 1, 0, 0, 0)
    warnings = [r for r in caplog.records if "state table full" in r.getMessage()]
    assert len(warnings) == 1, "one line per minute, not one per call"
    assert "64 slots" in warnings[0].getMessage()
    assert local.health()["table_full"] == 3
    assert local.problems() == []   # failing open is degraded, not down


def test_keys_agree_across_backends_on_one_table_and_differ_across_tables(shm_twin, clock):
    table = shm_twin.SharedTable.create(256)
    first, second = LocalBackend(table, clock=clock), LocalBackend(table, clock=clock)
    assert first.rate_limit("alice", 2, 60).allowed and second.rate_limit("alice", 2, 60).allowed
    assert not first.rate_limit("alice", 2, 60).allowed
    other = LocalBackend(shm_twin.SharedTable.create(256), clock=clock)
    assert other._digest("alice") != first._digest("alice")   # the seed is the table's
    table.close()
    other.table.close()


def test_without_a_table_a_backend_makes_its_own(clock, loop):
    backend = LocalBackend(clock=clock, slots=64)
    assert backend.table.slots == 64
    assert backend.rate_limit("k", 1, 60).allowed
    loop.run_until_complete(backend.close())


def test_open_backend_local_uses_the_table_it_is_given(shm_twin, clock):
    table = shm_twin.SharedTable.create(64)
    backend = open_backend(Gateway(state="local"), table, clock=clock)
    assert isinstance(backend, LocalBackend) and backend.table is table
    assert backend.health() == {"kind": "local", "connected": True, "since": None, "errors": 0,
                                "latency_ms": None, "slots": 64, "table_full": 0}
    table.close()


# ---------------------------------------------------------------- the per-worker cache

def test_cache_ttl_follows_the_clock(local, clock):
    local.cache_set("page", b"body", 10)
    clock.now = T0 + 9.9
    assert local.cache_get("page") == b"body"
    clock.now = T0 + 10
    assert local.cache_get("page") is None
    assert len(local.cache) == 0 and local.cache.size == 0


def test_cache_evicts_least_recently_used_within_its_budget(clock):
    entry = len("k0") + 100 + ENTRY_OVERHEAD
    cache = ResponseCache(budget=3 * entry, clock=clock)
    for i in range(3):
        cache.set(f"k{i}", b"x" * 100, 60)
    assert cache.get("k0") is not None          # k0 is now the most recently used
    cache.set("k3", b"x" * 100, 60)
    assert cache.get("k1") is None              # the least recently used went
    assert all(cache.get(k) is not None for k in ("k0", "k2", "k3"))
    assert cache.size == 3 * entry <= cache.budget


def test_cache_refuses_what_exceeds_the_whole_budget(clock):
    cache = ResponseCache(budget=1000, clock=clock)
    cache.set("small", b"s", 60)
    cache.set("huge", b"x" * 1000, 60)
    assert cache.get("huge") is None and cache.get("small") == b"s"


def test_cache_overwrite_and_delete_keep_the_size_right(clock):
    cache = ResponseCache(budget=10_000, clock=clock)
    cache.set("k", b"x" * 500, 60)
    cache.set("k", b"x" * 200, 60)
    assert cache.size == len("k") + 200 + ENTRY_OVERHEAD
    cache.delete("k")
    cache.delete("k")
    assert cache.size == 0 and len(cache) == 0
