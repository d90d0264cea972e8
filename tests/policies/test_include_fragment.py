"""include-fragment (existing schema): the short form names a fragment, which must exist."""
import pytest

from gwcore.config import ConfigError, load_plan

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
