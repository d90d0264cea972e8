"""emit-metric: name, namespace, value, 1-10 dimensions (default dimensions may omit their value)."""


def test_loads(policies):
    metric = policies.statement("""
        - emit-metric:
            name: Request
            value: 1
            namespace: my-metrics
            dimension:
              - {name: User ID}
              - {name: Client IP, value: '@(context.request.ip_address)'}
    """)
    assert (metric.name, metric.namespace, metric.value) == ("Request", "my-metrics", 1.0)
    assert [(d.name, d.value) for d in metric.dimension] == [
        ("User ID", None), ("Client IP", "@(context.request.ip_address)")]


def test_defaults(policies):
    metric = policies.statement("- emit-metric: {name: m, dimension: {name: API ID}}", section="on-error")
    assert (metric.namespace, metric.value) == ("API Management", 1.0)


def test_custom_dimension_needs_value(policies):
    found = policies.error("""
        - emit-metric:
            name: m
            dimension:  # <-
              - name: Tenant
    """)
    assert (found.line, found.path) == (found.marked_line, f"{policies.at()}.emit-metric.dimension")
    assert found.message.startswith("dimension 'Tenant' needs a value; only API ID, Operation ID")


def test_at_most_ten_dimensions(policies):
    dims = ", ".join(f"{{name: d{i}, value: v}}" for i in range(11))
    found = policies.error(f"- emit-metric: {{name: m, dimension: [{dims}]}}  # <-")
    assert found.message == "emit-metric takes 1 to 10 dimensions, got 11"


def test_value_is_a_number(policies):
    found = policies.error("- emit-metric: {name: m, value: many, dimension: {name: API ID}}  # <-")
    assert (found.path, found.message) == (f"{policies.at()}.emit-metric.value",
                                           "value is a number or an @(expression), got 'many'")
