"""set-header (existing schema): loads one or many values; exists-action is an enum."""


def test_loads_value_list(policies):
    header = policies.statement("- set-header: {name: x-a, exists-action: append, value: [one, 2]}")
    assert (header.name, header.exists_action, header.value) == ("x-a", "append", ("one", 2))


def test_single_value_becomes_a_list_and_default_action_is_override(policies):
    header = policies.statement("- set-header: {name: x-a, value: one}", section="outbound")
    assert (header.exists_action, header.value) == ("override", ("one",))


def test_bad_exists_action(policies):
    found = policies.error("""
        - set-header:
            name: x-a
            exists-action: replace  # <-
    """)
    assert (found.line, found.path) == (found.marked_line, f"{policies.at()}.set-header.exists-action")
    assert "'override', 'skip', 'append' or 'delete'" in found.message
