"""set-backend-service: exactly one of backend-id and base-url."""


def test_backend_id(policies):
    service = policies.statement("- set-backend-service: {backend-id: b}")
    assert (service.backend_id, service.base_url) == ("b", None)


def test_base_url_in_backend_section(policies):
    service = policies.statement("- set-backend-service: {base-url: 'https://other.example/api'}",
                                 section="backend")
    assert service.base_url == "https://other.example/api"


def test_both_given(policies):
    found = policies.error("- set-backend-service: {backend-id: b, base-url: 'http://x'}  # <-")
    assert (found.line, found.path) == (found.marked_line, f"{policies.at()}.set-backend-service")
    assert found.message == "backend-id and base-url exclude each other; keep only one of backend-id or base-url"


def test_neither_given(policies):
    found = policies.error("- set-backend-service: {}  # <-")
    assert found.message == "set-backend-service needs one of backend-id or base-url"


def test_base_url_must_be_http(policies):
    found = policies.error("""
        - set-backend-service:
            base-url: ftp://files.example  # <-
    """)
    assert (found.line, found.path) == (found.marked_line, f"{policies.at()}.set-backend-service.base-url")
    assert found.message == "'ftp://files.example' is not an http:// or https:// URL with a host"
