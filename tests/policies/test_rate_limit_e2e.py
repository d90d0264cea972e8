"""rate-limit, rate-limit-by-key, quota and quota-by-key through a real gateway (local state)."""
import re

import pytest

KEYS = {"alice": "alice-key-0123456789", "bob": "bob-key-01234567890", "carol": "carol-key-0123456789"}

CONFIG = f"""
apis:
  limited:
    path: limited
    backend: origin
    operations:
      - {{id: a, method: GET, url_template: /a}}
      - {{id: b, method: GET, url_template: /b}}
  bykey:
    path: bykey
    backend: origin
    subscription_required: false
    policies:
      inbound:
        - rate-limit-by-key: {{calls: 2, renewal-period: 60, counter-key: '@(context.request.headers.get("x-user", "anon"))',
                               remaining-calls-header-name: x-remaining, total-calls-header-name: x-total}}
  counted:
    path: counted
    backend: origin
    subscription_required: false
    policies:
      inbound:
        - rate-limit-by-key:
            calls: 2
            renewal-period: 60
            counter-key: '@(context.request.headers.get("x-user", "anon"))'
            increment-condition: '@(context.response.status_code == 200)'
  quotas:
    path: quotas
    backend: origin
    subscription_required: false
    policies:
      inbound:
        - quota-by-key: {{calls: 2, renewal-period: 3600, counter-key: '@(context.request.headers.get("x-user", "anon"))'}}
  lifetime:
    path: lifetime
    backend: origin
    subscription_required: false
    policies:
      inbound:
        - quota-by-key: {{bandwidth: 1, renewal-period: 0, counter-key: all}}
products:
  starter:
    apis: [limited]
    policies:
      inbound:
        - base
        - rate-limit:
            calls: 3
            renewal-period: 60
            api: [{{name: limited, calls: 10, renewal-period: 60, operation: [{{id: b, calls: 1, renewal-period: 60}}]}}]
  gold:
    apis: [limited]
    policies:
      inbound:
        - base
        - quota: {{calls: 2, renewal-period: 3600}}
subscriptions:
  alice: {{scope: product:starter, primary_key: {KEYS["alice"]}}}
  bob: {{scope: product:starter, primary_key: {KEYS["bob"]}}}
  carol: {{scope: product:gold, primary_key: {KEYS["carol"]}}}
"""


@pytest.fixture(scope="module")
def gw(serve):
    return serve(CONFIG)


def key(name: str) -> dict:
    return {"Ocp-Apim-Subscription-Key": KEYS[name]}


def test_rate_limit_counts_per_subscription_with_apim_text_and_headers(gw):
    assert [gw.get("/limited/a", headers=key("alice")).status for _ in range(3)] == [200, 200, 200]
    denied = gw.get("/limited/a", headers=key("alice"))
    assert denied.status == 429
    seconds = int(denied.headers["retry-after"])
    assert 1 <= seconds <= 64
    assert denied.json() == {"statusCode": 429, "message": f"Rate limit is exceeded. Try again in {seconds} seconds."}
    assert re.fullmatch(r'"rate-limit";r=0;t=\d+', denied.headers["ratelimit"])
    assert denied.headers["ratelimit-policy"] == '"rate-limit";q=3;w=60'
    assert gw.get("/limited/a", headers=key("bob")).status == 200   # bob has his own counter


def test_operation_limit_inside_the_product_limit(gw):
    assert gw.get("/limited/b", headers=key("bob")).status == 200
    assert gw.get("/limited/b", headers=key("bob")).status == 429


def test_rate_limit_by_key_counts_per_key_value(gw):
    first = gw.get("/bykey/x", headers={"x-user": "u1"})
    assert first.status == 200
    assert (first.headers["x-remaining"], first.headers["x-total"]) == ("1", "2")
    assert gw.get("/bykey/x", headers={"x-user": "u1"}).status == 200
    assert gw.get("/bykey/x", headers={"x-user": "u1"}).status == 429
    assert gw.get("/bykey/x", headers={"x-user": "u2"}).status == 200


def test_increment_condition_counts_only_matching_responses(gw):
    for _ in range(3):  # 404s from the origin are not counted
        assert gw.get("/counted/status?code=404", headers={"x-user": "c1"}).status == 404
    assert gw.get("/counted/x", headers={"x-user": "c1"}).status == 200
    assert gw.get("/counted/x", headers={"x-user": "c1"}).status == 200
    assert gw.get("/counted/x", headers={"x-user": "c1"}).status == 429


def test_quota_by_key_answers_403_with_the_replenish_time(gw):
    assert [gw.get("/quotas/x", headers={"x-user": "q1"}).status for _ in range(2)] == [200, 200]
    spent = gw.get("/quotas/x", headers={"x-user": "q1"})
    assert spent.status == 403
    match = re.fullmatch(r"Out of call volume quota\. Quota will be replenished in (\d\d):(\d\d):(\d\d)\.",
                         spent.json()["message"])
    assert match, spent.json()
    h, m, s = map(int, match.groups())
    assert h * 3600 + m * 60 + s == int(spent.headers["retry-after"]) <= 3600


def test_quota_per_subscription_in_a_product(gw):
    assert [gw.get("/limited/a", headers=key("carol")).status for _ in range(2)] == [200, 200]
    assert gw.get("/limited/a", headers=key("carol")).status == 403


def test_lifetime_bandwidth_quota(gw):
    assert gw.get("/lifetime/big?n=2048").status == 200       # 2 KB moved: over the 1 KB quota
    spent = gw.get("/lifetime/x")
    assert spent.status == 403
    assert spent.json()["message"] == "Out of bandwidth quota."
    assert "retry-after" not in spent.headers


def test_exact_across_two_workers(serve):
    """Many connections spread over both workers: exactly `calls` are admitted in the window."""
    import concurrent.futures
    client = serve("""
        apis:
          exact:
            path: exact
            backend: origin
            subscription_required: false
            policies:
              inbound:
                - rate-limit-by-key: {calls: 25, renewal-period: 300, counter-key: shared}
        """, name="two", workers=2)
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        statuses = list(pool.map(lambda _: client.get("/exact/x").status, range(80)))
    pids = client.gateway.pids()
    assert len(pids) == 3, "a supervisor and two workers"
    assert statuses.count(200) == 25 and statuses.count(429) == 55
