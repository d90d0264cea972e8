"""forward-request: backend section only; timeout in seconds. End to end: its timeout against the
backend's, fail-on-error-status-code, and a backend section without it."""
import time

import pytest



def test_loads_in_backend(policies):
    forward = policies.statement("- forward-request: {timeout: 2m, fail-on-error-status-code: true}",
                                 section="backend")
    assert (forward.timeout, forward.fail_on_error_status_code) == (120.0, True)


def test_refused_in_inbound(policies):
    found = policies.error("- forward-request: {}  # <-")
    assert (found.line, found.path) == (found.marked_line, f"{policies.at()}")
    assert found.message == "forward-request may not stand in the inbound section"


# ---- end to end

E2E = """
backends:
  quick: {url: "http://127.0.0.1:{origin}/api", timeout: 500ms}
apis:
  fw:
    path: fw
    backend: origin
    subscription_required: false
    operations:
      - {id: short, method: GET, url_template: /slow/short, policies: {backend: [{forward-request: {timeout: 1}}]}}
      - {id: fails, method: GET, url_template: /status/fails,
         policies: {backend: [{forward-request: {fail-on-error-status-code: true}}]}}
      - {id: passes, method: GET, url_template: /status/passes}
      - id: handled
        method: GET
        url_template: /status/handled
        policies:
          backend: [{forward-request: {fail-on-error-status-code: true}}]
          outbound: [{set-header: {name: x-outbound, value: ran}}]
          on-error: ON_ERROR
      - id: nothing
        method: GET
        url_template: /nothing
        policies:
          backend: []
          outbound: [{set-header: {name: x-outbound, value: ran}}]
  quick:
    path: quick
    backend: quick
    subscription_required: false
    operations:
      - {id: longer, method: GET, url_template: /slow/longer, policies: {backend: [{forward-request: {timeout: 5}}]}}
      - {id: default, method: GET, url_template: /slow/default}
      - {id: timed-out, method: GET, url_template: /slow/timed-out, policies: {on-error: ON_ERROR}}
"""
LAST_ERROR = ("[" + ", ".join(f"{{set-header: {{name: x-{field}, value: '@(context.last_error.{field})'}}}}"
                              for field in ("source", "reason", "message", "section")) + "]")


@pytest.fixture(scope="module")
def gw(serve):
    return serve(E2E.replace("ON_ERROR", LAST_ERROR))


def test_its_timeout_beats_a_longer_backend_timeout(gw):
    started = time.monotonic()
    answer = gw.get("/fw/slow/short?ms=4500")  # the backend allows 5 s; forward-request 1 s
    assert time.monotonic() - started < 4
    assert answer.status == 504
    assert answer.json() == {"statusCode": 504, "message": "Backend service timed out"}


def test_its_timeout_beats_a_shorter_backend_timeout(gw):
    answer = gw.get("/quick/slow/longer?ms=1200")  # the backend allows 0.5 s; forward-request 5 s
    assert answer.status == 200
    assert answer.json()["target"] == "/api/slow/longer?ms=1200"


def test_without_a_timeout_the_backends_applies(gw):
    assert gw.get("/quick/slow/default?ms=1500").status == 504


def test_a_timeout_runs_on_error(gw):
    answer = gw.get("/quick/slow/timed-out?ms=1500")
    assert answer.json() == {"statusCode": 504, "message": "Backend service timed out"}
    assert (answer.headers["x-source"], answer.headers["x-section"]) == ("forward-request", "backend")
    assert answer.headers["x-message"] == "Backend service timed out"


def test_error_statuses_pass_through_by_default(gw):
    answer = gw.get("/fw/status/passes?code=503")
    assert answer.status == 503
    assert answer.json()["target"] == "/api/status/passes?code=503"  # the backend's own body


@pytest.mark.parametrize("code", [400, 404, 500, 503, 599])
def test_fail_on_error_status_code_sends_400_to_599_to_on_error(gw, code):
    answer = gw.get(f"/fw/status/handled?code={code}")
    assert answer.status == code
    assert "x-outbound" not in answer.headers
    assert answer.json() == {"statusCode": code, "message": f"Backend returned status code {code}"}
    assert answer.headers["x-source"] == "forward-request"   # on-error ran


def test_last_error_of_an_error_status(gw):
    answer = gw.get("/fw/status/handled?code=502")
    assert (answer.headers["x-source"], answer.headers["x-reason"]) == ("forward-request", "BackendErrorStatusCode")
    assert answer.headers["x-section"] == "backend"


@pytest.mark.parametrize("code", [200, 302, 399])
def test_fail_on_error_status_code_lets_other_statuses_through(gw, code):
    answer = gw.get(f"/fw/status/handled?code={code}")
    assert (answer.status, answer.headers["x-outbound"]) == (code, "ran")
    assert answer.json()["query"] == {"code": str(code)}


def test_fail_on_error_status_code_without_on_error(gw):
    answer = gw.get("/fw/status/fails?code=503")
    assert answer.json() == {"statusCode": 503, "message": "Backend returned status code 503"}
    assert gw.get("/fw/status/fails?code=201").status == 201


def test_no_forward_request_nothing_reaches_the_backend(gw, origin):
    before = origin.count()
    answer = gw.get("/fw/nothing")
    assert (answer.status, answer.body, answer.headers["x-outbound"]) == (200, b"", "ran")
    assert origin.count() == before
