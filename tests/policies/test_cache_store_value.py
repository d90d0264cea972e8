"""cache-store-value: key, value, duration."""


def test_loads(policies):
    store = policies.statement("- cache-store-value: {key: k, value: '@(context.variables[\"p\"])', duration: 1h}",
                               section="outbound")
    assert (store.key, store.value, store.duration, store.caching_type) == (
        "k", '@(context.variables["p"])', 3600.0, "prefer-external")


def test_duration_positive(policies):
    found = policies.error("""
        - cache-store-value:
            key: k
            value: v
            duration: 0  # <-
    """)
    assert (found.line, found.path) == (found.marked_line, f"{policies.at()}.cache-store-value.duration")
    assert found.message == "must be more than 0 seconds, got 0"
