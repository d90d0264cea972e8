"""Every @(expression) and liquid template of every statement compiles at load; a bad one is located."""
import subprocess
import sys
from pathlib import Path

from gwcore.config import load_plan

GWCORE = str(Path(sys.executable).parent / "gwcore")


def column_of(marker: str, value: str) -> int:
    """1-based column of `marker` inside the attribute's value, as the message counts it."""
    return value.index(marker) + 1


def test_bad_expression_in_a_set_header_value(policies):
    value = "@(context.request.headers.__class__)"
    found = policies.error(f"""
        - set-header:
            name: x-a
            value: '{value}'  # <-
    """)
    assert (found.line, found.path) == (found.marked_line, f"{policies.at()}.set-header.value[0]")
    assert found.message == ("expression: attribute '__class__' is not allowed: names starting with _ are internal"
                             f" (at column {column_of('__class__', value)} of the value)")


def test_bad_expression_in_a_choose_when_condition(policies):
    found = policies.error("""
        - choose:
            - when:
                condition: '@(lambda: true)'  # <-
                steps: [{set-variable: {name: v, value: 1}}]
    """)
    assert (found.line, found.path) == (found.marked_line, f"{policies.at()}.choose[0].when.condition")
    assert found.message == "expression: lambda is not allowed in an expression (at column 3 of the value)"


def test_bad_expression_in_a_second_when_and_in_its_nested_statement(policies):
    found = policies.errors("""
        - choose:
            - when: {condition: '@(true)', steps: []}
            - when:
                condition: '@(true)'
                steps:
                  - set-variable: {name: v, value: '@(open("x"))'}  # <-
    """)
    assert [(f.line, f.path) for f in found] == [
        (found[0].marked_line, f"{policies.at()}.choose[1].when.steps[0].set-variable.value")]
    assert found[0].message.startswith("expression: name 'open' is not defined; names available: context,")


def test_every_bad_expression_of_the_file_is_reported_in_one_run(policies):
    found = policies.errors("""
        - set-header: {name: x-a, value: '@([x for x in context.jwt])'}
        - rate-limit-by-key: {calls: 5, renewal-period: 60, counter-key: '@(context.request.ip.__len__())'}
        - retry:
            condition: '@(context.response.status_code = 500)'
            count: 2
            interval: 1
            steps: [{set-variable: {name: w, value: 1}}]
        - limit-concurrency:
            key: k
            max-count: 1
            steps: [{set-variable: {name: v, value: '@(1 << 2)'}}]
    """)
    assert [f.path.split(".", 3)[-1] for f in found] == [
        "inbound[0].set-header.value[0]", "inbound[1].rate-limit-by-key.counter-key",
        "inbound[2].retry.condition", "inbound[3].limit-concurrency.steps[0].set-variable.value"]
    assert "a list comprehension is not allowed" in found[0].message
    assert "an assignment is not allowed in an expression; to compare, write ==" in found[2].message


def test_a_statement_whose_nested_statements_fail_waits_for_them(policies):
    # as with its other attributes: the statement itself is judged once what it holds is valid
    found = policies.errors("""
        - retry:
            condition: '@(context.__class__)'
            count: 2
            interval: 1
            steps: [{set-variable: {name: v, value: '@(1 << 2)'}}]
    """, section="backend")
    assert [f.path.split(".", 3)[-1] for f in found] == ["backend[0].retry.steps[0].set-variable.value"]


def test_child_elements_and_lists_are_walked(policies):
    found = policies.error("""
        - return-response:
            set-status: {code: 200, reason: OK}
            set-header:
              - {name: x-a, value: ok}
              - {name: x-b, value: ['fine', '@(context.subscription.key.__doc__)']}  # <-
    """)
    assert (found.line, found.path) == (found.marked_line, f"{policies.at()}.return-response.set-header[1].value[1]")


def test_a_multi_line_expression_is_located_by_line_and_column(policies):
    found = policies.error("""
        - set-variable:
            name: v
            value: |-  # <-
              @(context.request.method
                + context.__name)
    """)
    assert found.line == found.marked_line
    assert found.message.endswith("(at line 2, column 13 of the value)")


def test_liquid_template_errors_are_located(policies):
    found = policies.error("""
        - set-body:
            template: liquid
            value: |-  # <-
              {"tier": "{{ context.request.headers.x-tier }}",
               "who": "{{ context.subscription.name | shout }}"}
    """, section="outbound")
    assert (found.line, found.path) == (found.marked_line, f"{policies.at('outbound')}.set-body.value")
    assert found.message.startswith("liquid template: unknown filter 'shout'; filters: default,")
    assert found.message.endswith("(at line 2, column 41 of the template)")


def test_liquid_inside_return_response_is_checked(policies):
    found = policies.error("""
        - return-response:
            set-body: {template: liquid, value: '{% assign x = 1 %}'}  # <-
    """)
    assert found.path == f"{policies.at()}.return-response.set-body.value"
    assert found.message == ("liquid template: unknown tag 'assign'; tags: if, elsif, else, endif, for, endfor,"
                             " comment, endcomment (at column 4 of the template)")


def test_text_that_is_not_a_template_is_not_checked_as_one(policies):
    body = policies.statement("- set-body: {value: '{% nonsense %}'}")
    assert body.value == "{% nonsense %}"


def test_expressions_in_fragments_are_checked(write_config):
    path = write_config("""\
backends:
  b: {url: "http://127.0.0.1:9"}
fragments:
  tag:
    - set-header: {name: x-a, value: '@(context.__class__)'}
apis:
  a: {path: a, backend: b, subscription_required: false, policies: {inbound: [{include-fragment: tag}]}}
""")
    problems = _problems(path)
    assert [(p.line, p.path) for p in problems] == [(5, ("fragments", "tag", 0, "set-header", "value", 0))]


def test_valid_expressions_load_and_stay_text(policies):
    header, choose, body = policies.load("""
        - set-header: {name: x-a, value: '@(context.request.headers.get("x-tier", "") == "gold")'}
        - choose:
            - when: {condition: '@(context.request.method == "POST" and true)', steps: []}
        - set-body: {template: liquid, value: '{% if body.x %}{{ body.x | upcase }}{% endif %}'}
    """)
    assert header.value == ('@(context.request.headers.get("x-tier", "") == "gold")',)
    assert choose.whens[0].condition == '@(context.request.method == "POST" and true)'
    assert body.template == "liquid"


def test_gwcore_check_prints_the_located_expression_error(write_config):
    path = write_config("""\
backends:
  b: {url: "http://127.0.0.1:9"}
apis:
  a:
    path: a
    backend: b
    policies:
      inbound:
        - choose:
            - when:
                condition: '@(context.request.headers.get("x").__class__)'
                steps: []
""")
    result = subprocess.run([GWCORE, "check", "--config", path], capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    first = result.stderr.splitlines()[0]
    assert first == (f"{path}:11:17 apis.a.policies.inbound[0].choose[0].when.condition: expression: attribute"
                     " '__class__' is not allowed: names starting with _ are internal (at column 36 of the value)")


def _problems(path):
    from gwcore.config import ConfigError
    try:
        load_plan(path)
    except ConfigError as exc:
        return exc.problems
    return []


LIQUID_WITH_NAMED_VALUE = """\
named_values:
  greeting: hello
backends:
  b: {url: "http://127.0.0.1:9"}
apis:
  a:
    path: a
    backend: b
    policies:
      inbound:
        - set-body:
            template: liquid
            value: "{{greeting}} {% for r in context.jwt.roles %}{{r}}{% endfor %} {{ context.api.name }}"
"""


def test_liquid_output_tags_are_no_named_values_but_named_values_still_apply(write_config):
    plan = load_plan(write_config(LIQUID_WITH_NAMED_VALUE))
    (body,) = plan.apis["a"].operations["*"].pipeline(None).inbound
    assert body.value == "hello {% for r in context.jwt.roles %}{{r}}{% endfor %} {{ context.api.name }}"


def test_outside_a_liquid_template_an_unknown_named_value_is_still_a_problem(write_config):
    text = LIQUID_WITH_NAMED_VALUE + '        - set-header: {name: x-a, value: "{{ context.api.name }}"}\n'
    problems = _problems(write_config(text))
    assert [p.message for p in problems] == ["named value {{context.api.name}} is not defined in named_values"]
    assert problems[0].path[-2:] == ("set-header", "value")
