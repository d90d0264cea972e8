"""cache-remove-value: key and caching-type."""


def test_loads(policies):
    remove = policies.statement("- cache-remove-value: {key: k, caching-type: internal}")
    assert (remove.key, remove.caching_type) == ("k", "internal")


def test_key_required(policies):
    found = policies.error("- cache-remove-value: {caching-type: internal}  # <-")
    assert (found.line, found.path) == (found.marked_line, f"{policies.at()}.cache-remove-value.key")
    assert found.message == "required, but missing"
