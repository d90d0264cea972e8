"""cache-store: duration (seconds or expression), outbound only."""


def test_loads(policies):
    store = policies.statement("- cache-store: {duration: 5m, cache-response: true}", section="outbound")
    assert (store.duration, store.cache_response) == (300.0, True)


def test_expression_duration(policies):
    store = policies.statement("- cache-store: {duration: '@(context.variables[\"ttl\"])'}", section="outbound")
    assert store.duration == '@(context.variables["ttl"])' and store.cache_response is False


def test_outbound_only(policies):
    found = policies.error("- cache-store: {duration: 60}  # <-")
    assert (found.line, found.path) == (found.marked_line, policies.at())
    assert found.message == "cache-store may not stand in the inbound section"


def test_duration_checked(policies):
    found = policies.error("""
        - cache-store:
            duration: soon  # <-
    """, section="outbound")
    assert (found.line, found.path) == (found.marked_line, f"{policies.at('outbound')}.cache-store.duration")
    assert found.message == "'soon' is not a duration; write 30, 30s, 500ms, 5m or 1h"
