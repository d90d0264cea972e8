"""quota: calls and/or bandwidth, renewal-period 0 = for ever, product scope only."""


def test_loads_at_product_scope(policies):
    quota = policies.statement("""
        - quota:
            calls: 10000
            bandwidth: 40000
            renewal-period: 1h
            api:
              - id: a
                calls: 100
                renewal-period: 0
                operation: [{name: op, bandwidth: 10, renewal-period: 60}]
    """, scope="product")
    assert (quota.calls, quota.bandwidth, quota.renewal_period) == (10000, 40000, 3600.0)
    (api,) = quota.api
    assert (api.id, api.calls, api.bandwidth, api.renewal_period) == ("a", 100, None, 0.0)
    assert (api.operation[0].name, api.operation[0].bandwidth) == ("op", 10)


def test_needs_calls_or_bandwidth(policies):
    found = policies.error("- quota: {renewal-period: 60}  # <-", scope="product")
    assert (found.line, found.path) == (found.marked_line, f"{policies.at(scope='product')}.quota")
    assert found.message == "quota needs calls, bandwidth or both"


def test_nested_quota_needs_calls_or_bandwidth(policies):
    found = policies.error("""
        - quota:
            calls: 5
            renewal-period: 60
            api:
              - {name: a, renewal-period: 60}  # <-
    """, scope="product")
    assert (found.line, found.path) == (found.marked_line, f"{policies.at(scope='product')}.quota.api[0]")
    assert found.message == "an API quota needs calls, bandwidth or both"


def test_product_scope_only(policies):
    found = policies.error("- quota: {calls: 5, renewal-period: 60}  # <-", scope="operation")
    assert (found.line, found.path) == (found.marked_line, f"{policies.at(scope='operation')}.quota")
    assert found.message == "quota may not stand at operation scope; put it in the policies of a product"


def test_negative_period(policies):
    found = policies.error("""
        - quota:
            calls: 5
            renewal-period: -1  # <-
    """, scope="product")
    assert (found.line, found.path) == (found.marked_line, f"{policies.at(scope='product')}.quota.renewal-period")
    assert found.message == "a duration cannot be negative"
