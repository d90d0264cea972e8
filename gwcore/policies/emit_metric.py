"""emit-metric: emit a custom metric with dimensions."""
from typing import Optional

from pydantic import Field, field_validator

from gwcore.policies import policy
from gwcore.policies.base import PolicyConfig
from gwcore.policies.fields import Element, Scalar, Text, TextOrExpr, is_expression, many

# Dimensions whose value the gateway knows, so they may be written without one.
DEFAULT_DIMENSIONS = ("API ID", "Operation ID", "Product ID", "User ID", "Subscription ID", "Location",
                      "Gateway ID")


class Dimension(Element):
    """A dimension of the metric; default dimensions (API ID, Operation ID, ...) may omit the value."""

    name: TextOrExpr = Field(description="Dimension name.")
    value: Optional[TextOrExpr] = Field(None, description="Dimension value; absent only for a default"
                                                          " dimension.")


@policy("emit-metric")
class EmitMetric(PolicyConfig):
    """Emits a custom metric (name, namespace, value) with up to 10 dimensions."""

    name: Text = Field(description="Metric name.")
    namespace: Text = Field("API Management", description="Metric namespace.")
    value: Scalar = Field(1, description="Metric value (a number) or @(expression).")
    dimension: many(Dimension) = Field(description="Dimensions: a list of {name, value}, 1 to 10.")

    @field_validator("value")
    @classmethod
    def _number(cls, value):
        if is_expression(value):
            return value
        try:
            if isinstance(value, bool):
                raise ValueError
            return float(value)
        except ValueError:
            raise ValueError(f"value is a number or an @(expression), got {value!r}") from None

    @field_validator("dimension")
    @classmethod
    def _dimensions(cls, dimensions: tuple):
        if not 1 <= len(dimensions) <= 10:
            raise ValueError(f"emit-metric takes 1 to 10 dimensions, got {len(dimensions)}")
        for item in dimensions:
            if item.value is None and item.name not in DEFAULT_DIMENSIONS:
                raise ValueError(f"dimension {item.name!r} needs a value; only {', '.join(DEFAULT_DIMENSIONS)}"
                                 " may omit it")
        return dimensions
