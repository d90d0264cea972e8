"""check-header: all four attributes required, values optional. End to end: HeaderNotFound and
HeaderValueNotAllowed answer failed-check-httpcode with the configured message."""
from types import SimpleNamespace

import pytest
import yaml

from gwcore.config import load_plan
from gwcore.pipeline.context import Headers
from gwcore.pipeline.errors import PolicyError



def test_loads(policies):
    check = policies.statement("""
        - check-header:
            name: x-tier
            failed-check-httpcode: 401
            failed-check-error-message: Not authorized
            ignore-case: true
            value: [gold, silver]
    """)
    assert (check.name, check.failed_check_httpcode, check.ignore_case) == ("x-tier", 401, True)
    assert check.failed_check_error_message == "Not authorized"
    assert check.value == ("gold", "silver")


def test_missing_required_attributes_each_reported(policies):
    found = policies.errors("- check-header: {name: x-tier}")
    assert sorted(f.path.rsplit(".", 1)[1] for f in found) == [
        "failed-check-error-message", "failed-check-httpcode", "ignore-case"]
    assert {f.message for f in found} == {"required, but missing"}


def test_header_name_checked(policies):
    found = policies.error("""
        - check-header:
            name: 'x tier'  # <-
            failed-check-httpcode: 401
            failed-check-error-message: denied
            ignore-case: false
    """)
    assert (found.line, found.path) == (found.marked_line, f"{policies.at()}.check-header.name")
    assert found.message.startswith("'x tier' is not a valid header name")


def test_inbound_only(policies):
    found = policies.error("""
        - check-header: {name: a, failed-check-httpcode: 401, failed-check-error-message: denied, ignore-case: false}  # <-
    """, section="outbound")
    assert found.message == "check-header may not stand in the outbound section"


# ---- end to end

def check(path: str, **attributes) -> dict:
    statement = {"name": "x-tier", "failed-check-httpcode": 401, "failed-check-error-message": "Tier refused",
                 "ignore-case": False, **attributes}
    return {"id": path, "method": "GET", "url_template": f"/{path}", "policies": {"inbound": [{"check-header": statement}]}}


LAST_ERROR = [{"set-header": {"name": f"x-{field}", "value": f"@(context.last_error.{field})"}}
              for field in ("source", "reason", "message", "section")]

E2E = {
    "named_values": {"refusal": "Refused by a named value"},
    "apis": {"c": {"path": "c", "backend": "origin", "subscription_required": False, "operations": [
        check("present"),
        check("listed", value=["gold", "silver"]),
        check("case", value=["gold"], **{"ignore-case": True}),
        check("forbidden", value=["gold"], **{"failed-check-httpcode": 403,
                                             "failed-check-error-message": "{{refusal}}"}),
        {**check("last-error", value=["gold"]), "policies": {
            "inbound": [{"check-header": {"name": "x-tier", "failed-check-httpcode": 401,
                                          "failed-check-error-message": "Tier refused", "ignore-case": False,
                                          "value": ["gold"]}}],
            "on-error": LAST_ERROR}},
    ]}},
}


@pytest.fixture(scope="module")
def gw(serve):
    return serve(yaml.safe_dump(E2E))


def test_header_not_found(gw, origin):
    before = origin.count()
    answer = gw.get("/c/present")
    assert answer.status == 401
    assert answer.json() == {"statusCode": 401, "message": "Tier refused"}
    assert origin.count() == before


def test_any_value_when_none_listed_and_the_header_goes_on(gw):
    answer = gw("GET", "/c/present", headers={"x-tier": "anything"})
    assert answer.status == 200
    assert answer.echo["headers"]["x-tier"] == "anything"


def test_listed_values(gw):
    assert gw("GET", "/c/listed", headers={"x-tier": "silver"}).status == 200
    answer = gw("GET", "/c/listed", headers={"x-tier": "bronze"})
    assert answer.json() == {"statusCode": 401, "message": "Tier refused"}
    assert gw("GET", "/c/listed", headers={"x-tier": "Gold"}).status == 401  # case counts by default


def test_ignore_case(gw):
    assert gw("GET", "/c/case", headers={"x-tier": "GOLD"}).status == 200
    assert gw("GET", "/c/case", headers={"x-tier": "gold"}).status == 200
    assert gw("GET", "/c/case", headers={"X-Tier": "Silver"}).status == 401


def test_status_and_message_as_configured(gw):
    answer = gw("GET", "/c/forbidden", headers={"x-tier": "bronze"})
    assert answer.json() == {"statusCode": 403, "message": "Refused by a named value"}
    assert gw.get("/c/forbidden").json() == {"statusCode": 403, "message": "Refused by a named value"}


def test_on_error_runs_with_the_configured_answer(gw):
    answer = gw.get("/c/last-error")
    assert answer.json() == {"statusCode": 401, "message": "Tier refused"}
    assert answer.headers["x-reason"] == "HeaderNotFound"   # on-error ran


def test_last_error_of_header_not_found(gw):
    answer = gw.get("/c/last-error")
    assert (answer.headers["x-source"], answer.headers["x-reason"]) == ("check-header", "HeaderNotFound")
    assert answer.headers["x-message"] == "Header x-tier was not found in the request. Access denied."
    assert answer.headers["x-section"] == "inbound"


def test_last_error_of_header_value_not_allowed(gw):
    answer = gw("GET", "/c/last-error", headers={"x-tier": "bronze"})
    assert answer.headers["x-reason"] == "HeaderValueNotAllowed"
    assert answer.headers["x-message"] == "Header x-tier value of bronze is not allowed. Access denied."


def test_last_error_message_is_apims_while_the_reply_is_the_configured_one(write_config):
    """Without expressions on-error cannot read context.last_error; run the compiled step directly."""
    plan = load_plan(write_config(yaml.safe_dump({"backends": {"origin": {"url": "http://127.0.0.1:9"}}, **E2E})))
    (step,) = plan.apis["c"].operations["listed"].pipelines[None].program.sections[0]
    for headers, reason, last_message in [
            ([], "HeaderNotFound", "Header x-tier was not found in the request. Access denied."),
            ([(b"x-tier", b"bronze")], "HeaderValueNotAllowed",
             "Header x-tier value of bronze is not allowed. Access denied.")]:
        ctx = SimpleNamespace(request=SimpleNamespace(headers=Headers(headers)))
        with pytest.raises(PolicyError) as info:
            step(ctx)
        error = info.value
        assert (error.status, error.message, error.reason, error.source) == (401, "Tier refused", reason,
                                                                             "check-header")
        assert error.last_message == last_message
