"""send-one-way-request: like send-request without a response variable."""


def test_loads(policies):
    send = policies.statement("""
        - send-one-way-request:
            mode: new
            timeout: 5s
            set-url: https://hooks.example/alert
            set-method: POST
            set-body: '{"text": "backend error"}'
    """, section="outbound")
    assert (send.mode, send.timeout, send.set_url, send.set_method) == ("new", 5.0, "https://hooks.example/alert",
                                                                        "POST")
    assert send.set_body.value == '{"text": "backend error"}'


def test_has_no_response_variable(policies):
    found = policies.error("""
        - send-one-way-request:
            mode: copy
            response-variable-name: r  # <-
    """)
    assert (found.line, found.path) == (found.marked_line,
                                        f"{policies.at()}.send-one-way-request.response-variable-name")
    assert found.message.startswith("unknown attribute; known attributes: id, mode, set-body, set-header")


def test_url_must_be_http(policies):
    found = policies.error("""
        - send-one-way-request:
            set-url: hooks.example/alert  # <-
            set-method: POST
    """)
    assert (found.line, found.path) == (found.marked_line, f"{policies.at()}.send-one-way-request.set-url")
    assert found.message == "'hooks.example/alert' is not an http:// or https:// URL with a host"
