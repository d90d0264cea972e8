"""set-body: text short form, {value, template}; template none|liquid."""


def test_short_form(policies):
    body = policies.statement("- set-body: '{\"ok\": true}'", section="outbound")
    assert (body.value, body.template, body.xsi_nil) == ('{"ok": true}', "none", "blank")


def test_liquid_template(policies):
    body = policies.statement("- set-body: {value: '{% if body.x %}yes{% endif %}', template: liquid}")
    assert (body.value, body.template) == ("{% if body.x %}yes{% endif %}", "liquid")


def test_unknown_template(policies):
    found = policies.error("""
        - set-body:
            value: x
            template: mustache  # <-
    """)
    assert (found.line, found.path) == (found.marked_line, f"{policies.at()}.set-body.template")
    assert found.message == "Input should be 'none' or 'liquid'"


def test_multi_statement_expression_refused(policies):
    found = policies.error("- set-body: '@{ return 1; }'  # <-")
    assert found.line == found.marked_line
    assert found.message.startswith("multi-statement @{ ... } expressions are not supported")
