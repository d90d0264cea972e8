"""authentication-basic: username and password."""


def test_loads(policies):
    basic = policies.statement("- authentication-basic: {username: svc, password: 's3cr:et'}")
    assert (basic.username, basic.password) == ("svc", "s3cr:et")


def test_username_without_colon(policies):
    found = policies.error("""
        - authentication-basic:
            username: 'svc:x'  # <-
            password: p
    """)
    assert (found.line, found.path) == (found.marked_line, f"{policies.at()}.authentication-basic.username")
    assert found.message == "a Basic user name cannot contain ':' (it separates user name and password)"


def test_password_required(policies):
    found = policies.error("- authentication-basic: {username: svc}  # <-")
    assert (found.path, found.message) == (f"{policies.at()}.authentication-basic.password", "required, but missing")
