"""trace: source, severity, message (text element) and metadata."""


def test_loads(policies):
    trace = policies.statement("""
        - trace:
            source: PetStore API
            severity: information
            message: '@(context.variables["id"])'
            metadata:
              - {name: Operation Name, value: New-Order}
    """)
    assert (trace.source, trace.severity, trace.message) == ("PetStore API", "information",
                                                             '@(context.variables["id"])')
    assert [(m.name, m.value) for m in trace.metadata] == [("Operation Name", "New-Order")]


def test_defaults_and_value_form_message(policies):
    trace = policies.statement("- trace: {source: s, message: {value: hello}}", section="on-error")
    assert (trace.severity, trace.message, trace.metadata) == ("verbose", "hello", ())


def test_severity_enum(policies):
    found = policies.error("""
        - trace:
            source: s
            severity: warning  # <-
            message: m
    """)
    assert (found.line, found.path) == (found.marked_line, f"{policies.at()}.trace.severity")
    assert found.message == "Input should be 'verbose', 'information' or 'error'"


def test_metadata_needs_value(policies):
    found = policies.error("""
        - trace:
            source: s
            message: m
            metadata:
              - name: only-name  # <-
    """)
    assert (found.line, found.path) == (found.marked_line, f"{policies.at()}.trace.metadata[0].value")
    assert found.message == "required, but missing"
