"""Shared field types: expressions, numbers, durations, lists and scopes (gwcore/policies/fields.py)."""
import pytest
from pydantic import BaseModel, ValidationError

from gwcore.policies.fields import (Flag, Scalar, Text, base64_text, duration, integer, is_expression, many,
                                    scope_of, thumbprint)


class Sample(BaseModel):
    text: Text = "x"
    scalar: Scalar = 0
    flag: Flag = False
    count: integer(1, 5, expressions=True) = 1
    wait: duration(gt=0, le=10) = 1.0
    items: many(Text, child="item") = ()


def error_of(**values) -> str:
    with pytest.raises(ValidationError) as info:
        Sample(**values)
    (err,) = info.value.errors()
    return err["msg"].removeprefix("Value error, ")


def test_is_expression():
    assert is_expression("@(x)") and is_expression("  @(a(b))  ")
    assert not is_expression("@x") and not is_expression("(x)") and not is_expression(5)


def test_values_keep_their_type():
    sample = Sample(scalar=True, flag="TRUE", count="@(n)", wait="2s")
    assert (sample.scalar, sample.flag, sample.count, sample.wait) == (True, True, "@(n)", 2.0)
    assert Sample(count="3").count == 3 and Sample(text=12).text == "12"


@pytest.mark.parametrize("values, message", [
    ({"text": True}, "expected a text value, got true; quote it if you mean the text"),
    ({"text": "  "}, "must not be empty"),
    ({"scalar": None}, "expected a text, number or @(expression), not an empty value"),
    ({"count": 2.5}, "expected a whole number from 1 to 5 or an @(expression), got 2.5"),
    ({"count": 6}, "must be from 1 to 5, got 6"),
    ({"wait": 11}, "must be at most 10 seconds, got 11"),
    ({"flag": "@(x"}, "this starts like an @(expression) but does not end with ); the whole value must be one @( ... )"),
])
def test_messages(values, message):
    assert error_of(**values) == message


def test_lists_accept_one_item_a_list_or_the_spelled_out_wrapper():
    assert Sample(items="a").items == ("a",)
    assert Sample(items=["a", "b"]).items == ("a", "b")
    assert Sample(items={"item": ["a"]}).items == ("a",)
    assert Sample(items=None).items == ()


def test_base64_and_thumbprint():
    assert base64_text("c2VjcmV0") == "c2VjcmV0"
    assert base64_text("c2VjcmV0_-", urlsafe=True)
    with pytest.raises(ValueError):
        base64_text("c2VjcmV0_-")
    assert thumbprint("ca:06:f5:6b:25:8b:7a:0d:4f:2b:05:47:09:39:47:86:51:15:19:84") == \
        "CA06F56B258B7A0D4F2B05470939478651151984"


@pytest.mark.parametrize("path, scope", [
    (("policies", "inbound", 0), "global"), (("products", "p", "policies"), "product"),
    (("apis", "a", "policies"), "api"), (("apis", "a", "operations", 0, "policies"), "operation"),
    (("fragments", "f", 0), None),
])
def test_scope_of(path, scope):
    assert scope_of(path) == scope


@pytest.mark.parametrize("values, message", [
    ({"count": "@five"}, "expected a whole number from 1 to 5 or an @(expression), got '@five'"),
    ({"count": "@{ return 1; }"}, "multi-statement @{ ... } expressions are not supported; write a single"
                                  " @( ... ) expression"),
])
def test_only_whole_expressions_pass_for_literals(values, message):
    assert error_of(**values) == message
