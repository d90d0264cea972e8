"""The one conformance suite every StateBackend passes: tables of (time, call, expected reply) on an injected clock."""
import random
import time

import pytest

from gwcore.state.base import NEVER, Decision
from gwcore.state.local import LocalBackend
from state.harness import T0, FakeClock, twin_module


def ok(limit, remaining, reset):
    return Decision(True, limit, remaining, 0, reset)


def no(limit, remaining, retry_after, reset):
    return Decision(False, limit, remaining, retry_after, reset)


# (seconds after T0, method, arguments, expected reply). A 60 s window has 16 buckets of 4 s and
# T0 starts one; the oldest bucket counts whole, so a call made at T0 frees up at T0 + 64.
SLIDING_WINDOW = {
    "counts down, refuses, frees up when the oldest bucket leaves": [
        (0, "rate_limit", ("a", 3, 60), ok(3, 2, 64)),
        (1, "rate_limit", ("a", 3, 60), ok(3, 1, 63)),
        (2, "rate_limit", ("a", 3, 60), ok(3, 0, 62)),
        (3, "rate_limit", ("a", 3, 60), no(3, 0, 61, 61)),
        (3, "rate_limit", ("a", 3, 60, 0), ok(3, 0, 61)),           # a peek of a full window fits
        (59.5, "rate_limit", ("a", 3, 60), no(3, 0, 5, 5)),
        (60, "rate_limit", ("a", 3, 60), no(3, 0, 4, 4)),           # never early: the error is one-sided
        (64, "rate_limit", ("a", 3, 60), ok(3, 2, 64)),
    ],
    "calls leave the window bucket by bucket": [
        (0, "rate_limit", ("b", 2, 60), ok(2, 1, 64)),
        (30, "rate_limit", ("b", 2, 60), ok(2, 0, 62)),
        (40, "rate_limit", ("b", 2, 60), no(2, 0, 24, 52)),         # the T0 call leaves at 64
        (64, "rate_limit", ("b", 2, 60), ok(2, 0, 64)),
        (65, "rate_limit", ("b", 2, 60), no(2, 0, 27, 63)),         # the T0+30 call leaves at 92
        (200, "rate_limit", ("b", 2, 60, 0), ok(2, 2, 0)),          # all gone: nothing to reset
    ],
    "a cost counts as that many calls": [
        (0, "rate_limit", ("c", 5, 60, 4), ok(5, 1, 64)),
        (1, "rate_limit", ("c", 5, 60, 2), no(5, 1, 63, 63)),
        (1, "rate_limit", ("c", 5, 60, 1), ok(5, 0, 63)),
        (2, "rate_limit", ("c", 5, 60, 6), no(5, 0, NEVER, 62)),   # more than the limit: never
        (2, "rate_limit", ("c", 5, 60, 0), ok(5, 0, 62)),
    ],
    "renewal-period 300 has buckets of 20 s": [
        (0, "rate_limit", ("d", 1, 300), ok(1, 0, 320)),
        (299, "rate_limit", ("d", 1, 300), no(1, 0, 21, 21)),
        (320, "rate_limit", ("d", 1, 300), ok(1, 0, 320)),
    ],
    "a one-second window": [
        (0, "rate_limit", ("e", 2, 1), ok(2, 1, 2)),
        (0.1, "rate_limit", ("e", 2, 1), ok(2, 0, 2)),
        (0.2, "rate_limit", ("e", 2, 1), no(2, 0, 1, 1)),
        (1.5, "rate_limit", ("e", 2, 1), ok(2, 1, 2)),
    ],
    "each key and each period is a counter of its own": [
        (0, "rate_limit", ("f", 1, 60), ok(1, 0, 64)),
        (0, "rate_limit", ("f", 1, 60), no(1, 0, 64, 64)),
        (0, "rate_limit", ("f", 1, 30), ok(1, 0, 32)),
        (0, "rate_limit", ("g", 1, 60), ok(1, 0, 64)),
        (0, "quota", ("f", 1, 60), ok(1, 0, 40)),             # windows from the epoch: T0 is 20 s into one
    ],
    "a limit of zero admits nothing but peeks": [
        (0, "rate_limit", ("z", 0, 60), no(0, 0, NEVER, 0)),
        (0, "rate_limit", ("z", 0, 60, 0), ok(0, 0, 0)),
    ],
}

# Quota windows of 100 s from first-period-start T0; period 0 is one window for ever.
QUOTA = {
    "fixed windows from first-period-start": [
        (0, "quota", ("q", 3, 100, 1, T0), ok(3, 2, 100)),
        (10, "quota", ("q", 3, 100, 2, T0), ok(3, 0, 90)),
        (20, "quota", ("q", 3, 100, 1, T0), no(3, 0, 80, 80)),
        (20, "quota", ("q", 3, 100, 0, T0), ok(3, 0, 80)),
        (99.5, "quota", ("q", 3, 100, 1, T0), no(3, 0, 1, 1)),
        (100, "quota", ("q", 3, 100, 1, T0), ok(3, 2, 100)),
        (101, "quota_add", ("q", 100, 5, T0), None),
        (102, "quota", ("q", 3, 100, 0, T0), no(3, 0, 98, 98)),     # over by quota_add: even a peek is refused
        (102, "quota", ("q", 3, 100, 4, T0), no(3, 0, NEVER, 98)),  # more than the limit: never
        (250, "quota", ("q", 3, 100, 1, T0), ok(3, 2, 50)),
    ],
    "bandwidth counted after the response": [
        (0, "quota_add", ("bw", 100, 600, T0), None),
        (1, "quota", ("bw", 1000, 100, 0, T0), ok(1000, 400, 99)),
        (1, "quota_add", ("bw", 100, 500, T0), None),
        (2, "quota", ("bw", 1000, 100, 0, T0), no(1000, 0, 98, 98)),
        (100, "quota", ("bw", 1000, 100, 0, T0), ok(1000, 1000, 100)),
    ],
    "renewal-period 0 is a lifetime quota": [
        (0, "quota", ("life", 2, 0), ok(2, 1, NEVER)),
        (1000, "quota", ("life", 2, 0), ok(2, 0, NEVER)),
        (10**6, "quota", ("life", 2, 0), no(2, 0, NEVER, NEVER)),
    ],
    "windows count from first-period-start, also one in the future": [
        (0, "quota", ("off", 1, 100, 1, T0 + 30), ok(1, 0, 30)),
        (29, "quota", ("off", 1, 100, 1, T0 + 30), no(1, 0, 1, 1)),
        (30, "quota", ("off", 1, 100, 1, T0 + 30), ok(1, 0, 100)),
        (30, "quota", ("off", 1, 100, 1, T0), ok(1, 0, 70)),        # another start: another counter
    ],
}

TABLES = {**SLIDING_WINDOW, **QUOTA}


@pytest.mark.parametrize("rows", TABLES.values(), ids=list(TABLES))
def test_table(backend, rows):
    for offset, method, args, expected in rows:
        backend.clock.now = T0 + offset
        got = getattr(backend, method)(*args)
        assert got == expected, f"T0+{offset} {method}{args}"


def test_same_replies_as_the_reference_for_a_random_run(backend):
    """400 random calls, against the Python twin as reference; and no window ever over-admits."""
    reference_clock = FakeClock()
    table = twin_module("py").SharedTable.create(256)
    reference = LocalBackend(table, clock=reference_clock)
    rng = random.Random(7)
    admitted = []
    for i in range(400):
        reference_clock.now = backend.clock.now = T0 + i * 0.7 + rng.random()
        key, cost = rng.choice("xyz"), rng.choice((0, 1, 1, 1, 2, 3))
        if rng.random() < 0.8:
            args = (key, 10, 30, cost)
            got, expected = backend.rate_limit(*args), reference.rate_limit(*args)
            if got.allowed and cost:
                admitted.append((backend.clock.now, key, cost))
        else:
            args = (key, 12, 50, cost, T0 + 5)
            got, expected = backend.quota(*args), reference.quota(*args)
        assert got == expected, f"call {i}: {args}"
    for now, key, _ in admitted:
        in_window = sum(c for t, k, c in admitted if k == key and now - 30 <= t <= now)
        assert in_window <= 10
    table.close()


def test_refuses_nonsense_arguments(backend):
    with pytest.raises(ValueError):
        backend.rate_limit("bad", 10, 60, -1)
    with pytest.raises(ValueError):
        backend.rate_limit("bad", 10, 0)
    with pytest.raises(ValueError):
        backend.quota("bad", 10, -5)


# ---------------------------------------------------------------- cache

def test_cache_get_set_delete(backend):
    assert backend.cache_get("page") is None
    backend.cache_set("page", b"first", 60)
    assert backend.cache_get("page") == b"first"
    backend.cache_set("page", b"\x00second\xff", 60)
    assert backend.cache_get("page") == b"\x00second\xff"
    backend.cache_delete("page")
    assert backend.cache_get("page") is None
    backend.cache_delete("page")    # deleting what is absent is fine
    backend.cache_set("page", b"third", 60)
    backend.cache_set("page", b"fourth", 0)     # a ttl of 0 removes
    assert backend.cache_get("page") is None
    backend.cache_set("empty", b"", 60)
    assert backend.cache_get("empty") == b""


def test_cache_entries_expire_after_their_ttl(backend):
    """In real time, since Redis expires by its own clock: the clock follows time.time() here."""
    ttl = 0.4
    backend.clock.now = started = time.time()
    backend.cache_set("short", b"v", ttl)
    backend.clock.now = time.time()
    value = backend.cache_get("short")
    if time.time() - started < ttl:
        assert value == b"v"
    while True:
        backend.clock.now = time.time()
        value = backend.cache_get("short")
        answered = time.time()
        if value is None:
            break
        assert answered < started + ttl + 10, "the entry outlived its ttl"
        time.sleep(0.02)
    assert answered >= started + ttl
