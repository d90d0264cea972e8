"""include-fragment: the short form names a fragment, which must exist; end to end its statements run
in place, in any section, nested and inside choose."""
import pytest

from gwcore.config import ConfigError, load_plan

from .support import header_values

CONFIG = """\
backends:
  b: {url: "http://127.0.0.1:9"}
fragments:
  common:
    - set-variable: {name: v, value: 1}
apis:
  a:
    path: a
    backend: b
    subscription_required: false
    policies:
      inbound:
        - include-fragment: %s
"""


def test_short_form(write_config):
    plan = load_plan(write_config(CONFIG % "common"))
    statement = plan.apis["a"].operations["*"].pipeline(None).inbound[0]
    assert (statement.policy_name, statement.fragment_id) == ("include-fragment", "common")


def test_unknown_fragment(write_config):
    with pytest.raises(ConfigError) as info:
        load_plan(write_config(CONFIG % "missing"))
    (problem,) = info.value.problems
    assert problem.line == 13
    assert problem.message == "fragment 'missing' is not defined in fragments"


# ---- end to end

E2E = """
fragments:
  tag:
    - set-header: {name: x-fragment, exists-action: append, value: tag}
  outer:
    - set-header: {name: x-fragment, exists-action: append, value: outer-start}
    - include-fragment: tag
    - set-header: {name: x-fragment, exists-action: append, value: outer-end}
  branch:
    - choose:
        - when: {condition: "false", steps: [{set-header: {name: x-fragment, exists-action: append, value: no}}]}
        - otherwise: [{include-fragment: tag}]
  answer:
    - return-response: {set-status: {code: 207, reason: From A Fragment}}
policies:
  inbound:
    - include-fragment: tag
apis:
  f:
    path: f
    backend: origin
    subscription_required: false
    operations:
      - {id: twice, method: GET, url_template: /twice,
         policies: {inbound: [base, {include-fragment: tag}, {include-fragment: tag}]}}
      - {id: nested, method: GET, url_template: /nested, policies: {inbound: [{include-fragment: outer}]}}
      - {id: branch, method: GET, url_template: /branch, policies: {inbound: [{include-fragment: branch}]}}
      - {id: response, method: GET, url_template: /response, policies: {outbound: [{include-fragment: tag}]}}
      - {id: answer, method: GET, url_template: /answer, policies: {inbound: [{include-fragment: answer}]}}
"""


@pytest.fixture(scope="module")
def gw(serve):
    return serve(E2E)


def fragments(gw, path: str) -> list:
    answer = gw.get(path)
    assert answer.status == 200, answer.body
    return header_values(answer.json(), "x-fragment")


def test_at_global_scope_and_twice_at_the_operation(gw):
    assert fragments(gw, "/f/twice") == ["tag", "tag", "tag"]


def test_a_fragment_including_a_fragment(gw):
    assert fragments(gw, "/f/nested") == ["outer-start", "tag", "outer-end"]


def test_inside_choose(gw):
    assert fragments(gw, "/f/branch") == ["tag"]


def test_in_outbound_it_works_on_the_response(gw):
    answer = gw.get("/f/response")
    assert answer.headers["x-fragment"] == "tag"
    assert header_values(answer.json(), "x-fragment") == ["tag"]  # the global inbound one, on the request


def test_return_response_from_a_fragment(gw, origin):
    before = origin.count()
    answer = gw.get("/f/answer")
    assert (answer.status, answer.reason) == (207, "From A Fragment")
    assert origin.count() == before
