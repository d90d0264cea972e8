"""Replacing workers under load: SIGUSR2 one slot at a time, SIGTTIN/SIGTTOU, max_requests and max_rss."""
import re
import signal

from .conftest import Load, wait_for

EVENT = re.compile(r"slot (\d+): worker (\d+) (started|ready|draining)")


def _events(text: str) -> list:
    return [(int(slot), int(pid), what) for slot, pid, what in EVENT.findall(text)]


def test_usr2_replaces_every_worker_one_slot_at_a_time_without_failures(gw2):
    old = set(gw2.ready())
    assert len(old) == 2
    log_start = len(gw2.log())
    with Load(gw2.port, clients=4) as load:
        assert load.wait_ok(50), load.failures
        gw2.signal(signal.SIGUSR2)

        def replaced():
            ready = set(gw2.ready())
            return len(ready) == 2 and not ready & old and not old & gw2.worker_pids()
        assert wait_for(replaced, 40), gw2.log()[log_start:]
        assert load.wait_ok(100), load.failures
    assert load.failures == []
    new = set(gw2.ready())
    assert gw2.pids_answering() == new
    # per slot: the successor is started, is ready (accepting), and only then does the old
    # one drain; the next slot's successor starts after that
    events = _events(gw2.log()[log_start:])
    assert [what for _, _, what in events] == ["started", "ready", "draining"] * 2, events
    for first in (0, 3):
        (slot, successor, _), (slot2, ready, _), (slot3, drained, _) = events[first:first + 3]
        assert slot == slot2 == slot3
        assert successor == ready and successor in new
        assert drained in old
    assert events[0][0] != events[3][0]


def test_ttin_and_ttou_change_the_worker_count(gw2):
    with Load(gw2.port, clients=4) as load:
        assert load.wait_ok(20), load.failures
        gw2.signal(signal.SIGTTIN)
        assert wait_for(lambda: len(gw2.ready()) == 3, 20), gw2.state()
        assert len(gw2.pids_answering(80)) == 3
        assert load.wait_ok(50), load.failures
        gw2.signal(signal.SIGTTOU)
        assert wait_for(lambda: len(gw2.ready()) == 2 and len(gw2.worker_pids()) == 2, 20), gw2.state()
        assert load.wait_ok(50), load.failures
    assert load.failures == []
    assert gw2.pids_answering() == set(gw2.ready())
    assert re.search(r"slot \d+: worker \d+ draining \(slot retired\)", gw2.log())
    assert "Traceback" not in gw2.log()


def _recycles(gw, reason: str, count: int = 3):
    """Keep clients busy until `count` different workers have served; no request may fail."""
    pids = set()
    with Load(gw.port, clients=2) as load:
        assert wait_for(lambda: pids.update(gw.ready()) or len(pids) >= count, 40), gw.log()
        assert load.wait_ok(20), load.failures
    assert load.failures == []
    recycled = {int(pid) for pid in re.findall(r"recycling worker (\d+) \(slot 0\): " + re.escape(reason), gw.log())}
    assert recycled and recycled <= pids, (recycled, pids)


def test_max_requests_recycles_the_worker(start_gateway):
    gw = start_gateway(gateway={"max_requests": 40, "max_requests_jitter": 20})
    _recycles(gw, "max_requests (")
    served = [int(n) for n in re.findall(r"max_requests \((\d+) served\)", gw.log())]
    assert served and all(n >= 40 for n in served)


def test_max_rss_recycles_the_worker(start_gateway):
    gw = start_gateway(gateway={"max_rss": 16 * 2**20})  # the smallest allowed: every worker is above it
    _recycles(gw, "rss ", count=2)
