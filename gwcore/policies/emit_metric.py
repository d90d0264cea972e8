"""emit-metric: emit a custom metric with dimensions (a counter in the admin listener's /metrics)."""
import socket
from typing import Optional

from pydantic import Field, field_validator

from gwcore.observability.metrics import add_custom
from gwcore.pipeline.errors import PolicyError
from gwcore.pipeline.steps import as_text, one_value
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

    def compile(self, c) -> list:
        """Adds `value` to gwcore_custom_<name>_total{namespace, <dimension>...}. Dimension names are
        the counter's labels, so they are fixed at load; their values may be expressions."""
        labels = ["namespace"]
        getters = [lambda ctx, namespace=self.namespace: namespace]
        for item in self.dimension:
            if is_expression(item.name):
                c.problem(self, f"dimension name {item.name!r}: a metric's dimension names are fixed; write the"
                                " name as text and put the expression in its value")
                return []
            labels.append(item.name)
            getters.append(one_value(c, item.value, as_text) if item.value is not None else _default(item.name))
        labels = tuple(labels)
        amount = one_value(c, self.value)
        name = self.name

        def emit_metric(ctx):
            value = amount(ctx)
            try:
                value = float(value)
            except (TypeError, ValueError):
                raise PolicyError(500, "Expression evaluation failed. emit-metric value is not a number.",
                                  "ExpressionValueEvaluationFailure", source="emit-metric") from None
            add_custom(name, labels, tuple(get(ctx) for get in getters), value)

        return [emit_metric]


_GATEWAY_ID = socket.gethostname()
_DEFAULTS = {
    "API ID": lambda ctx: ctx.api.id if ctx.api else "",
    "Operation ID": lambda ctx: ctx.operation.id if ctx.operation else "",
    "Product ID": lambda ctx: ctx.product.id if ctx.product else "",
    "Subscription ID": lambda ctx: ctx.subscription.id if ctx.subscription else "",
    "User ID": lambda ctx: "",            # gwcore has subscriptions, not users
    "Location": lambda ctx: "self-hosted",
    "Gateway ID": lambda ctx: _GATEWAY_ID,
}


def _default(name: str):
    """The value the gateway knows for a default dimension written without one."""
    return _DEFAULTS[name]
