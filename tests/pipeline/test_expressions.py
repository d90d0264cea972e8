"""The expression language: what it allows and computes, what it refuses at compile time and where."""
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gwcore.config  # noqa: F401 - loads the policy fields the way the gateway does (fields alone is a cycle)
from gwcore.pipeline import expressions
from gwcore.pipeline.expressions import (
    SAFE_GLOBALS, Expression, ExpressionError, ExpressionEvaluationFailure, compile_expression, compile_value,
    evaluate, is_dynamic, is_expression,
)
from gwcore.policies import fields

from .conftest import make_context

ALLOWED = [
    ('context.request.headers.get("x-tier", "") == "gold"', True),
    ('context.request.headers.get("X-TIER")', "gold"),
    ('context.request.headers.get("missing", "none")', "none"),
    ("context.request.method", "POST"),
    ("context.request.url.path", "/inventory/v1/items/42"),
    ('context.request.url.query.get("view")', "full"),
    ('int(context.request.url.query.get("page", "1")) + 1', 3),
    ("context.request.ip", "203.0.113.7"),
    ('context.request.matched_parameters["id"]', "42"),
    ("context.request.body.text[:9]", '{"name": '),
    ('context.request.body.json["tags"][-1]', "b"),
    ('context.request.body.json.get("count") * 2', 6),
    ("context.response.status_code >= 200 and context.response.status_code < 300", True),
    ('context.response.headers.get("location")', "/items/42"),
    ("context.subscription.id + ':' + context.product.name", "alice:starter"),
    ("context.api.name", "inventory"),
    ("context.operation.id", "get-item"),
    ('context.variables.get("count", 0) > 2', True),
    ('context.variables["items"].index(2)', 1),
    ("context.request_id", "0f0e0d"),
    ("context.last_error is None", True),
    ('context.jwt.get("sub")', "user-1"),
    ('"writer" in context.jwt["roles"]', True),
    ('"admin" not in context.jwt.get("roles", [])', True),
    # literals, operators, helpers
    ("true and not false", True),
    ("null is None", True),
    ("1 if context.request.method == 'GET' else 2", 2),
    ("(7 // 2, 7 % 2, 7 / 2, 2 ** 10, -3, +3)", (3, 1, 3.5, 1024, -3, 3)),
    ('"ab" * 3', "ababab"),
    ("[1, 2] + [3]", [1, 2, 3]),
    ('{"a": 1, "b": [2]}["b"][0]', 2),
    ("{1, 2} == {2, 1}", True),
    ('f"{context.request.method.lower()}-{context.variables[\'count\']:03d}"', "post-003"),
    ('f"{context.variables[\'name\']!r:>8}"', "   'bob'"),
    ("str(len(context.variables['items'])) + str(max(context.variables['items']))", "33"),
    ("round(2.567, 2), abs(-2), min(3, 1), sum([1, 2]), sorted([3, 1]), list((1,)), tuple([1])",
     (2.57, 2, 1, 3, [1, 3], [1], (1,))),
    ("any([0, 1]) and all([1, 1]) and bool(1) and float('1.5') == 1.5", True),
    ('" Gold ".strip().upper().startswith("GO")', True),
    ('",".join(["a", "b"]).replace(",", ";").split(";")', ["a", "b"]),
    ('"a-b".partition("-")[2] + "abc".removeprefix("a")', "bbc"),
    ('sorted(context.variables.keys())', ["count", "items", "name"]),
    ("context.variables['name'][::-1]", "bob"),
    ("1 < 2 < 3 != 4", True),
]


@pytest.mark.parametrize("source, expected", ALLOWED, ids=[a for a, _ in ALLOWED])
def test_allowed_expressions_compute(source, expected, context):
    assert compile_expression(f"@({source})")(context) == expected


# (text, where the error must point, words of the message)
FORBIDDEN = [
    ("@(context.__class__)", "__class__", "names starting with _ are internal"),
    ("@(().__class__.__bases__)", "__bases__", "names starting with _ are internal"),
    ('@("{0.__class__}".format(context))', "format", "attribute 'format' is not allowed"),
    ('@("{0.__class__}".format_map(context))', "format_map", "attribute 'format_map' is not allowed"),
    ("@(context.request.headers.get.__self__)", "__self__", "names starting with _"),
    ('@(f"{context.__class__}")', "__class__", "names starting with _"),
    ("@(context.request.gi_frame)", "gi_frame", "interpreter internals"),
    ("@(context.last_error.tb_frame.f_globals)", "f_globals", "interpreter internals"),
    ("@([x for x in context.request.headers])", "[x for", "a list comprehension is not allowed"),
    ("@({x: 1 for x in context.jwt})", "{x: 1", "a dict comprehension is not allowed"),
    ("@(any(x for x in context.jwt))", "(x for", "a generator expression is not allowed"),
    ("@(lambda: 1)", "lambda", "lambda is not allowed in an expression"),
    ('@(__import__("os"))', "__import__", "name '__import__' is not defined; names available: context, str"),
    ('@(open("/etc/passwd"))', "open", "name 'open' is not defined"),
    ('@(getattr(context, "x"))', "getattr", "name 'getattr' is not defined"),
    ('@(eval("1"))', "eval", "name 'eval' is not defined"),
    ("@(import os)", "import", "an import is not allowed in an expression"),
    ('@("a" * 10**9)', '"a" *', "larger than the limit"),
    ("@([0] * 10**7)", "[0] *", "larger than the limit"),
    ("@(9 ** 9 ** 9)", "9 ** 9 ** 9", "more than 100,000 bits"),
    ("@(1 / 0)", "1 / 0", "fails for every request: division by zero"),
    ("@((y := 1))", "y :=", "assignment (:=) is not allowed"),
    ("@(max(*context.jwt))", "*context", "unpacking with * is not allowed"),
    ("@({**context.jwt})", "context.jwt", "unpacking with ** is not allowed"),
    ('@(str.lower("A"))', "str", "str can only be called"),
    ("@(str.mro())", "mro", "attribute 'mro' is not allowed"),
    ("@(context.variables.update({}))", "update", "calling 'update' is not allowed"),
    ('@(context.variables.pop("count"))', "pop", "calling 'pop' is not allowed"),
    ("@(context.request.method.zfill(10))", "zfill", "calling 'zfill' is not allowed"),
    ("@(sorted(context.jwt, key=len))", "key=", "key= is not allowed"),
    ("@(context(1))", "context(", "context cannot be called"),
    ("@(context.request.method())", "method", "calling 'method' is not allowed"),
    ("@(context.x.y[0]())", "context.x.y[0]", "only the helpers"),
    ('@(b"bytes")', 'b"bytes"', "bytes literals are not allowed"),
    ("@(1 << 40)", "1 << 40", "the << operator is not allowed"),
    ("@(context.a | context.b)", "context.a |", "use `and`/`or` for logic"),
    ("@(~1)", "~1", "the ~ operator is not allowed"),
    ('@("%s" % context)', '"%s"', "use an f-string"),
    ('@(context.x is "a")', '"a"', "`is` compares only with None"),
    ('@(f"{context:{context.w}}")', 'f"', "format spec in an f-string must be constant"),
    ('@(f"{context:>100000}")', 'f"', "format spec '>100000' is not allowed"),
    ("@(...)", "...", "the literal Ellipsis is not allowed"),
    ("@(context.a) + (context.b)", ") + (", "closes before the end of the value"),
    ("@(context.a", "", "does not end with )"),
    ("@()", "()", "the expression is empty"),
    ("@{ return 1; }", "@{", "multi-statement @{ ... } expressions are not supported"),
    ("@(context.a + * 2)", "* 2", "syntax error"),
]


@pytest.mark.parametrize("text, at, words", FORBIDDEN, ids=[t for t, _, _ in FORBIDDEN])
def test_forbidden_expressions_are_refused_where_they_stand(text, at, words):
    with pytest.raises(ExpressionError) as info:
        compile_expression(text)
    assert words in info.value.message
    expected = text.index(at) if at else len(text)
    assert info.value.offset == expected, (info.value.offset, text[info.value.offset:])


def test_offsets_count_characters_of_the_whole_text_across_lines():
    text = '  @(\n  "é" +\n  context.__dict__\n)'
    with pytest.raises(ExpressionError) as info:
        compile_expression(text)
    assert info.value.offset == text.index("__dict__")


def test_the_inner_source_is_accepted_and_located_too(context):
    assert compile_expression("context.request.method")(context) == "POST"
    with pytest.raises(ExpressionError) as info:
        compile_expression("context.request.__class__")
    assert info.value.offset == len("context.request.")


def test_runtime_failure_is_an_expression_evaluation_failure(context):
    expression = compile_expression('@(context.request.headers.get("absent").lower())')
    with pytest.raises(ExpressionEvaluationFailure) as info:
        expression(context)
    failure = info.value
    assert failure.reason == "ExpressionValueEvaluationFailure"
    assert failure.message == "Expression evaluation failed. 'NoneType' object has no attribute 'lower'."
    assert str(failure) == failure.message and failure.expression == expression.source
    assert isinstance(failure.__cause__, AttributeError)


@pytest.mark.parametrize("source, detail", [
    ('context.variables["absent"]', "Key 'absent' was not found."),
    ("context.variables['count'] / (context.variables['count'] - 3)", "Division by zero."),
    ('int(context.request.method)', "Invalid literal for int() with base 10: 'POST'."),
    ('context.request.url.query.get("page") * 2000000', "larger than the limit"),
    ('[context.request.body.text] * 100000', "larger than the limit"),
    ('(context.request.body.text * 1000).replace("", context.request.body.text * 10)', "larger than the limit"),
    ('context.request.body.text.join(["x"] * 100000)', "larger than the limit"),
    ('2 ** int(context.request.url.query.get("page") + "000000")', "bits"),
    ('round(5, -int(context.request.url.query.get("page") + "000000000"))', "round() takes at most"),
    ('context.request.method % 2', "% does not format text"),
    ('sum([[1], [2]])', "Unsupported operand"),
], ids=lambda x: x[:40])
def test_runtime_failures_and_limits(source, detail, context):
    with pytest.raises(ExpressionEvaluationFailure) as info:
        compile_expression(f"@({source})")(context)
    assert detail in info.value.message


def test_guarded_operations_still_compute(context):
    assert compile_expression('@("x".join(["a", "b"]) + "aXa".replace("X", "--"))')(context) == "axba--a"
    assert compile_expression("@(context.variables['items'] * 2)")(context) == [1, 2, 3, 1, 2, 3]
    assert compile_expression("@(2 * context.request.method)")(context) == "POSTPOST"
    assert compile_expression("@(2.0 ** -1 + 10 % 3)")(context) == 1.5


def test_compiled_once_and_cached_by_text():
    text = '@(context.request.headers.get("x", "") == "gold")'
    assert compile_expression(text) is compile_expression(text)


def test_evaluation_runs_with_empty_builtins():
    assert SAFE_GLOBALS["__builtins__"] == {}
    evaluate_function = compile_expression("@(context)").evaluate
    assert evaluate_function.__globals__ is SAFE_GLOBALS


def test_compile_value_keeps_constants_and_compiles_expressions(context):
    literal = "plain text"
    assert compile_value(literal) is literal and compile_value(5) == 5 and compile_value(True) is True
    assert not is_dynamic(literal) and not is_dynamic(("a", 1))
    compiled = compile_value("@(context.request.method)")
    assert isinstance(compiled, Expression) and is_dynamic(compiled)
    mixed = compile_value(["a", "@(context.api.name)"])
    assert is_dynamic(mixed) and evaluate(mixed, context) == ("a", "inventory")
    assert evaluate("a", context) == "a" and evaluate(compiled, context) == "POST"


def test_config_fields_and_the_pipeline_agree_on_what_an_expression_is():
    assert fields.is_expression is is_expression
    assert is_expression(" @(x) ") and not is_expression("@(x") and not is_expression("x") and not is_expression(3)


# ---- no text crashes the compiler, and nothing compiled crashes evaluation ----------------------

PYTHONISH = st.lists(st.sampled_from([
    "context", ".", "request", "headers", "get", "(", ")", "[", "]", "{", "}", ",", ":", "'x'", '"a"', "1", "10",
    "**", "*", "+", "-", "/", "%", "==", "<", "in", "not", "and", "or", "if", "else", "is", "None", "true", "f'{",
    "}'", "lambda", "for", "x", "__class__", "_", "format", "str", "len", "join", "replace", "split", " ", "\n",
    "@(", ":=", "!r", "'", '"', "\\", "#", "é", "\x00", "yield", "await", "import", "9", ".5", "e", "j", "b'",
]), max_size=25).map("".join)


@settings(max_examples=600, deadline=None)
@given(st.one_of(st.text(max_size=60), PYTHONISH, PYTHONISH.map(lambda s: f"@({s})")))
def test_random_text_only_ever_raises_expression_error(text):
    try:
        expression = compile_expression(text)
    except ExpressionError as exc:
        assert 0 <= exc.offset <= len(text)
        return
    try:
        expression(make_context())
    except ExpressionEvaluationFailure:
        pass


def test_limits_are_module_constants():
    assert expressions.MAX_SIZE == 1_000_000 and "context" in expressions.NAMES
