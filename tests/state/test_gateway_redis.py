"""Redis state through real gateways: exact limits across gateways and workers, outages, recovery, cache privacy."""
import concurrent.futures
import http.client
import json
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml
from openapi_schema_validator import OAS30Validator

from conftest import RedisServer, free_port, redis_command
from harness import HEALTH, GatewayProcess

pytestmark = pytest.mark.redis

LIMIT = 30
# Every Redis call's deadline here (the state URL's ?deadline=): a little above the default 100 ms,
# so a worker starved of CPU on a busy machine does not fall back to local counters mid-test.
DEADLINE = 0.25
# On top of the deadline: the request's own trip through a gateway on a loaded two-core machine.
# Still far below the seconds a call waiting on a paused Redis would take.
MARGIN = 0.6
ALICE, BOB = "alice-key-0123456789abcdef", "bob-key-0123456789abcdef00"
KEY = '\'@(context.request.headers.get("x-key", "none"))\''

CONFIG = """\
gateway:
  listen: "127.0.0.1:{port}"
  workers: 2
  access_log: "off"
  state: "{state}"
  on_state_failure: {on_failure}
backends:
  origin: {{url: "http://127.0.0.1:{origin}/api", timeout: 5s}}
apis:
  limited:
    path: limited
    backend: origin
    subscription_required: false
    policies:
      inbound:
        - rate-limit-by-key: {{calls: {limit}, renewal-period: 300, counter-key: {key}}}
  quota:
    path: quota
    backend: origin
    subscription_required: false
    policies:
      inbound:
        - quota-by-key: {{calls: {limit}, renewal-period: 3600, counter-key: {key}, first-period-start: "{start}"}}
  busy:
    path: busy
    backend: origin
    subscription_required: false
    policies:
      inbound:
        - rate-limit-by-key: {{calls: 1000000000, renewal-period: 300, counter-key: busy}}
        - quota-by-key: {{calls: 1000000000, renewal-period: 3600, counter-key: busy}}
  open:
    path: open
    backend: origin
    subscription_required: false
  mine:
    path: mine
    backend: origin
    subscription_required: true
    policies:
      inbound:
        - cache-lookup: {{vary-by-developer: true, vary-by-developer-groups: false, caching-type: external}}
      outbound:
        - cache-store: {{duration: 60}}
  shared:
    path: shared
    backend: origin
    subscription_required: false
    policies:
      inbound:
        - cache-lookup: {{vary-by-developer: false, vary-by-developer-groups: false, caching-type: external}}
      outbound:
        - cache-store: {{duration: 60}}
subscriptions:
  alice: {{scope: "api:mine", primary_key: {alice}}}
  bob: {{scope: "api:mine", primary_key: {bob}}}
"""


# The quotas' first window starts now, so no window boundary falls inside the tests. One instant
# for every gateway: the window's start is part of what names its counter.
QUOTA_START = (datetime.now(timezone.utc) - timedelta(seconds=5)).strftime("%Y-%m-%dT%H:%M:%SZ")


def start_gateway(directory, name: str, state: str, origin, on_failure: str = "open") -> GatewayProcess:
    port = free_port()
    text = CONFIG.format(port=port, state=f"{state}?deadline={DEADLINE}", on_failure=on_failure,
                         origin=origin.port, limit=LIMIT, key=KEY, start=QUOTA_START, alice=ALICE, bob=BOB)
    directory.mkdir(parents=True, exist_ok=True)
    return GatewayProcess(directory, text, port, name)


def call(port: int, path: str, headers=None, timeout: float = 10.0):
    """(status, body bytes, seconds the call took) over a new connection."""
    started = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.read(), time.monotonic() - started
    finally:
        conn.close()


def statuses(ports, path: str, key: str, count: int = 4 * LIMIT) -> list:
    """`count` calls for one key at once (24 threads), spread over the gateways on `ports`."""
    with concurrent.futures.ThreadPoolExecutor(24) as pool:
        return list(pool.map(lambda i: call(ports[i % len(ports)], path, {"x-key": key})[0], range(count)))


def health_schema():
    """A validator for APIM's HealthStatus (the repository's copy of the reference document)."""
    document = yaml.safe_load((Path(__file__).resolve().parents[2] / "docs" / "reference"
                               / "apim-self-hosted-gateway-openapi.yaml").read_text())
    schema = dict(document["components"]["schemas"]["HealthStatus"], required=["status", "timestamp"])
    return OAS30Validator(schema, format_checker=OAS30Validator.FORMAT_CHECKER)


def workers_of(gateway) -> set:
    pids = set(gateway.pids()) - {gateway.pid}
    assert len(pids) == 2, "each gateway runs two workers"
    return pids


def state_of_each_worker(gateways, wanted, timeout: float = 15.0) -> dict:
    """{worker pid: its /internal/status stateBackend} once `wanted(state)` holds for every worker
    of every gateway (new connections land on either worker, so ask until each has answered)."""
    pending = {pid: gw for gw in gateways for pid in workers_of(gw)}
    seen = {}
    deadline = time.monotonic() + timeout
    while pending:
        for pid, gw in list(pending.items()):
            status, body, _ = call(gw.port, "/internal/status", timeout=2.0)
            assert status == 200, body
            data = json.loads(body)
            if data["worker"] in pending and wanted(data["stateBackend"]):
                seen[data["worker"]] = data["stateBackend"]
                del pending[data["worker"]]
        assert time.monotonic() < deadline, f"workers {sorted(pending)} never reported {wanted.__doc__}: {seen}"
        time.sleep(0.02)
    return seen


def connected(state) -> bool:
    """connected"""
    return state["kind"] == "redis" and state["connected"] is True


def disconnected(state) -> bool:
    """disconnected"""
    return state["kind"] == "redis" and state["connected"] is False


class Load:
    """Clients calling the busy API (always admitted) on every gateway until stopped; records every answer."""

    def __init__(self, ports, threads: int = 8):
        self.answers = []       # (status, seconds)
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(ports[i % len(ports)],)) for i in range(threads)]
        for thread in self._threads:
            thread.start()

    def _run(self, port: int) -> None:
        while not self._stop.is_set():
            status, _, seconds = call(port, "/busy/x")
            self.answers.append((status, seconds))

    def stop(self) -> list:
        self._stop.set()
        for thread in self._threads:
            thread.join()
        return self.answers


@pytest.fixture(scope="module")
def redis(tmp_path_factory):
    server = RedisServer(tmp_path_factory.mktemp("gateway-redis")).start()
    yield server
    server.kill()


@pytest.fixture(scope="module")
def pair(redis, origin, tmp_path_factory):
    """Two gateways of two workers each on the one redis-server, failing open."""
    base = tmp_path_factory.mktemp("gateway-pair")
    gateways = [start_gateway(base / name, name, redis.url, origin) for name in ("gw-a", "gw-b")]
    yield gateways
    for gw in gateways:
        gw.kill()


@pytest.fixture
def healthy(pair, redis):
    """The pair with its Redis running and every worker connected, whatever the test before did."""
    if redis.process is None:
        redis.start()
    state_of_each_worker(pair, connected)
    return pair


def test_two_gateways_admit_exactly_the_limit_between_them(healthy, redis):
    ports = [gw.port for gw in healthy]
    key = uuid.uuid4().hex
    answers = statuses(ports, "/limited/x", key)
    assert (answers.count(200), answers.count(429)) == (LIMIT, 3 * LIMIT), answers
    answers = statuses(ports, "/quota/x", key)
    assert (answers.count(200), answers.count(403)) == (LIMIT, 3 * LIMIT), answers
    assert redis_command(redis.port, "EXISTS", f"gw:v1:{{rlk:{key}}}:w:300.0") == 1
    state_of_each_worker(healthy, connected)   # nothing was answered from a fallback on the way


def test_killed_redis_serves_on_local_counters_says_so_and_comes_back(healthy, redis):
    ports = [gw.port for gw in healthy]
    logged = [gw.stderr_text().count("unreachable") for gw in healthy]
    load = Load(ports)
    time.sleep(0.4)
    killed_at = datetime.now(timezone.utc)
    redis.kill()
    time.sleep(0.8)
    answers = load.stop()
    assert answers and {status for status, _ in answers} == {200}, "no 5xx, nothing refused: failing open"

    states = state_of_each_worker(healthy, disconnected)
    for state in states.values():
        since = datetime.strptime(state["since"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
        assert killed_at - timedelta(seconds=1) <= since <= datetime.now(timezone.utc)
        assert state["reason"] and state["on_failure"] == "open"
    for gw in healthy:   # ready still, so a load balancer keeps every gateway; the reason is in the body
        for _ in range(4):
            status, body, _ = call(gw.port, HEALTH)
            data = json.loads(body)
            assert status == 200 and data["status"] == "Healthy", data
            health_schema().validate(data)     # APIM's HealthStatus allows the extra property
            assert len(data["reasons"]) == 1 and "unreachable" in data["reasons"][0], data
            assert "serving on local counters" in data["reasons"][0]
    for gw, before in zip(healthy, logged):   # one line when each worker lost Redis
        assert gw.stderr_text().count("unreachable") >= before + 2, gw.stderr_text()

    # meanwhile each host counts on its own table: exact across its workers
    key = uuid.uuid4().hex
    for gw in healthy:
        answers = statuses([gw.port], "/limited/x", key, count=2 * LIMIT)
        assert answers.count(200) == LIMIT and answers.count(429) == LIMIT, answers

    redis.start()   # the same port
    back = time.monotonic()
    state_of_each_worker(healthy, connected, timeout=10.0)
    assert time.monotonic() - back < 5.0, "every worker reconnects within a few seconds"
    for gw in healthy:
        assert gw.stderr_text().count("connected again") >= 2
        assert "reasons" not in json.loads(call(gw.port, HEALTH)[1])
    key = uuid.uuid4().hex   # and counts in Redis again: exact across both gateways
    answers = statuses(ports, "/limited/x", key)
    assert (answers.count(200), answers.count(429)) == (LIMIT, 3 * LIMIT), answers
    assert redis_command(redis.port, "EXISTS", f"gw:v1:{{rlk:{key}}}:w:300.0") == 1


def test_a_paused_redis_costs_no_call_more_than_the_deadline(healthy, redis):
    ports = [gw.port for gw in healthy]
    load = Load(ports)
    time.sleep(0.3)
    redis.pause()   # SIGSTOP: connections stay open and nothing answers
    try:
        time.sleep(2.0)
        answers = load.stop()
        states = state_of_each_worker(healthy, disconnected)
    finally:
        redis.resume()
    assert answers and {status for status, _ in answers} == {200}
    slowest = max(seconds for _, seconds in answers)
    assert slowest < DEADLINE + MARGIN, f"a call waited {slowest:.3f} s"
    assert all(state["reason"] for state in states.values()), states   # the latest failed reconnect, by now
    # what each transition said: the deadline passed
    assert all(f"no reply within {DEADLINE * 1000:.0f} ms" in gw.stderr_text() for gw in healthy)
    state_of_each_worker(healthy, connected, timeout=10.0)


def test_cached_answers_stay_with_their_developer_across_gateways(healthy, redis, origin):
    a, b = (gw.port for gw in healthy)
    path = f"/mine/{uuid.uuid4().hex}"
    status, alice_first, _ = call(a, path, {"ocp-apim-subscription-key": ALICE, "x-who": "alice"})
    assert status == 200
    before = origin.count()
    status, alice_again, _ = call(b, path, {"ocp-apim-subscription-key": ALICE, "x-who": "alice"})
    assert (status, alice_again) == (200, alice_first), "the other gateway answers from the shared cache"
    assert origin.count() == before
    status, bobs, _ = call(b, path, {"ocp-apim-subscription-key": BOB, "x-who": "bob"})
    assert status == 200 and origin.count() == before + 1, "bob never gets alice's entry"
    assert dict(json.loads(bobs)["headers"]).get("x-who") == "bob"

    # a request carrying Authorization is neither looked up nor stored, on any gateway
    path = f"/shared/{uuid.uuid4().hex}"
    before = origin.count()
    call(a, path, {"authorization": "Bearer alice-token"})
    status, body, _ = call(b, path, {"authorization": "Bearer mallory-token"})
    assert status == 200 and origin.count() == before + 2
    # nor is an answer the origin marks private, when entries are not kept per developer
    path = f"/shared/status?code=200&h-Cache-Control=private&n={uuid.uuid4().hex}"
    call(a, path)
    call(b, path)
    assert origin.count() == before + 4

    # what the gateways share in Redis never holds a subscription key or a token
    names = redis_command(redis.port, "KEYS", "gw:v1:{resp:*")
    assert names, "the response cache is in Redis"
    stored = b"".join(names) + b"".join(redis_command(redis.port, "GET", name) or b"" for name in names)
    for secret in (ALICE, BOB, "alice-token", "mallory-token"):
        assert secret.encode() not in stored


def test_failing_closed_answers_503_and_the_probe_says_why(origin, tmp_path):
    server = RedisServer(tmp_path / "redis").start()
    gw = start_gateway(tmp_path / "closed", "closed", server.url, origin, on_failure="closed")
    try:
        assert call(gw.port, "/limited/x", {"x-key": "k"})[0] == 200
        server.kill()
        state_of_each_worker([gw], disconnected)
        for _ in range(4):
            status, body, seconds = call(gw.port, "/limited/x", {"x-key": "k"})
            assert status == 503 and seconds < DEADLINE + MARGIN
            assert json.loads(body) == {"statusCode": 503, "message": "Service unavailable: the rate-limit and"
                                                                      " quota store cannot be reached."}
            assert call(gw.port, "/quota/x", {"x-key": "k"})[0] == 503
            assert call(gw.port, "/open/x")[0] == 200, "calls without limits are served"
            status, body, _ = call(gw.port, HEALTH)
            data = json.loads(body)
            assert status == 503 and data["status"] == "Unhealthy", data
            assert any("unreachable" in reason for reason in data["reasons"]), data
        server.start()
        state_of_each_worker([gw], connected, timeout=10.0)
        assert call(gw.port, HEALTH)[0] == 200
        assert call(gw.port, "/limited/x", {"x-key": "k"})[0] == 200
    finally:
        gw.kill()
        server.kill()
