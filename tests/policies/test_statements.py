"""Every registered policy together in one file: each loads, and every statement is immutable and hashable."""
import pytest
from pydantic import ValidationError

from gwcore.config import load_plan
from gwcore.config.loader import walk_statements
from gwcore.policies import load_all

CONFIG = """\
backends:
  b: {url: "http://127.0.0.1:9"}
fragments:
  f:
    - set-variable: {name: from-fragment, value: 1}
apis:
  a:
    path: a
    backend: b
    policies:
      inbound:
        - base
        - cors: {allowed-origins: ['*'], allowed-headers: ['*']}
        - ip-filter: {action: allow, address: 127.0.0.1}
        - check-header: {name: x-a, failed-check-httpcode: 401, failed-check-error-message: m, ignore-case: true}
        - validate-jwt: {header-name: Authorization, issuer-signing-keys: [c2VjcmV0]}
        - validate-client-certificate: {}
        - rate-limit-by-key: {calls: 5, renewal-period: 10, counter-key: k}
        - quota-by-key: {calls: 5, renewal-period: 10, counter-key: k}
        - cache-lookup: {vary-by-developer: false, vary-by-developer-groups: false}
        - cache-lookup-value: {key: k, variable-name: v}
        - cache-store-value: {key: k, value: v, duration: 10}
        - cache-remove-value: {key: k}
        - set-variable: {name: v, value: 1}
        - set-header: {name: x-a, value: b}
        - set-query-parameter: {name: q, value: v}
        - set-method: GET
        - rewrite-uri: {template: /x}
        - set-backend-service: {backend-id: b}
        - set-body: body
        - find-and-replace: {from: a, to: b}
        - json-to-xml: {apply: always}
        - xml-to-json: {kind: direct, apply: always}
        - authentication-basic: {username: u, password: p}
        - authentication-certificate: {certificate-id: c}
        - trace: {source: s, message: m}
        - emit-metric: {name: m, dimension: {name: API ID}}
        - send-one-way-request: {set-url: 'http://x', set-method: POST}
        - include-fragment: f
        - wait:
            steps:
              - send-request: {response-variable-name: r, set-url: 'http://x', set-method: GET}
        - choose:
            - when: {condition: '@(true)', steps: [{mock-response: {}}]}
            - otherwise: [{return-response: {set-status: {code: 204, reason: No Content}}}]
      backend:
        - limit-concurrency:
            key: k
            max-count: 2
            steps:
              - retry: {condition: false, count: 1, interval: 0, steps: [{forward-request: {}}]}
      outbound:
        - cache-store: {duration: 60}
        - set-status: {code: 200, reason: OK}
products:
  p:
    apis: [a]
    policies:
      inbound:
        - rate-limit: {calls: 5, renewal-period: 60}
        - quota: {calls: 100, renewal-period: 0}
"""


@pytest.fixture(scope="module")
def statements(tmp_path_factory):
    path = tmp_path_factory.mktemp("all") / "gateway.yaml"
    path.write_text(CONFIG)
    pipeline = load_plan(str(path), behaviour=False).apis["a"].operations["*"].pipeline("p")
    return [s for section in (pipeline.inbound, pipeline.backend, pipeline.outbound)
            for s in walk_statements(section)]


def test_every_registered_policy_is_in_the_example(statements):
    assert sorted(load_all()) == sorted({s.policy_name for s in statements})


def test_statements_are_hashable_and_frozen(statements):
    for statement in statements:
        hash(statement)
        name = next(iter(type(statement).model_fields))
        with pytest.raises(ValidationError):
            setattr(statement, name, getattr(statement, name))
