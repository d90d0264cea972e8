"""Liquid templates of set-body: what renders, what is refused at load and where, and the render limits."""
import pytest

from gwcore.pipeline import templates
from gwcore.pipeline.expressions import ExpressionEvaluationFailure
from gwcore.pipeline.templates import TemplateError, compile_template

RENDERS = [
    ("Hello {{ context.request.method }}!", "Hello POST!"),
    ("{{ context.request.headers.x-tier | upcase }}", "GOLD"),
    ('{{ context.request.headers["X-TIER"] }}', "gold"),
    ("{{ context.request.url.query.view }}/{{ context.request.matched_parameters.id }}", "full/42"),
    ("{{ context.subscription.name | downcase | append: '!' | prepend: '<' | escape }}", "&lt;alice!"),
    ('{{ context.variables.absent | default: "none" }}', "none"),
    ("{{ context.variables.name | default: 'x' }}", "bob"),
    ("{{ context.variables.items.size }}/{{ context.variables.items.first }}/{{ context.variables.items.last }}",
     "3/1/3"),
    ("{{ context.variables.items | json }}", "[1, 2, 3]"),
    ("{{ context.jwt.roles[1] }}|{{ context.jwt.roles[5] }}|{{ context.nothing.deeper }}", "writer||"),
    ("{{ context.last_error }}{{ true }}{{ 4 }}", "true4"),
    ("{{ 'a b' | url_encode }} {{ '  x ' | strip | capitalize }}", "a+b X"),
    ("{% if context.request.method == 'GET' %}get{% elsif context.request.method == 'POST' %}post"
     "{% else %}other{% endif %}", "post"),
    ("{% if context.response.status_code >= 300 %}bad{% else %}ok{% endif %}", "ok"),
    ("{% if context.jwt.roles contains 'reader' and context.variables.name != 'eve' %}yes{% endif %}", "yes"),
    ("{% if false or context.absent %}a{% elsif nil %}b{% endif %}", ""),
    ("{% if context.variables.name contains 'o' or false and false %}right-to-left{% endif %}", "right-to-left"),
    ("{% if 1 < 'a' %}never{% else %}incomparable is false{% endif %}", "incomparable is false"),
    ("{% for role in context.jwt.roles %}{{ forloop.index }}:{{ role }}{% if forloop.last %}.{% else %},"
     "{% endif %}{% endfor %}", "1:reader,2:writer."),
    ("{% for pair in context.variables %}{{ pair[0] }} {% endfor %}", "count name items "),
    ("{% for x in context.absent %}never{% endfor %}none", "none"),
    ("a  {{- 'x' -}}  b {%- if true -%} c {%- endif %}", "axbc"),
    ("{% comment %}{% anything %}{{ at all }}{% endcomment %}kept", "kept"),
    ("{{ body.name }} has {{ body.tags | size }} tags", "widget has 2 tags"),
]


@pytest.mark.parametrize("text, expected", RENDERS, ids=[t for t, _ in RENDERS])
def test_renders(text, expected, context):
    assert compile_template(text).render(context, body=context.request.body.json) == expected


REFUSED = [
    ("{{ context.__class__ }}", "__class__", "attribute '__class__' is not allowed"),
    ("{{ context.request.gi_frame }}", "gi_frame", "attribute 'gi_frame' is not allowed"),
    ("{% assign x = 1 %}", "assign", "unknown tag 'assign'; tags: if, elsif"),
    ("{{ context | shout }}", "shout", "unknown filter 'shout'; filters: default"),
    ("{{ context | default }}", "default", "filter 'default' takes 1 argument"),
    ("{{ user.name }}", "user", "unknown variable 'user'; variables here: body, context"),
    ("{% for x in context.a %}{% endfor %}{{ x }}", "x }}", "unknown variable 'x'"),
    ("{% if context.a %}open", "if", "{% if %} is not closed with {% endif %}"),
    ("{% for x in context.a %}", "for", "{% for %} is not closed with {% endfor %}"),
    ("text {% endif %}", "endif", "{% endif %} without the tag that opens its block"),
    ("{% if true %}{% else %}{% else %}{% endif %}", "else %}{% endif", "{% else %} without the tag"),
    ("{% if true %}{% endif junk %}", "junk", "{% endif %} takes nothing more"),
    ("{% for x of context.a %}{% endfor %}", " x of", "expected {% for item in list %}"),
    ("{{ context.a", "{{", "{{ is not closed with }}"),
    ("{% if true %}x{% endif", "{% endif", "{% is not closed with %}"),
    ("{{ context.a[1.5] }}", "1.5", "a [key] is a quoted text or a whole number"),
    ("{{ context.a @ 1 }}", "@", "unexpected '@'"),
    ("{{ 'a' 'b' }}", "'b'", "unexpected \"'b'\""),
    ("{% if %}{% endif %}", "%}", "expected a value"),
    ("{% comment %}never closed", "comment", "{% comment %} is not closed with {% endcomment %}"),
]


@pytest.mark.parametrize("text, at, words", REFUSED, ids=[t for t, _, _ in REFUSED])
def test_refused_at_load_where_it_stands(text, at, words):
    with pytest.raises(TemplateError) as info:
        compile_template(text)
    assert words in info.value.message
    assert info.value.offset == text.index(at), (info.value.offset, text[info.value.offset:])


def test_compiled_once_and_cached_by_text():
    assert compile_template("{{ context.api.name }}") is compile_template("{{ context.api.name }}")


def test_uses_body_tells_the_pipeline_whether_to_parse_the_body():
    assert compile_template("{{ body.x }}").uses_body
    assert not compile_template("{{ context.api.name }}").uses_body


def test_a_failing_lookup_is_an_expression_evaluation_failure(context):
    context.request.body.text = "not json"
    with pytest.raises(ExpressionEvaluationFailure) as info:
        compile_template("{{ context.request.body.json.name }}").render(context)
    assert info.value.reason == "ExpressionValueEvaluationFailure"
    assert info.value.message.startswith("Expression evaluation failed. Expecting value")


def test_loops_are_bounded_in_all(context, monkeypatch):
    monkeypatch.setattr(templates, "MAX_ITERATIONS", 5)
    nested = compile_template("{% for a in context.jwt.roles %}{% for b in context.variables.items %}.{% endfor %}"
                              "{% endfor %}")
    with pytest.raises(ExpressionEvaluationFailure, match="loops more than 5 times"):
        nested.render(context)  # 2 outer + 2 * 3 inner iterations
    context.variables["items"] = [1]
    assert nested.render(context) == ".."  # 2 + 2 iterations


def test_output_is_bounded(context, monkeypatch):
    monkeypatch.setattr(templates, "MAX_OUTPUT", 10)
    with pytest.raises(ExpressionEvaluationFailure, match="longer than 10 characters"):
        compile_template("{% for r in context.jwt.roles %}{{ r }}{% endfor %}").render(context)
