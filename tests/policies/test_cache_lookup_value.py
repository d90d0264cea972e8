"""cache-lookup-value: key, variable-name, default-value, caching-type."""


def test_loads(policies):
    lookup = policies.statement("""
        - cache-lookup-value:
            key: '@("userprofile-" + context.variables["id"])'
            variable-name: userprofile
            default-value: none-found
            caching-type: external
    """, section="backend")
    assert (lookup.variable_name, lookup.default_value, lookup.caching_type) == (
        "userprofile", "none-found", "external")
    assert lookup.key.startswith("@(")


def test_variable_name_required(policies):
    found = policies.error("- cache-lookup-value: {key: k}  # <-")
    assert (found.line, found.path) == (found.marked_line, f"{policies.at()}.cache-lookup-value.variable-name")
    assert found.message == "required, but missing"


def test_not_in_on_error(policies):
    found = policies.error("- cache-lookup-value: {key: k, variable-name: v}  # <-", section="on-error")
    assert found.message == "cache-lookup-value may not stand in the on-error section"
