"""limit-concurrency: key, max-count, gwcore's max-queue, nested steps. End to end: 429 while the place
is taken, the queue, and the place given back after errors and lost clients."""
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import yaml
from dataplane.rawhttp import Conn

from .support import eventually


def test_loads_with_nested_forward_request(policies):
    limit = policies.statement("""
        - limit-concurrency:
            key: '@(context.variables["connection"])'
            max-count: 3
            max-queue: 10
            steps:
              - forward-request: {timeout: 120}
    """, section="backend")
    assert (limit.key, limit.max_count, limit.max_queue) == ('@(context.variables["connection"])', 3, 10)
    (forward,) = limit.steps
    assert (forward.policy_name, forward.timeout) == ("forward-request", 120.0)
    assert limit.children() == (limit.steps,)


def test_queue_defaults_to_zero(policies):
    limit = policies.statement("- limit-concurrency: {key: k, max-count: 1, steps: [{set-variable: {name: a,"
                               " value: 1}}]}")
    assert limit.max_queue == 0


def test_max_count_at_least_one(policies):
    found = policies.error("""
        - limit-concurrency:
            key: k
            max-count: 0  # <-
            steps: [{set-variable: {name: a, value: 1}}]
    """)
    assert (found.line, found.path) == (found.marked_line, f"{policies.at()}.limit-concurrency.max-count")
    assert found.message == "must be at least 1, got 0"


def test_needs_steps(policies):
    found = policies.error("- limit-concurrency: {key: k, max-count: 2, steps: []}  # <-")
    assert (found.line, found.path) == (found.marked_line, f"{policies.at()}.limit-concurrency.steps")
    assert found.message == "limit-concurrency needs at least one statement under steps"


def test_nested_statement_checked_against_the_section(policies):
    found = policies.error("""
        - limit-concurrency:
            key: k
            max-count: 2
            steps:
              - forward-request: {}  # <-
    """)
    assert (found.line, found.path) == (found.marked_line, f"{policies.at()}.limit-concurrency.steps[0]")
    assert found.message == "forward-request may not stand in the inbound section"


# ---- end to end

def limited(path: str, key: str, *steps, section: str = "backend", **attributes) -> dict:
    statement = {"limit-concurrency": {"key": key, "max-count": 1, **attributes,
                                       "steps": list(steps) or [{"forward-request": {}}]}}
    return {"id": path.replace("/", "-"), "method": "GET", "url_template": f"/{path}",
            "policies": {section: [statement]}}


E2E = {"apis": {"lc": {"path": "lc", "backend": "origin", "subscription_required": False, "operations": [
    limited("slow/one", "one"),
    limited("slow/queued", "queued", **{"max-queue": 1}),
    limited("slow/shared-a", "shared"),
    limited("slow/shared-b", "shared"),
    limited("status/fails", "fails", {"forward-request": {"fail-on-error-status-code": True}}),
    limited("slow/timeout", "timeout", {"forward-request": {"timeout": "300ms"}}),
    limited("checked", "checked", {"check-header": {"name": "x-ok", "failed-check-httpcode": 400,
                                                    "failed-check-error-message": "no", "ignore-case": False}},
            section="inbound"),
    limited("answered", "answered", {"return-response": {"set-status": {"code": 202, "reason": "Done"}}},
            section="inbound"),
    limited("slow/lost", "lost", **{"max-queue": 2}),
]}}}
TOO_MANY = {"statusCode": 429, "message": "Too many concurrent requests. Try again later."}


@pytest.fixture(scope="module")
def gw(serve):
    return serve(yaml.safe_dump(E2E))


@pytest.fixture(scope="module")
def pool():
    with ThreadPoolExecutor(4) as executor:
        yield executor


def in_flight(origin, since: int, target: str, count: int = 1) -> None:
    """Wait until the origin has received `count` requests for `target` (they are in flight)."""
    assert eventually(lambda: sum(r["target"] == target for r in origin.records(since)) >= count), target


def test_a_second_request_gets_429_while_one_is_in_flight(gw, origin, pool):
    since = origin.count()
    first = pool.submit(gw.get, "/lc/slow/one?ms=1500")
    in_flight(origin, since, "/api/slow/one?ms=1500")
    answer = gw.get("/lc/slow/one?ms=0")
    assert (answer.status, answer.json()) == (429, TOO_MANY)
    assert first.result(timeout=10).status == 200
    assert gw.get("/lc/slow/one?ms=0").status == 200  # the place is free again


def test_with_a_queue_one_waits_and_passes_and_one_more_is_refused(gw, origin, pool):
    since = origin.count()
    first = pool.submit(gw.get, "/lc/slow/queued?ms=2000")
    in_flight(origin, since, "/api/slow/queued?ms=2000")
    # two more while the first is in flight: one takes the only place in the queue, the other is refused
    waiting = [pool.submit(gw.get, f"/lc/slow/queued?ms=0&n={n}") for n in (1, 2)]
    refused = [f for f in waiting if f.result(timeout=10).status == 429]
    assert len(refused) == 1 and refused[0].result().json() == TOO_MANY
    (queued,) = [f.result() for f in waiting if f not in refused]
    assert first.result(timeout=10).status == 200
    assert queued.status == 200
    targets = [r["target"] for r in origin.records(since)]
    assert len(targets) == 2  # the refused one never reached the backend
    assert targets[0] == "/api/slow/queued?ms=2000"  # the queued one went only after the first


def test_statements_with_one_key_share_the_count(gw, origin, pool):
    since = origin.count()
    first = pool.submit(gw.get, "/lc/slow/shared-a?ms=1500")
    in_flight(origin, since, "/api/slow/shared-a?ms=1500")
    assert gw.get("/lc/slow/shared-b?ms=0").status == 429
    assert first.result(timeout=10).status == 200


def test_the_place_is_released_after_errors(gw):
    for _ in range(2):
        assert gw.get("/lc/status/fails?code=500").status == 500        # on-error from the backend's status
        assert gw.get("/lc/slow/timeout?ms=1000").status == 504        # forward-request timed out
        assert gw.get("/lc/checked").status == 400                     # a nested statement failed
        assert gw.get("/lc/answered").status == 202                    # return-response inside
    assert gw.get("/lc/status/fails?code=200").status == 200
    assert gw.get("/lc/slow/timeout?ms=0").status == 200
    assert gw("GET", "/lc/checked", headers={"x-ok": "1"}).status == 200


def test_the_place_is_released_when_the_client_goes_away(gw, origin):
    since = origin.count()
    holder = Conn(gw.gateway.port)
    holder.send(b"GET /lc/slow/lost?ms=8000 HTTP/1.1\r\nHost: x\r\n\r\n")
    in_flight(origin, since, "/api/slow/lost?ms=8000")
    queued = Conn(gw.gateway.port)
    queued.send(b"GET /lc/slow/lost?ms=8000&queued=1 HTTP/1.1\r\nHost: x\r\n\r\n")
    time.sleep(0.2)  # let it queue; if it has not yet, closing it below is a plain early close
    queued.close()
    holder.close()
    # long before the 8 s request would have ended, the place is free again
    assert eventually(lambda: gw.get("/lc/slow/lost?ms=0").status == 200, timeout=4)
    assert "/api/slow/lost?ms=8000&queued=1" not in [r["target"] for r in origin.records(since)]
