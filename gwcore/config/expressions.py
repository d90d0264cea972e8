"""Load-time check: every @(expression) and liquid template a parsed statement holds must compile."""
from pydantic import BaseModel

from gwcore.pipeline.expressions import ExpressionError, compile_expression, is_expression
from gwcore.pipeline.templates import compile_template
from gwcore.policies.base import PolicyConfig

EXPRESSION, TEMPLATE = "expression", "liquid template"


def check_statement(statement, report) -> None:
    """`report(path, message)` for each expression or template of `statement` that does not compile.
    Compiling is cached by text, so the Plan's later compile_value of the same text is free."""
    for path, text, kind in dynamic_values(statement, statement.path):
        try:
            (compile_template if kind == TEMPLATE else compile_expression)(text)
        except ExpressionError as exc:
            report(path, f"{kind}: {exc.message} ({_place(text, exc.offset, kind)})")


def dynamic_values(obj, path: tuple, top: bool = True):
    """(path, text, kind) of every @(expression) and liquid template held by `obj`: its attributes,
    child elements and lists. Nested statements are left out: each is checked when it is parsed."""
    if isinstance(obj, BaseModel):
        own = getattr(obj, "path", None)
        if isinstance(obj, PolicyConfig) and own and not top:
            return
        path = own or path  # a statement, or choose's when, knows where it stands in the file
        liquid = getattr(obj, "policy_name", None) == "set-body" and getattr(obj, "template", None) == "liquid"
        for name, field in type(obj).model_fields.items():
            value, where = getattr(obj, name), path + (field.alias or name,)
            if liquid and name == "value" and isinstance(value, str):
                yield where, value, TEMPLATE
            else:
                yield from dynamic_values(value, where, top=False)
    elif isinstance(obj, (tuple, list)):
        for index, item in enumerate(obj):
            yield from dynamic_values(item, path + (index,), top=False)
    elif is_expression(obj):
        yield path, obj, EXPRESSION


def _place(text: str, offset: int, kind: str) -> str:
    """'at column 12 of the value' (1-based), with the line when the text spans lines."""
    what = "template" if kind == TEMPLATE else "value"
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    if "\n" in text:
        return f"at line {text.count(chr(10), 0, offset) + 1}, column {column} of the {what}"
    return f"at column {column} of the {what}"
