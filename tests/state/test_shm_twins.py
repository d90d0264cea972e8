"""The two shared-table twins give identical replies and write identical bytes for the same operations."""
import os
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gwcore.state._shm_py as py_twin
from gwcore.state.base import NEVER
from state.harness import T0, twin_module

FEW = settings(max_examples=150, deadline=None)


@pytest.fixture(scope="module")
def c_twin():
    return twin_module("c")


def digest(i: int):
    rng = random.Random(i)
    return rng.getrandbits(64), rng.getrandbits(64)


def outcome(function, *args):
    """What a call did, comparable across twins: its result, or the type of its exception."""
    try:
        return "returned", function(*args)
    except Exception as exc:  # both twins must refuse the same arguments
        return "raised", type(exc).__name__


def shared_bytes(table) -> bytes:
    """The file minus what may differ: magic..seed (the seed is random, the lock kind differs)."""
    size = os.fstat(table.fd).st_size
    data = os.pread(table.fd, size, 0)
    return data[48:56] + data[64:]


def test_same_public_api(c_twin):
    assert c_twin.__all__ == py_twin.__all__
    for name in ("SLOT_BYTES", "STRIPE_SLOTS", "RING", "MAX_LIMIT", "NEVER"):
        assert getattr(c_twin, name) == getattr(py_twin, name)
    assert py_twin.NEVER == NEVER
    assert (c_twin.LOCK_KIND, py_twin.LOCK_KIND) == (1, 2)


OPERATION = st.tuples(
    st.sampled_from(["window", "quota", "quota_add"]),
    st.integers(0, 150),                            # key: more keys than a 128-slot table holds
    st.integers(0, 6),                              # limit
    st.sampled_from([0.0, 1.0, 2.5, 60.0, -1.0]),   # period (0 is a lifetime quota, a bad window)
    st.integers(-1, 4),                             # cost (-1 is refused)
    st.sampled_from([0.0, T0 - 40, T0 + 3]),        # quota start
    st.floats(0, 20),                               # seconds to advance before the call
)


@FEW
@given(st.lists(OPERATION, max_size=80))
def test_same_replies_and_bytes(c_twin, operations):
    tables = [py_twin.SharedTable.create(128), c_twin.SharedTable.create(128)]
    try:
        now = T0
        for kind, key, limit, period, cost, start, advance in operations:
            now += advance
            if kind == "window":
                calls = [(t.window, digest(key), limit, period, cost, now) for t in tables]
            elif kind == "quota":
                calls = [(t.quota, digest(key), limit, period, cost, start, now) for t in tables]
            else:
                calls = [(t.quota_add, digest(key), period, cost, start, now) for t in tables]
            py_result, c_result = (outcome(*call) for call in calls)
            assert py_result == c_result
        assert shared_bytes(tables[0]) == shared_bytes(tables[1])
        assert tables[0].stats(now) == tables[1].stats(now)
    finally:
        for table in tables:
            table.close()


def test_same_replies_and_bytes_for_a_long_run_through_a_crowded_table(c_twin):
    """Thousands of calls on one 64-slot stripe: full stripes, expiry and reuse, on both twins."""
    rng = random.Random(11)
    tables = [py_twin.SharedTable.create(64), c_twin.SharedTable.create(64)]
    now = T0
    for _ in range(4000):
        now += rng.random() * 0.5
        key, limit, cost = rng.randrange(120), rng.randrange(8), rng.choice((0, 1, 1, 2))
        if rng.random() < 0.7:
            period = rng.choice((1.0, 5.0, 30.0))
            results = [t.window(digest(key), limit, period, cost, now) for t in tables]
        else:
            period, start = rng.choice((0.0, 10.0, 45.0)), rng.choice((0.0, T0))
            results = [t.quota(digest(key), limit, period, cost, start, now) for t in tables]
        assert results[0] == results[1]
    assert tables[0].full_count == tables[1].full_count > 0
    assert shared_bytes(tables[0]) == shared_bytes(tables[1])
    for table in tables:
        table.close()


def test_sizes_round_up_to_whole_stripes(shm_twin):
    table = shm_twin.SharedTable.create(100)
    assert table.slots == 128
    assert os.get_inheritable(table.fd)
    table.close()


def test_a_full_stripe_fails_open_and_counts(shm_twin):
    table = shm_twin.SharedTable.create(64)    # one stripe
    for i in range(64):
        assert table.window(digest(i), 1, 60.0, 1, T0)[0] == 1
    assert table.window(digest(64), 1, 60.0, 1, T0) == (2, 1, 0, 0, 0)
    assert table.window(digest(64), 1, 60.0, 1, T0)[0] == 2       # still not counted: still admitted
    assert table.quota(digest(65), 1, 60.0, 1, 0.0, T0)[0] == 2
    assert table.full_count == 3
    assert table.window(digest(3), 1, 60.0, 1, T0)[0] == 0        # keys already in keep their counts
    assert table.stats(T0) == {"slots": 64, "used": 64, "live": 64, "full": 3}
    table.close()


def test_expired_entries_make_room(shm_twin):
    table = shm_twin.SharedTable.create(64)
    for i in range(64):
        table.window(digest(i), 1, 60.0, 1, T0)
    later = T0 + 64     # a call at T0 leaves a 60 s window 64 s later
    assert table.stats(later)["live"] == 0
    assert table.window(digest(100), 1, 60.0, 1, later)[0] == 1
    assert table.window(digest(100), 1, 60.0, 1, later)[0] == 0   # counted in a reused slot
    assert table.full_count == 0
    table.close()


def test_peeks_and_refusals_take_no_slot(shm_twin):
    table = shm_twin.SharedTable.create(64)
    table.window(digest(1), 5, 60.0, 0, T0)
    table.window(digest(2), 1, 60.0, 2, T0)
    table.quota(digest(3), 5, 60.0, 0, 0.0, T0)
    assert table.stats(T0)["used"] == 0
    table.close()


def test_attach_sees_the_same_counters(shm_twin):
    table = shm_twin.SharedTable.create(256)
    other = shm_twin.SharedTable.attach(os.dup(table.fd))
    assert (other.slots, other.seed) == (table.slots, table.seed)
    assert table.window(digest(9), 2, 60.0, 2, T0)[0] == 1
    assert other.window(digest(9), 2, 60.0, 1, T0)[0] == 0
    other.close()
    table.close()


def test_a_table_of_the_other_twin_is_refused_by_name(c_twin):
    for maker, user in ((c_twin, py_twin), (py_twin, c_twin)):
        table = maker.SharedTable.create(64)
        with pytest.raises(ValueError, match="GW_NO_EXTENSIONS"):
            user.SharedTable.attach(table.fd)
        table.close()


def test_what_is_not_a_table_is_refused(shm_twin):
    fd = os.memfd_create("not-a-table")
    os.ftruncate(fd, 8192)
    with pytest.raises(ValueError, match="not a version 1 gwcore state table"):
        shm_twin.SharedTable.attach(fd)
    os.close(fd)
