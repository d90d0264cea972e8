"""cors: origins, methods (collapsed list or with preflight-result-max-age), headers."""


def test_collapsed_lists(policies):
    cors = policies.statement("""
        - cors:
            allowed-origins: ['https://app.example.com', 'http://localhost:8080/']
            allowed-methods: [get, POST, PATCH]
            allowed-headers: ['*']
    """)
    assert cors.allowed_origins == ("https://app.example.com", "http://localhost:8080/")
    assert cors.allowed_methods.method == ("GET", "POST", "PATCH")
    assert cors.allowed_methods.preflight_result_max_age == 0
    assert (cors.allow_credentials, cors.terminate_unmatched_request) == (False, True)
    assert cors.expose_headers == ()


def test_spelled_out_wrappers_and_max_age(policies):
    cors = policies.statement("""
        - cors:
            allow-credentials: true
            allowed-origins: {origin: ['https://a.example']}
            allowed-methods: {preflight-result-max-age: 300, method: [GET, DELETE]}
            allowed-headers: {header: [content-type, x-zumo-auth]}
            expose-headers: {header: x-zumo-installation-id}
    """)
    assert cors.allow_credentials is True
    assert cors.allowed_origins == ("https://a.example",)
    assert (cors.allowed_methods.preflight_result_max_age, cors.allowed_methods.method) == (300, ("GET", "DELETE"))
    assert cors.allowed_headers == ("content-type", "x-zumo-auth")
    assert cors.expose_headers == ("x-zumo-installation-id",)


def test_no_allowed_methods_means_default(policies):
    cors = policies.statement("- cors: {allowed-origins: ['*'], allowed-headers: ['*']}")
    assert cors.allowed_methods is None


def test_credentials_with_any_origin(policies):
    found = policies.error("""
        - cors:  # <-
            allow-credentials: true
            allowed-origins: ['*']
            allowed-headers: ['*']
    """)
    assert (found.line, found.path) == (found.marked_line, f"{policies.at()}.cors")
    assert found.message.startswith("allow-credentials: true cannot be combined with origin *")


def test_origin_shape(policies):
    found = policies.error("""
        - cors:
            allowed-origins: [app.example.com]  # <-
            allowed-headers: ['*']
    """)
    assert (found.line, found.path) == (found.marked_line, f"{policies.at()}.cors.allowed-origins")
    assert found.message == "origin 'app.example.com' must be scheme://host[:port], e.g. https://app.example.com"


def test_star_must_stand_alone(policies):
    found = policies.error("- cors: {allowed-origins: ['*', 'https://a'], allowed-headers: ['*']}  # <-")
    assert found.message.startswith("* allows every origin and must stand alone")


def test_allowed_headers_required(policies):
    found = policies.error("- cors: {allowed-origins: ['*']}  # <-")
    assert (found.path, found.message) == (f"{policies.at()}.cors.allowed-headers", "required, but missing")


def test_bad_method_inside_allowed_methods(policies):
    found = policies.error("""
        - cors:
            allowed-origins: ['*']
            allowed-headers: ['*']
            allowed-methods:
              preflight-result-max-age: 10
              method: ['GET POST']  # <-
    """)
    assert found.line == found.marked_line
    assert found.path == f"{policies.at()}.cors.allowed-methods.method[0]"
    assert found.message == "'GET POST' is not an HTTP method (e.g. GET, POST)"
