"""retry: condition, count 1-50, fixed/linear/exponential intervals, steps without wait. End to end with
the literal condition true: the steps run 1 + count times (count the origin's records)."""
import time

import pytest
import yaml

from .support import header_values


def test_exponential(policies):
    retry = policies.statement("""
        - retry:
            condition: '@(context.response.status_code == 500)'
            count: 10
            interval: 10
            max-interval: 100
            delta: 10
            first-fast-retry: false
            steps:
              - forward-request: {buffer-request-body: true}
    """, section="backend")
    assert retry.condition == "@(context.response.status_code == 500)"
    assert (retry.count, retry.interval, retry.max_interval, retry.delta) == (10, 10.0, 100.0, 10.0)
    assert retry.first_fast_retry is False
    assert retry.steps[0].policy_name == "forward-request"


def test_fixed_interval_with_units(policies):
    retry = policies.statement("- retry: {condition: true, count: 3, interval: 500ms, steps: [{set-variable:"
                               " {name: a, value: 1}}]}")
    assert (retry.condition, retry.interval, retry.max_interval, retry.delta) == (True, 0.5, None, None)


@pytest.mark.parametrize("count", [0, 51])
def test_count_range(policies, count):
    found = policies.error(f"""
        - retry:
            condition: true
            count: {count}  # <-
            interval: 1
            steps: [{{set-variable: {{name: a, value: 1}}}}]
    """)
    assert (found.line, found.path) == (found.marked_line, f"{policies.at()}.retry.count")
    assert found.message == f"must be from 1 to 50, got {count}"


@pytest.mark.parametrize("extra, message", [
    ("max-interval: 30", "max-interval needs delta: exponential back-off uses interval, delta and max-interval"),
    ("max-interval: 1, delta: 1", "max-interval (1s) is shorter than interval (5s)"),
])
def test_backoff_consistency(policies, extra, message):
    found = policies.error(f"- retry: {{condition: true, count: 2, interval: 5, {extra},"
                           " steps: [{set-variable: {name: a, value: 1}}]}  # <-")
    assert (found.line, found.path) == (found.marked_line, f"{policies.at()}.retry")
    assert found.message == message


def test_condition_must_be_boolean_or_expression(policies):
    found = policies.error("""
        - retry:
            condition: sometimes  # <-
            count: 2
            interval: 1
            steps: [{set-variable: {name: a, value: 1}}]
    """)
    assert (found.line, found.path) == (found.marked_line, f"{policies.at()}.retry.condition")
    assert found.message == "expected true, false or an @(expression), got 'sometimes'"


def test_wait_may_not_be_a_direct_child(policies):
    found = policies.error("""
        - retry:
            condition: true
            count: 2
            interval: 1
            steps:
              - wait:  # <-
                  steps: [{send-request: {response-variable-name: r, set-url: 'http://x', set-method: GET}}]
    """)
    assert (found.line, found.path) == (found.marked_line, f"{policies.at()}.retry.steps[0].wait")
    assert found.message == "wait may not stand directly inside retry; retry may hold any statement but wait"


# ---- end to end

def retry(*steps, **attributes) -> dict:
    return {"retry": {"condition": True, "count": 2, "interval": 0, **attributes, "steps": list(steps)}}


def op(path: str, method: str = "GET", **sections) -> dict:
    return {"id": path.replace("/", "-"), "method": method, "url_template": f"/{path}", "policies": sections}


TRY = {"set-header": {"name": "x-try", "exists-action": "append", "value": "again"}}
FORWARD = {"forward-request": {}}

OPERATIONS = [
    op("inbound", inbound=[retry(TRY)]),
    op("status/fixed", backend=[retry(FORWARD, interval="200ms")]),
    op("status/once", backend=[retry(FORWARD, condition=False, interval="5s")]),
    op("status/fast", backend=[retry(FORWARD, count=1, interval="3s", **{"first-fast-retry": True})]),
    op("status/linear", backend=[retry(FORWARD, interval="100ms", delta="200ms")]),
    op("status/exponential", backend=[retry(FORWARD, count=3, interval="50ms", delta="100ms",
                                            **{"max-interval": "150ms"})]),
    op("status/body", method="POST", backend=[retry(FORWARD, count=3)]),
]
OPERATIONS.append(op("status/on-response", backend=[retry(
    FORWARD, condition="@(context.response.status_code >= 500)", count=3)]))
E2E = {"apis": {"rt": {"path": "rt", "backend": "origin", "subscription_required": False,
                       "operations": OPERATIONS}}}


@pytest.fixture(scope="module")
def gw(serve):
    return serve(yaml.safe_dump(E2E))


def attempts(gw, origin, path: str, method: str = "GET", body: bytes = None):
    """(answer, the requests the origin got for it, seconds taken)."""
    since = origin.count()
    started = time.monotonic()
    answer = gw(method, path, body=body)
    return answer, origin.records(since), time.monotonic() - started


def test_the_steps_run_once_and_again_count_times(gw):
    assert header_values(gw.get("/rt/inbound").json(), "x-try") == ["again", "again", "again"]


def test_a_failing_backend_is_called_count_more_times_with_the_interval(gw, origin):
    answer, records, seconds = attempts(gw, origin, "/rt/status/fixed?code=503")
    assert [r["target"] for r in records] == ["/api/status/fixed?code=503"] * 3
    assert seconds >= 0.4  # two waits of 200 ms
    assert answer.status == 503
    assert answer.json()["target"] == "/api/status/fixed?code=503"  # the last answer is the one sent


def test_each_request_retries_afresh(gw, origin):
    for _ in range(2):
        _, records, _ = attempts(gw, origin, "/rt/status/fixed?code=500")
        assert len(records) == 3


def test_a_false_condition_does_not_retry(gw, origin):
    answer, records, seconds = attempts(gw, origin, "/rt/status/once?code=503")
    assert (answer.status, len(records)) == (503, 1)
    assert seconds < 4  # the 5 s interval was never waited


def test_first_fast_retry_does_not_wait(gw, origin):
    _, records, seconds = attempts(gw, origin, "/rt/status/fast?code=503")
    assert len(records) == 2
    assert seconds < 2.5  # the 3 s interval was skipped for the first retry


def test_linear_and_exponential_back_off(gw, origin):
    _, records, seconds = attempts(gw, origin, "/rt/status/linear?code=503")
    assert len(records) == 3 and seconds >= 0.4  # 100 ms, then 100 + 200 ms
    _, records, seconds = attempts(gw, origin, "/rt/status/exponential?code=503")
    assert len(records) == 4 and seconds >= 0.15  # each wait at least 50 ms, at most 150 ms


def test_the_request_body_is_sent_again_each_time(gw, origin):
    answer, records, _ = attempts(gw, origin, "/rt/status/body?code=502", "POST", b"the payload")
    assert answer.status == 502
    assert [(r["body_raw"], r["complete"]) for r in records] == [("the payload", True)] * 4
    assert all("content-length: 11" in r["head"].lower() for r in records)


def test_a_condition_on_the_response_stops_at_success(gw, origin):
    answer, records, _ = attempts(gw, origin, "/rt/status/on-response?code=200")
    assert (answer.status, len(records)) == (200, 1)
    answer, records, _ = attempts(gw, origin, "/rt/status/on-response?code=500")
    assert (answer.status, len(records)) == (500, 4)
