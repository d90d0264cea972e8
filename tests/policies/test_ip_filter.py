"""ip-filter: addresses and ranges, IPv4 and IPv6, checked at load; end to end allow and forbid."""
import pytest
import yaml



def test_loads_ipv4_and_ipv6(policies):
    ip_filter = policies.statement("""
        - ip-filter:
            action: allow
            address: [13.66.201.169, '2001:db8::1']
            address-range:
              - {from: 13.66.140.128, to: 13.66.140.143}
              - {from: '2001:db8::', to: '2001:db8::ffff'}
    """)
    assert ip_filter.action == "allow"
    assert ip_filter.address == ("13.66.201.169", "2001:db8::1")
    assert [(r.from_, r.to) for r in ip_filter.address_range] == [
        ("13.66.140.128", "13.66.140.143"), ("2001:db8::", "2001:db8::ffff")]


def test_single_address_and_normalised_ipv6(policies):
    ip_filter = policies.statement("- ip-filter: {action: forbid, address: '2001:DB8:0::1'}")
    assert ip_filter.address == ("2001:db8::1",)


def test_needs_an_address(policies):
    found = policies.error("- ip-filter: {action: allow}  # <-")
    assert (found.line, found.path) == (found.marked_line, f"{policies.at()}.ip-filter")
    assert found.message == "ip-filter needs at least one address or address-range"


def test_cidr_gets_a_hint(policies):
    found = policies.error("""
        - ip-filter:
            action: allow
            address:
              - 10.0.0.0/8  # <-
    """)
    assert (found.line, found.path) == (found.marked_line, f"{policies.at()}.ip-filter.address[0]")
    assert found.message == "'10.0.0.0/8' is not an IPv4 or IPv6 address; write a range with address-range: {from, to}"


@pytest.mark.parametrize("start, end, message", [
    ("10.0.0.9", "10.0.0.1", "from 10.0.0.9 comes after to 10.0.0.1; swap them"),
    ("10.0.0.1", "'::1'", "from 10.0.0.1 and to ::1 must both be IPv4 or both be IPv6"),
])
def test_bad_ranges(policies, start, end, message):
    found = policies.error(f"""
        - ip-filter:
            action: allow
            address-range:
              - {{from: {start}, to: {end}}}  # <-
    """)
    assert (found.line, found.path) == (found.marked_line, f"{policies.at()}.ip-filter.address-range[0]")
    assert found.message == message


def test_bad_range_address(policies):
    found = policies.error("""
        - ip-filter:
            action: allow
            address-range:
              - from: 10.0.0.300  # <-
                to: 10.0.1.1
    """)
    assert (found.line, found.path) == (found.marked_line, f"{policies.at()}.ip-filter.address-range[0].from")
    assert found.message == "'10.0.0.300' is not an IPv4 or IPv6 address"


def test_action_enum(policies):
    found = policies.error("- ip-filter: {action: deny, address: 1.2.3.4}  # <-")
    assert found.path == f"{policies.at()}.ip-filter.action"
    assert found.message == "Input should be 'allow' or 'forbid'"


# ---- end to end (the tests call from 127.0.0.1)

def filtered(path: str, action: str, **listed) -> dict:
    return {"id": path, "method": "GET", "url_template": f"/{path}",
            "policies": {"inbound": [{"ip-filter": {"action": action, **listed}}]}}


LAST_ERROR = [{"set-header": {"name": f"x-{field}", "value": f"@(context.last_error.{field})"}}
              for field in ("source", "reason", "message", "section")]
E2E = {"apis": {"ip": {"path": "ip", "backend": "origin", "subscription_required": False, "operations": [
    filtered("allow-me", "allow", address="127.0.0.1"),
    filtered("allow-other", "allow", address=["10.0.0.1", "::1"]),
    filtered("forbid-me", "forbid", address="127.0.0.1"),
    filtered("forbid-other", "forbid", address="10.0.0.1"),
    filtered("allow-range", "allow", **{"address-range": [{"from": "127.0.0.0", "to": "127.0.0.255"}]}),
    filtered("allow-edge", "allow", **{"address-range": [{"from": "127.0.0.1", "to": "127.0.0.1"}]}),
    filtered("allow-outside", "allow", **{"address-range": [{"from": "127.0.0.2", "to": "127.255.255.255"},
                                                            {"from": "::", "to": "::ffff"}]}),
    filtered("forbid-range", "forbid", address="192.0.2.1",
             **{"address-range": [{"from": "126.255.255.255", "to": "127.0.0.1"}]}),
]}}, "policies": {"on-error": [{"set-header": {"name": "x-on-error", "value": "ran"}},
                                  *LAST_ERROR]}}
REFUSED = {"statusCode": 403, "message": "Caller IP address 127.0.0.1 is not allowed. Access denied."}


@pytest.fixture(scope="module")
def gw(serve):
    return serve(yaml.safe_dump(E2E))


@pytest.mark.parametrize("path", ["allow-me", "forbid-other", "allow-range", "allow-edge"])
def test_passes(gw, path):
    answer = gw.get(f"/ip/{path}")
    assert answer.status == 200
    assert answer.json()["target"] == f"/api/{path}"


@pytest.mark.parametrize("path", ["allow-other", "forbid-me", "allow-outside", "forbid-range"])
def test_refused_with_apims_text(gw, origin, path):
    before = origin.count()
    answer = gw.get(f"/ip/{path}")
    assert (answer.status, answer.json()) == (403, REFUSED)
    assert answer.headers["x-on-error"] == "ran"
    assert origin.count() == before


def test_forwarded_for_does_not_change_the_caller(gw):
    answer = gw("GET", "/ip/allow-other", headers={"x-forwarded-for": "10.0.0.1", "x-real-ip": "10.0.0.1"})
    assert (answer.status, answer.json()) == (403, REFUSED)
    assert gw("GET", "/ip/forbid-me", headers={"x-forwarded-for": "10.0.0.1"}).status == 403


def test_last_error_in_on_error(gw):
    answer = gw.get("/ip/forbid-me")
    assert (answer.headers["x-source"], answer.headers["x-reason"]) == ("ip-filter", "CallerIpNotAllowed")
    assert answer.headers["x-message"] == REFUSED["message"]
    assert answer.headers["x-section"] == "inbound"
