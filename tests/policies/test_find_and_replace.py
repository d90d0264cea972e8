"""find-and-replace: from and to; an empty `to` removes the text."""


def test_loads(policies):
    replace = policies.statement("- find-and-replace: {from: notebook, to: laptop}", section="outbound")
    assert (replace.from_, replace.to) == ("notebook", "laptop")


def test_empty_replacement(policies):
    assert policies.statement("- find-and-replace: {from: secret, to: ''}").to == ""


def test_from_must_not_be_empty(policies):
    found = policies.error("""
        - find-and-replace:
            from: ''  # <-
            to: x
    """)
    assert (found.line, found.path) == (found.marked_line, f"{policies.at()}.find-and-replace.from")
    assert found.message == "must not be empty"
