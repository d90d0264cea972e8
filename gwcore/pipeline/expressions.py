"""Placeholder until the expression language lands: literals pass, @(expressions) are refused."""
from gwcore.policies.fields import is_expression


class ExpressionError(ValueError):
    def __init__(self, message: str, offset: int = 0):
        super().__init__(message)
        self.message = message
        self.offset = offset


class ExpressionEvaluationFailure(Exception):
    reason = "ExpressionValueEvaluationFailure"


def compile_value(value):
    if is_expression(value):
        raise ExpressionError("expressions are not available in this build yet")
    return value


def is_dynamic(value) -> bool:
    return callable(value)
