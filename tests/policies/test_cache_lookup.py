"""cache-lookup: vary-by attributes, caching types, inbound only."""


def test_loads(policies):
    lookup = policies.statement("""
        - cache-lookup:
            vary-by-developer: false
            vary-by-developer-groups: false
            downstream-caching-type: public
            caching-type: internal
            vary-by-header: [Accept, Accept-Charset]
            vary-by-query-parameter: version
    """)
    assert (lookup.vary_by_developer, lookup.vary_by_developer_groups) == (False, False)
    assert (lookup.downstream_caching_type, lookup.caching_type) == ("public", "internal")
    assert (lookup.must_revalidate, lookup.allow_private_response_caching) == (True, False)
    assert lookup.vary_by_header == ("Accept", "Accept-Charset")
    assert lookup.vary_by_query_parameter == ("version",)


def test_defaults(policies):
    lookup = policies.statement("- cache-lookup: {vary-by-developer: true, vary-by-developer-groups: false}")
    assert (lookup.downstream_caching_type, lookup.caching_type) == ("none", "prefer-external")
    assert lookup.vary_by_header == ()


def test_caching_type_enum(policies):
    found = policies.error("""
        - cache-lookup:
            vary-by-developer: false
            vary-by-developer-groups: false
            caching-type: redis  # <-
    """)
    assert (found.line, found.path) == (found.marked_line, f"{policies.at()}.cache-lookup.caching-type")
    assert found.message == "Input should be 'internal', 'external' or 'prefer-external'"


def test_inbound_only(policies):
    found = policies.error("- cache-lookup: {vary-by-developer: false, vary-by-developer-groups: false}  # <-",
                           section="outbound")
    assert found.message == "cache-lookup may not stand in the outbound section"
