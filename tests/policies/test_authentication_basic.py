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


def test_backend_gets_basic_credentials_and_the_callers_are_replaced(serve):
    client = serve("""
        apis:
          b:
            path: b
            backend: origin
            subscription_required: false
            policies:
              inbound: [{authentication-basic: {username: svc, password: "p@ss:word"}}]
        """)
    sent = client.get("/b/x", headers={"authorization": "Bearer caller-token"}).echo["headers"]
    assert sent["authorization"] == "Basic c3ZjOnBAc3M6d29yZA=="
