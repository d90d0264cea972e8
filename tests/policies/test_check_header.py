"""check-header: all four attributes required, values optional."""


def test_loads(policies):
    check = policies.statement("""
        - check-header:
            name: x-tier
            failed-check-httpcode: 401
            failed-check-error-message: Not authorized
            ignore-case: true
            value: [gold, silver]
    """)
    assert (check.name, check.failed_check_httpcode, check.ignore_case) == ("x-tier", 401, True)
    assert check.failed_check_error_message == "Not authorized"
    assert check.value == ("gold", "silver")


def test_missing_required_attributes_each_reported(policies):
    found = policies.errors("- check-header: {name: x-tier}")
    assert sorted(f.path.rsplit(".", 1)[1] for f in found) == [
        "failed-check-error-message", "failed-check-httpcode", "ignore-case"]
    assert {f.message for f in found} == {"required, but missing"}


def test_header_name_checked(policies):
    found = policies.error("""
        - check-header:
            name: 'x tier'  # <-
            failed-check-httpcode: 401
            failed-check-error-message: denied
            ignore-case: false
    """)
    assert (found.line, found.path) == (found.marked_line, f"{policies.at()}.check-header.name")
    assert found.message.startswith("'x tier' is not a valid header name")


def test_inbound_only(policies):
    found = policies.error("""
        - check-header: {name: a, failed-check-httpcode: 401, failed-check-error-message: denied, ignore-case: false}  # <-
    """, section="outbound")
    assert found.message == "check-header may not stand in the outbound section"
