"""Backend pools end to end: weights, priority groups, breakers, health checks, the retry on another member."""
import collections
import http.client
import json
import threading
import time

import pytest
import yaml
from harness import GatewayProcess, free_port, wait_for
from members import Member

UNAVAILABLE = {"statusCode": 503, "message": "Backend service unavailable"}


@pytest.fixture
def members():
    made = []

    def make(*names):
        new = [Member(name) for name in names]
        made.extend(new)
        return new if len(new) > 1 else new[0]
    yield make
    for member in made:
        member.kill()


@pytest.fixture
def gateway(tmp_path):
    started = []

    def start(backend: dict, workers: int = 1) -> GatewayProcess:
        port = free_port()
        config = {
            "gateway": {"listen": f"127.0.0.1:{port}", "workers": workers, "access_log": "off"},
            "backends": {"pool": {"timeout": "3s", "connect_timeout": "1s", **backend}},
            "apis": {"p": {"path": "p", "backend": "pool", "subscription_required": False}},
        }
        gw = GatewayProcess(tmp_path, yaml.safe_dump(config), port, name=f"gw{len(started)}")
        started.append(gw)
        return gw
    yield start
    for gw in started:
        gw.kill()


def pool(*entries, **settings) -> dict:
    """A backend with members [(Member, weight, priority), ...] and settings."""
    return {"members": [{"url": m.url, "weight": w, "priority": p} for m, w, p in entries], **settings}


class Client:
    """Keep-alive requests to a gateway (a new connection after a failure): (status, member, headers)."""

    def __init__(self, port: int):
        self.port = port
        self.conn = None

    def get(self, path: str = "/p/x"):
        for attempt in range(2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
            try:
                self.conn.request("GET", path)
                resp = self.conn.getresponse()
                body = resp.read()
            except (OSError, http.client.HTTPException):
                self.conn.close()
                self.conn = None
                if attempt:
                    raise
                continue
            if resp.getheader("connection", "").lower() == "close":
                self.conn.close()
                self.conn = None
            data = json.loads(body) if body else {}
            return resp.status, data.get("member"), {k.lower(): v for k, v in resp.getheaders()}, data

    def members(self, count: int) -> collections.Counter:
        """Who answered `count` requests, every one of which must be a 200."""
        seen = collections.Counter()
        for _ in range(count):
            status, member, _, data = self.get()
            assert status == 200, (status, data)
            seen[member] += 1
        return seen


def eventually(predicate, timeout: float = 10.0, interval: float = 0.05):
    return wait_for(predicate, timeout, interval)


def test_weights_hold_within_five_percent(members, gateway):
    a, b, c = members("a", "b", "c")
    gw = gateway(pool((a, 3, 1), (b, 1, 1), (c, 1, 2)))
    seen = Client(gw.port).members(2000)
    assert abs(seen["a"] - 1500) <= 75 and abs(seen["b"] - 500) <= 25, seen
    assert seen["c"] == 0, "the priority 2 group got traffic while priority 1 was healthy"


def test_least_requests_weights_apply(members, gateway):
    a, b = members("a", "b")
    gw = gateway(pool((a, 1, 1), (b, 3, 1), load_balancing="least-requests"))
    seen = Client(gw.port).members(400)   # one at a time: always a tie, broken by weighted round-robin
    assert abs(seen["b"] - 300) <= 15, seen


def test_priority_failover_when_the_high_group_dies(members, gateway):
    a, b, c = members("a", "b", "c")
    breaker = {"failure_condition": {"count": 1, "interval": "10s"}, "trip_duration": "1s"}
    gw = gateway(pool((a, 1, 1), (b, 1, 1), (c, 1, 2), circuit_breaker=breaker))
    client = Client(gw.port)
    assert set(client.members(20)) == {"a", "b"}
    a.kill()
    b.kill()
    # the first request may meet both dead members (one try and one retry); then the breakers are open
    eventually(lambda: client.get()[1] == "c", timeout=5)
    assert client.members(30) == {"c": 30}
    a.revive()
    b.revive()
    # the breakers close after trip_duration and the high group takes the traffic back
    assert eventually(lambda: client.get()[1] in ("a", "b"), timeout=5)
    assert set(client.members(20)) <= {"a", "b"}


def test_breaker_trips_503_with_retry_after_and_recovers(members, gateway):
    a = members("a")
    a.status = 500
    breaker = {"failure_condition": {"count": 3, "interval": "10s", "status_code_ranges": ["500-599"]},
               "trip_duration": "1s"}
    gw = gateway({"url": a.url, "circuit_breaker": breaker})
    client = Client(gw.port)
    assert [client.get()[0] for _ in range(3)] == [500, 500, 500]   # failures reach the client until it trips
    status, _, headers, body = client.get()
    assert (status, body) == (503, UNAVAILABLE)
    assert headers["retry-after"] == "1"
    assert a.hits == 3, "a request went to a tripped member"
    a.status = 200
    assert eventually(lambda: client.get()[0] == 200, timeout=5), "the breaker never closed again"
    assert client.members(5) == {"a": 5}


def test_breaker_accepts_retry_after(members, gateway):
    a, b = members("a", "b")
    a.status = 503    # answers Retry-After: 1
    breaker = {"failure_condition": {"count": 1, "interval": "10s", "status_code_ranges": ["503"]},
               "trip_duration": "60s", "accept_retry_after": True}
    gw = gateway(pool((a, 1, 1), (b, 1, 1), circuit_breaker=breaker))
    client = Client(gw.port)
    statuses = [client.get()[:2] for _ in range(4)]
    assert statuses.count((503, "a")) == 1 and statuses.count((200, "b")) == 3, statuses
    a.status = 200
    # tripped for the 1 s the member asked for, not the configured 60 s
    assert eventually(lambda: "a" in client.members(2), timeout=5)


def test_all_members_out_is_503(members, gateway):
    a, b = members("a", "b")
    a.kill()
    b.kill()
    breaker = {"failure_condition": {"count": 1, "interval": "10s"}, "trip_duration": "5s"}
    gw = gateway(pool((a, 1, 1), (b, 1, 1), circuit_breaker=breaker))
    client = Client(gw.port)
    assert client.get()[0] == 502         # both tried (once, and once more on the other member)
    status, _, headers, body = client.get()
    assert (status, body) == (503, UNAVAILABLE)
    assert 1 <= int(headers["retry-after"]) <= 5


def test_health_check_marks_a_dead_member_and_brings_it_back(members, gateway):
    a, b = members("a", "b")
    check = {"path": "/healthz", "interval": "100ms", "timeout": "100ms", "healthy_threshold": 1,
             "unhealthy_threshold": 1}
    gw = gateway(pool((a, 1, 1), (b, 1, 1), health_check=check), workers=2)
    assert eventually(lambda: b.health_hits >= 2), "the health checker never asked"
    b.health = 503
    fresh = lambda: Client(gw.port).members(10)  # new connections, so both workers are asked  # noqa: E731
    assert eventually(lambda: fresh() == {"a": 10}), "the unhealthy member still got traffic"
    b.reset_counts()
    assert Client(gw.port).members(40) == {"a": 40} and b.hits == 0
    # one checker for the host, not one per worker: ~10 checks a second
    b.reset_counts()
    time.sleep(1.0)
    assert b.health_hits <= 15, f"{b.health_hits} checks in a second from 2 workers"
    b.health = 200
    assert eventually(lambda: "b" in fresh()), "the member never came back"


def test_dead_member_gives_clients_no_5xx(members, gateway):
    a, b = members("a", "b")
    gw = gateway(pool((a, 1, 1), (b, 1, 1)))
    answers = []
    done = threading.Event()

    def load():
        client = Client(gw.port)
        while not done.is_set() and len(answers) < 3000:
            answers.append(client.get()[:2])

    threads = [threading.Thread(target=load) for _ in range(3)]
    for thread in threads:
        thread.start()
    eventually(lambda: len(answers) >= 150)
    a.kill()                                   # dies under load: requests in flight on it are retried on b
    eventually(lambda: len(answers) >= 600)
    done.set()
    for thread in threads:
        thread.join(10)
    assert all(status == 200 for status, _ in answers), collections.Counter(answers)
    after = answers[-100:]
    assert all(member == "b" for _, member in after), collections.Counter(after)
