"""cache-lookup / cache-store and the value cache through a real gateway (per-worker memory)."""
import threading

import pytest

CONFIG = """
apis:
  cached:
    path: cached
    backend: origin
    subscription_required: false
    policies:
      inbound:
        - cache-lookup:
            vary-by-developer: false
            vary-by-developer-groups: false
            downstream-caching-type: public
            vary-by-header: [accept-language]
            vary-by-query-parameter: [page]
      outbound:
        - cache-store: {duration: 60}
  values:
    path: values
    backend: origin
    subscription_required: false
    operations:
      - id: put
        method: POST
        url_template: /put
        policies:
          inbound:
            - cache-store-value: {key: '@("k-" + context.request.headers.get("x-name", ""))', value: '@(context.request.headers.get("x-value", ""))', duration: 60}
            - return-response: {set-status: {code: 204, reason: Stored}}
      - id: get
        method: GET
        url_template: /get
        policies:
          inbound:
            - cache-lookup-value: {key: '@("k-" + context.request.headers.get("x-name", ""))', variable-name: found, default-value: none}
            - return-response: {set-status: {code: 200, reason: OK}, set-body: '@(str(context.variables["found"]))'}
      - id: drop
        method: DELETE
        url_template: /drop
        policies:
          inbound:
            - cache-remove-value: {key: '@("k-" + context.request.headers.get("x-name", ""))'}
            - return-response: {set-status: {code: 204, reason: Removed}}
"""


@pytest.fixture(scope="module")
def gw(serve):
    return serve(CONFIG)


def test_second_call_is_served_from_the_cache(gw, origin):
    first = gw.get("/cached/one?page=1&noise=a")
    before = origin.count()
    second = gw.get("/cached/one?page=1&noise=b")   # noise is not part of the key
    assert origin.count() == before
    assert (second.status, second.body) == (200, first.body)
    assert second.headers["cache-control"].startswith("public, max-age=")
    gw.get("/cached/one?page=2")
    assert origin.count() == before + 1


def test_entries_vary_by_the_listed_header(gw, origin):
    gw.get("/cached/lang", headers={"accept-language": "en"})
    before = origin.count()
    gw.get("/cached/lang", headers={"accept-language": "de"})
    assert origin.count() == before + 1
    gw.get("/cached/lang", headers={"accept-language": "en"})
    assert origin.count() == before + 1


def test_requests_with_authorization_are_never_shared(gw, origin):
    gw.get("/cached/private", headers={"authorization": "Bearer alice"})
    before = origin.count()
    answer = gw.get("/cached/private", headers={"authorization": "Bearer mallory"})
    assert origin.count() == before + 1
    assert answer.echo["headers"]["authorization"] == "Bearer mallory"


def test_no_store_responses_are_not_kept(gw, origin):
    gw.get("/cached/status?code=200&h-Cache-Control=no-store")
    before = origin.count()
    gw.get("/cached/status?code=200&h-Cache-Control=no-store")
    assert origin.count() == before + 1


def test_many_misses_of_one_key_make_one_backend_call(gw, origin):
    before = origin.count()
    answers = []
    threads = [threading.Thread(target=lambda: answers.append(gw.get("/cached/slow?ms=300").status))
               for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [200] * 8
    assert origin.count() == before + 1


def test_value_cache_store_lookup_remove(gw):
    assert gw("POST", "/values/put", headers={"x-name": "a", "x-value": "42"}).status == 204
    assert gw.get("/values/get", headers={"x-name": "a"}).body == b"42"
    assert gw.get("/values/get", headers={"x-name": "b"}).body == b"none"
    assert gw("DELETE", "/values/drop", headers={"x-name": "a"}).status == 204
    assert gw.get("/values/get", headers={"x-name": "a"}).body == b"none"
