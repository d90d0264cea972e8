"""set-backend-service: exactly one of backend-id and base-url; end to end: where the request goes."""
import pytest

from gwcore.config import ConfigError, load_plan
from gwcore.config.errors import format_path


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


def test_unknown_backend_id_is_refused_at_load(write_config):
    with pytest.raises(ConfigError) as info:
        load_plan(write_config(UNKNOWN))
    assert [(format_path(p.path), p.message) for p in info.value.problems] == [
        ("apis.a.policies.inbound[0].set-backend-service", "backend 'nowhere' is not defined in backends")]


UNKNOWN = """\
backends:
  b: {url: "http://127.0.0.1:9"}
apis:
  a:
    path: a
    backend: b
    subscription_required: false
    policies:
      inbound: [{set-backend-service: {backend-id: nowhere}}]
"""


# ---- end to end

E2E = """
backends:
  alt: {url: "http://127.0.0.1:{origin}/alt/"}
  tight: {url: "http://127.0.0.1:{origin}/tight", timeout: 500ms}
  pool:
    members:
      - {url: "http://127.0.0.1:{origin}/one"}
      - {url: "http://127.0.0.1:{origin}/two"}
apis:
  sbs:
    path: sbs
    backend: origin
    subscription_required: false
    operations:
      - {id: by-id, method: GET, url_template: /id, policies: {inbound: [{set-backend-service: {backend-id: alt}}]}}
      - {id: by-url, method: GET, url_template: /url,
         policies: {inbound: [{set-backend-service: {base-url: "http://localhost:{origin}/elsewhere/"}}]}}
      - {id: in-backend, method: GET, url_template: /in-backend,
         policies: {backend: [{set-backend-service: {backend-id: alt}}, base]}}
      - {id: tight, method: GET, url_template: /slow/tight,
         policies: {inbound: [{set-backend-service: {backend-id: tight}}]}}
      - {id: pool, method: GET, url_template: /pool, policies: {inbound: [{set-backend-service: {backend-id: pool}}]}}
      - id: rewritten
        method: GET
        url_template: "/things/{id}"
        policies:
          inbound:
            - set-backend-service: {backend-id: alt}
            - rewrite-uri: {template: "/v2/{id}"}
      - id: chosen
        method: GET
        url_template: /chosen
        policies:
          inbound:
            - choose:
                - when: {condition: "true", steps: [{set-backend-service: {base-url: "http://127.0.0.1:{origin}/picked"}}]}
"""


@pytest.fixture(scope="module")
def gw(serve):
    return serve(E2E)


def echo(gw, path: str) -> dict:
    answer = gw.get(path)
    assert answer.status == 200, answer.body
    return answer.echo


def test_requests_go_to_the_backend_named_by_id(gw, origin):
    sent = echo(gw, "/sbs/id?x=1")
    assert sent["target"] == "/alt/id?x=1"
    assert sent["headers"]["host"] == f"127.0.0.1:{origin.port}"


def test_base_url_with_its_own_host(gw, origin):
    sent = echo(gw, "/sbs/url")
    assert sent["target"] == "/elsewhere/url"
    assert sent["headers"]["host"] == f"localhost:{origin.port}"


def test_in_the_backend_section(gw):
    assert echo(gw, "/sbs/in-backend")["target"] == "/alt/in-backend"


def test_the_chosen_backends_timeout_applies(gw):
    answer = gw.get("/sbs/slow/tight?ms=1500")
    assert answer.json() == {"statusCode": 504, "message": "Backend service timed out"}


def test_a_pool_is_balanced(gw):
    targets = {echo(gw, "/sbs/pool")["target"] for _ in range(4)}
    assert targets == {"/one/pool", "/two/pool"}


def test_with_rewrite_uri(gw):
    assert echo(gw, "/sbs/things/9?q=1")["target"] == "/alt/v2/9?q=1"


def test_inside_choose(gw):
    assert echo(gw, "/sbs/chosen")["target"] == "/picked/chosen"
