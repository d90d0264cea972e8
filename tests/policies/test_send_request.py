"""send-request: mode, response variable, timeout, child set-url/set-method/set-header/set-body."""


def test_loads(policies):
    send = policies.statement("""
        - send-request:
            mode: new
            response-variable-name: tokenstate
            timeout: 20
            ignore-error: true
            set-url: https://auth.example/introspection
            set-method: post
            set-header:
              - {name: Content-Type, exists-action: override, value: application/x-www-form-urlencoded}
            set-body: '@("token=" + context.variables["token"])'
    """)
    assert (send.mode, send.response_variable_name, send.timeout, send.ignore_error) == (
        "new", "tokenstate", 20.0, True)
    assert (send.set_url, send.set_method) == ("https://auth.example/introspection", "POST")
    assert send.set_header[0].name == "Content-Type"
    assert send.set_body.value == '@("token=" + context.variables["token"])'


def test_copy_mode_and_value_form(policies):
    send = policies.statement("""
        - send-request:
            mode: copy
            response-variable-name: r
            set-url: {value: 'http://mirror.example'}
    """, section="outbound")
    assert (send.mode, send.set_url, send.set_method, send.timeout) == ("copy", "http://mirror.example", None, 60.0)


def test_new_mode_needs_url_and_method(policies):
    found = policies.error("- send-request: {response-variable-name: r}  # <-")
    assert (found.line, found.path) == (found.marked_line, f"{policies.at()}.send-request")
    assert found.message == ("mode new builds a request from scratch and needs set-url and set-method;"
                             " or use mode: copy")


def test_response_variable_required(policies):
    found = policies.error("- send-request: {mode: copy}  # <-")
    assert (found.path, found.message) == (f"{policies.at()}.send-request.response-variable-name",
                                           "required, but missing")


def test_timeout_positive(policies):
    found = policies.error("""
        - send-request:
            mode: copy
            response-variable-name: r
            timeout: 0  # <-
    """)
    assert (found.line, found.path) == (found.marked_line, f"{policies.at()}.send-request.timeout")
    assert found.message == "must be more than 0 seconds, got 0"
