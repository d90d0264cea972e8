"""return-response: set-status, a set-header list and set-body, as in DESIGN.md's example."""


def test_design_example(policies):
    response = policies.statement("""
        - return-response:
            set-status: {code: 418, reason: "I'm a teapot"}
            set-header: [{name: x-short, exists-action: override, value: "yes"}]
            set-body: '{"teapot":true}'
    """)
    assert (response.set_status.code, response.set_status.reason) == (418, "I'm a teapot")
    (header,) = response.set_header
    assert (header.name, header.value) == ("x-short", ("yes",))
    assert response.set_body.value == '{"teapot":true}'
    assert response.response_variable_name is None


def test_single_header_mapping_and_variable(policies):
    response = policies.statement("""
        - return-response:
            response-variable-name: stored
            set-header: {name: x-a, value: b}
    """, section="on-error")
    assert response.response_variable_name == "stored"
    assert response.set_header[0].name == "x-a"
    assert response.set_status is None and response.set_body is None


def test_error_inside_a_child_element(policies):
    found = policies.error("""
        - return-response:
            set-status:
              code: 700  # <-
              reason: x
    """)
    assert (found.line, found.path) == (found.marked_line, f"{policies.at()}.return-response.set-status.code")
    assert found.message == "must be from 100 to 599, got 700"


def test_unknown_child_lists_the_children(policies):
    found = policies.error("""
        - return-response:
            set-url: http://x  # <-
    """)
    assert (found.line, found.path) == (found.marked_line, f"{policies.at()}.return-response.set-url")
    assert found.message == ("unknown attribute; known attributes: response-variable-name, set-body, set-header,"
                             " set-status")
