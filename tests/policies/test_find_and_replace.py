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


def test_find_and_replace_in_request_and_response_bodies(serve):
    client = serve("""
        apis:
          f:
            path: f
            backend: origin
            subscription_required: false
            policies:
              inbound: [{find-and-replace: {from: secret, to: "[hidden]"}}]
              outbound: [{find-and-replace: {from: '"method"', to: '"verb"'}}]
        """)
    answer = client("POST", "/f/x", body=b"my secret is secret", headers={"content-type": "text/plain"})
    echo = answer.json()
    assert echo["body"] == "my [hidden] is [hidden]"
    assert echo["verb"] == "POST" and "method" not in echo
