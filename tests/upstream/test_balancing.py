"""Member choice without sockets: smooth weighted round-robin, priority groups, breakers, the retry's head."""
import pytest

from gwcore.config.plan import _backend, _member
from gwcore.config.schema import Backend, CircuitBreaker
from gwcore.tls.certificate import dn_key
from gwcore.upstream.balancing import retarget
from gwcore.upstream.pool import Upstreams


class Clock:
    """The loop's time() the pools read; the tests move it."""

    def __init__(self):
        self.now = 100.0

    def time(self):
        return self.now


def backend_set(members, **settings):
    clock = Clock()
    plan = _backend("b", Backend(members=members, **settings))
    upstreams = Upstreams(clock)

    class Plan:
        backends = {"b": plan}
    upstreams.use_plan(Plan)
    return upstreams.backend_set("b"), clock


def test_smooth_weighted_round_robin_spreads_the_heavy_member():
    chosen, _ = backend_set([{"url": "http://a", "weight": 3}, {"url": "http://b", "weight": 1}])
    order = "".join(chosen.choose().member.host for _ in range(8))
    assert order == "aabaaaba"   # nginx's smooth order: 3:1 in every run of four requests


def test_priority_two_only_when_priority_one_is_out():
    breaker = {"failure_condition": {"count": 1}, "trip_duration": "10s"}
    chosen, clock = backend_set([{"url": "http://a"}, {"url": "http://c", "priority": 2}],
                                circuit_breaker=CircuitBreaker.model_validate(breaker))
    a = chosen.choose()
    assert a.member.host == "a"
    a.failed("connection")
    assert chosen.choose().member.host == "c"
    assert chosen.retry_after() == 10
    clock.now += 10
    assert chosen.choose().member.host == "a"


def test_every_member_out():
    breaker = {"failure_condition": {"count": 2, "interval": "1s"}, "trip_duration": "3s"}
    chosen, clock = backend_set([{"url": "http://a"}], circuit_breaker=CircuitBreaker.model_validate(breaker))
    pool = chosen.choose()
    pool.failed("connection")
    clock.now += 2           # outside the interval: the first failure no longer counts with the next
    pool.failed("timeout")
    assert chosen.choose() is pool
    pool.failed("timeout")
    assert chosen.choose() is None
    error = chosen.unavailable()
    assert (error.status, error.message, error.headers) == (503, "Backend service unavailable",
                                                            ((b"retry-after", b"3"),))


@pytest.mark.parametrize("old, new, target, expected", [
    ("http://a:1/api", "http://b:2/v2", b"/api/items?x=1", b"/v2/items?x=1"),
    ("http://a:1/api", "http://b:2", b"/api/items", b"/items"),
    ("http://a:1", "http://b:2/v2", b"/items", b"/v2/items"),
    ("http://a:1", "http://b:2/v2", b"/", b"/v2"),
    ("http://a:1/api", "http://b:2", b"/api", b"/"),
])
def test_retarget(old, new, target, expected):
    a, b = _member(old, 1, 1), _member(new, 1, 1)
    head = b"GET %s HTTP/1.1\r\naccept: */*\r\nhost: %s\r\nx-forwarded-host: gw\r\n\r\n" % (target, a.host_header)
    moved = retarget(head, a, b)
    assert moved == b"GET %s HTTP/1.1\r\naccept: */*\r\nhost: %s\r\nx-forwarded-host: gw\r\n\r\n" % (
        expected, b.host_header)


def test_distinguished_names_compare_as_apim_users_write_them():
    assert dn_key('C=US, O="Contoso, Inc.", CN=*.contoso.com') == dn_key(r"CN=*.contoso.com,O=Contoso\, Inc.,C=us")
    assert dn_key("CN=a, S=Illinois") == dn_key("ST=illinois,CN=A")
    assert dn_key("CN=a, O=x") != dn_key("CN=a, O=y")
