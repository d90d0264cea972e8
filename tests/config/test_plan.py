"""Compiling a config into the immutable Plan: base expansion, routes, backends, subscriptions."""
import dataclasses

import pytest
from pydantic import ValidationError

from gwcore.config import Plan
from gwcore.config.plan import ApiPlan, BackendPlan, Member, OperationPlan, Pipeline, SubscriptionPlan


def hs(name: str) -> str:
    """A set-header statement whose header name tells which scope and section it came from."""
    return f"{{set-header: {{name: {name}, value: v}}}}"


def names(statements) -> list:
    return [s.name if s.policy_name == "set-header" else s.policy_name for s in statements]


SCOPES = f"""\
backends:
  b: {{url: "http://127.0.0.1:9000"}}
policies:
  inbound: [base, {hs("g-in")}]
  backend: [{hs("g-be")}, {{forward-request: {{timeout: 10}}}}]
  outbound: [{hs("g-out")}]
  on-error: [{hs("g-err")}]
products:
  starter:
    apis: [inv]
    policies:
      inbound: [base, {hs("p-in")}]
      outbound: [{hs("p-out")}]
  bare:
    apis: [inv]
apis:
  inv:
    path: inventory
    backend: b
    policies:
      inbound: [{hs("a-in1")}, base, {hs("a-in2")}]
      backend: [base, {hs("a-be")}]
      on-error: []
    operations:
      - id: full
        method: GET
        url_template: /items
        policies:
          inbound: [base, {hs("o-in")}]
          outbound: [{hs("o-out")}, base]
      - id: none
        method: POST
        url_template: /items
"""


@pytest.fixture
def plan(cfg):
    return cfg.load(SCOPES)


def test_base_expands_global_api_operation(plan):
    pipeline = plan.apis["inv"].operations["full"].pipeline(None)
    assert isinstance(pipeline, Pipeline)
    assert names(pipeline.inbound) == ["a-in1", "g-in", "a-in2", "o-in"]
    # the operation has no backend section: it inherits the API's, which put global's at its base
    assert names(pipeline.backend) == ["g-be", "forward-request", "a-be"]
    # API has no outbound section: inherited; the operation puts base after its own statement
    assert names(pipeline.outbound) == ["o-out", "g-out"]
    # the API's on-error is empty and has no base: global's statements are dropped
    assert names(pipeline.on_error) == []


def test_base_expands_global_product_api_operation(plan):
    pipeline = plan.apis["inv"].operations["full"].pipeline("starter")
    assert names(pipeline.inbound) == ["a-in1", "g-in", "p-in", "a-in2", "o-in"]
    assert names(pipeline.backend) == ["g-be", "forward-request", "a-be"]
    # the product's outbound has no base: global's outbound is dropped for this product
    assert names(pipeline.outbound) == ["o-out", "p-out"]
    assert names(pipeline.on_error) == []


def test_operation_without_policies_inherits_everything(plan):
    op = plan.apis["inv"].operations["none"]
    assert names(op.pipeline(None).inbound) == ["a-in1", "g-in", "a-in2"]
    assert names(op.pipeline("starter").inbound) == ["a-in1", "g-in", "p-in", "a-in2"]
    assert names(op.pipeline("starter").outbound) == ["p-out"]
    assert names(op.pipeline(None).outbound) == ["g-out"]


def test_product_pipelines_only_under_their_product_key(plan):
    op = plan.apis["inv"].operations["full"]
    assert set(op.pipelines) == {None, "starter", "bare"}
    assert "p-in" not in names(op.pipeline(None).inbound)
    assert "p-in" in names(op.pipeline("starter").inbound)
    # a product without policies gives the same statements as no product
    same = ("inbound", "backend", "outbound", "on_error")
    assert [getattr(op.pipeline("bare"), s) for s in same] == [getattr(op.pipeline(None), s) for s in same]
    with pytest.raises(KeyError):
        op.pipeline("gold")


def test_base_at_global_scope_does_nothing_and_missing_sections_are_empty(cfg):
    """...but for the global backend section, which is forward-request unless the file says otherwise."""
    plan = cfg.load(f"""\
        apis:
          a: {{path: a}}
        policies:
          inbound: [base, {hs("g")}, ]
        """)
    pipeline = plan.apis["a"].operations["*"].pipeline(None)
    assert names(pipeline.inbound) == ["g"]
    assert names(pipeline.backend) == ["forward-request"]
    assert pipeline.outbound == pipeline.on_error == ()


def test_statements_are_shared_not_copied(plan):
    """Every pipeline refers to the one parsed statement of its scope."""
    full = plan.apis["inv"].operations["full"]
    none = plan.apis["inv"].operations["none"]
    assert full.pipeline(None).inbound[1] is none.pipeline("starter").inbound[1]
    assert full.pipeline(None).inbound[1].path == ("policies", "inbound", 1, "set-header")


# ---- routes ----------------------------------------------------------------------------------

def test_api_without_operations_gets_the_star_operation(cfg):
    plan = cfg.load("apis:\n  files: {path: files/v2}\n")
    api = plan.apis["files"]
    assert list(api.operations) == ["*"]
    op = api.operations["*"]
    assert (op.id, op.method, op.url_template, op.api) == ("*", "*", "/*", api)
    for method, path, rest in [("GET", "/files/v2/a/b/c.txt", "/a/b/c.txt"), ("DELETE", "/files/v2/x", "/x"),
                               ("PATCH", "/files/v2", "")]:
        found_api, found_op, params, found_rest = plan.match(method, path)
        assert (found_api, found_op, params, found_rest) == (api, op, {}, rest)
    assert plan.match("GET", "/files/v3/x") is None


def test_match_routes_to_api_and_operation(cfg):
    plan = cfg.load("""\
        apis:
          inv:
            path: inventory/v1
            operations:
              - {id: list, method: GET, url_template: /items}
              - {id: get, method: GET, url_template: "/items/{id}"}
              - {id: part, method: GET, url_template: "/items/{id}/parts/{part}"}
              - {id: create, method: POST, url_template: /items}
              - {id: any, method: "*", url_template: "/files/*"}
          ord:
            path: orders
        """)
    inv = plan.apis["inv"]
    api, op, params, rest = plan.match("GET", "/inventory/v1/items/42")
    assert (api, op, params, rest) == (inv, inv.operations["get"], {"id": "42"}, "/items/42")
    assert plan.match("GET", "/inventory/v1/items/42/parts/a7")[1:3] == (inv.operations["part"],
                                                                         {"id": "42", "part": "a7"})
    assert plan.match("POST", "/inventory/v1/items")[1] is inv.operations["create"]
    assert plan.match("GET", "/Inventory/V1/items")[1] is inv.operations["list"]
    assert plan.match("PUT", "/inventory/v1/files/a/b")[1] is inv.operations["any"]
    assert plan.match("DELETE", "/inventory/v1/items") is None
    assert plan.match("GET", "/inventory/v1/nothing") is None
    assert plan.match("GET", "/inventory/items") is None
    assert plan.match("GET", "/orders/1")[0] is plan.apis["ord"]
    assert plan.match("GET", "/elsewhere") is None


def test_operation_plans(cfg):
    plan = cfg.load("apis:\n  a:\n    path: a\n    operations:\n"
                    "      - {id: get, method: get, url_template: '/x/{id}'}\n")
    op = plan.apis["a"].operations["get"]
    assert isinstance(op, OperationPlan)
    assert (op.id, op.method, op.url_template) == ("get", "GET", "/x/{id}")


def test_api_plan_fields(cfg):
    plan = cfg.load("""\
        backends:
          b: {url: "http://h"}
        apis:
          a:
            path: /shop/
            backend: b
            subscription_required: false
            subscription_key_header: X-Key
            subscription_key_query: key
        products:
          p: {apis: [a], subscription_required: false}
        """)
    api = plan.apis["a"]
    assert isinstance(api, ApiPlan)
    assert (api.name, api.path, api.subscription_required, api.key_header, api.key_query) == (
        "a", "shop", False, "x-key", "key")
    assert api.backend is plan.backends["b"]
    assert (api.products, api.open_product, api.version, api.revision) == (("p",), "p", None, 1)


# ---- backends --------------------------------------------------------------------------------

@pytest.mark.parametrize("url, scheme, host, port, host_header, base_path", [
    ("http://example.com", "http", "example.com", 80, b"example.com", ""),
    ("http://example.com:80/", "http", "example.com", 80, b"example.com", ""),
    ("http://Example.COM:8080/api", "http", "example.com", 8080, b"example.com:8080", "/api"),
    ("https://example.com/v1/api/", "https", "example.com", 443, b"example.com", "/v1/api"),
    ("https://example.com:443", "https", "example.com", 443, b"example.com", ""),
    ("https://example.com:8443/x", "https", "example.com", 8443, b"example.com:8443", "/x"),
    ("http://example.com:443", "http", "example.com", 443, b"example.com:443", ""),
    ("http://127.0.0.1:9000/api", "http", "127.0.0.1", 9000, b"127.0.0.1:9000", "/api"),
    ("http://[::1]:9000/", "http", "::1", 9000, b"[::1]:9000", ""),
    ("http://[::1]/", "http", "::1", 80, b"[::1]", ""),
])
def test_backend_member_parsing(cfg, url, scheme, host, port, host_header, base_path):
    plan = cfg.load(f'backends:\n  b: {{url: "{url}"}}\n')
    backend = plan.backends["b"]
    assert isinstance(backend, BackendPlan)
    (member,) = backend.members
    assert isinstance(member, Member)
    assert (member.url, member.scheme, member.host, member.port, member.host_header, member.base_path) == (
        url, scheme, host, port, host_header, base_path)


def test_backend_pool(cfg):
    plan = cfg.load("""\
        backends:
          pool:
            load_balancing: least-requests
            timeout: 2m
            connect_timeout: 250ms
            idle_timeout: 1m
            max_idle_connections: 8
            members:
              - {url: "http://a:81/x"}
              - {url: "https://b", weight: 3, priority: 2}
        """)
    pool = plan.backends["pool"]
    assert (pool.name, pool.load_balancing, pool.timeout, pool.connect_timeout, pool.idle_timeout,
            pool.max_idle_connections) == ("pool", "least-requests", 120.0, 0.25, 60.0, 8)
    assert [(m.host_header, m.base_path, m.weight, m.priority) for m in pool.members] == [
        (b"a:81", "/x", 1, 1), (b"b", "", 3, 2)]


def test_backend_defaults(cfg):
    backend = cfg.load('backends:\n  b: {url: "http://h"}\n').backends["b"]
    assert (backend.load_balancing, backend.timeout, backend.connect_timeout) == ("round-robin", 300.0, 5.0)


@pytest.mark.parametrize("backend, message", [
    ('{url: "ftp://h"}', "is not an http:// or https:// URL with a host"),
    ('{url: "http://"}', "is not an http:// or https:// URL with a host"),
    ('{url: "h:80"}', "is not an http:// or https:// URL with a host"),
    ('{url: "http://h/?a=1"}', "a backend URL takes no query or fragment"),
    ('{url: "http://h:0/"}', "has an invalid port (0)"),
    ('{url: "http://h:99999/"}', "has an invalid port"),
    ('{url: "http://u:p@h/"}', "a backend URL takes no user:password@"),
    ('{url: "http://api.<zone>/"}', "'api.<zone>' is not a host name"),
    ('{url: "http://h", members: [{url: "http://i"}]}', "either `url` or `members`"),
    ("{timeout: 5}", "either `url` or `members`"),
    ("{members: []}", "members must list at least one member"),
    ('{members: [{url: "http://i", weight: 0}]}', "greater than or equal to 1"),
])
def test_bad_backends(cfg, backend, message):
    problem = cfg.problem(f"backends:\n  b: {backend}\n")
    assert problem.line == 2
    assert problem.path[:2] == ("backends", "b")
    assert message in problem.message


# ---- subscriptions ---------------------------------------------------------------------------

SUBSCRIPTIONS = """\
apis:
  a: {path: a}
products:
  p: {apis: [a]}
subscriptions:
  alice:
    scope: product:p
    primary_key: alice-primary-key-0001
    secondary_key: alice-secondary-key-0002
  bob:
    scope: api:a
    primary_key: bob-primary-key-00000003
    state: suspended
"""


def test_find_subscription_by_primary_and_secondary_key(cfg):
    plan = cfg.load(SUBSCRIPTIONS)
    alice = plan.find_subscription("alice-primary-key-0001")
    assert isinstance(alice, SubscriptionPlan)
    assert (alice.name, alice.scope, alice.target, alice.active) == ("alice", "product", "p", True)
    assert plan.find_subscription("alice-secondary-key-0002") is alice
    assert plan.subscriptions["alice"] is alice


@pytest.mark.parametrize("key", ["wrong-key-wrong-key-0000", "alice-primary-key-000", "alice-primary-key-00011",
                                 "ALICE-PRIMARY-KEY-0001", "", "alice"])
def test_wrong_key_finds_nothing(cfg, key):
    assert cfg.load(SUBSCRIPTIONS).find_subscription(key) is None


def test_suspended_subscription_is_found_but_inactive(cfg):
    bob = cfg.load(SUBSCRIPTIONS).find_subscription("bob-primary-key-00000003")
    assert (bob.name, bob.scope, bob.target, bob.active) == ("bob", "api", "a", False)


def test_keys_are_not_kept_in_the_clear(cfg):
    plan = cfg.load(SUBSCRIPTIONS)
    assert "alice-primary-key-0001" not in repr(plan.subscriptions)
    assert b"alice-primary-key-0001" not in b"".join(plan.subscriptions["alice"].digests)


# ---- the plan as a whole ---------------------------------------------------------------------

def test_plan_fields(cfg):
    path = cfg.write(SUBSCRIPTIONS)
    from gwcore.config import load_plan
    plan = load_plan(path, environ={}, generation=7)
    assert isinstance(plan, Plan)
    assert (plan.source, plan.generation) == (path, 7)
    assert plan.loaded_at > 0
    assert plan.settings is plan.config.gateway
    assert set(plan.products) == {"p"}
    assert plan.summary() == "1 APIs, 1 operations, 1 products, 2 subscriptions, 0 backends"


def test_plan_is_immutable(plan):
    api = plan.apis["inv"]
    op = api.operations["full"]
    pipeline = op.pipeline(None)
    member = plan.backends["b"].members[0]
    frozen = [(plan, "generation", 2), (plan, "apis", {}), (api, "backend", None), (api, "path", "x"),
              (op, "method", "PUT"), (op, "pipelines", {}), (pipeline, "inbound", ()),
              (plan.backends["b"], "timeout", 1.0), (member, "port", 1), (member, "host_header", b"x")]
    for obj, name, value in frozen:
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(obj, name, value)
    for cls in (Plan, ApiPlan, OperationPlan, Pipeline, BackendPlan, Member, SubscriptionPlan):
        assert cls.__dataclass_params__.frozen, cls
    assert isinstance(pipeline.inbound, tuple) and isinstance(plan.backends["b"].members, tuple)
    # the validated config and the policy statements are frozen too
    with pytest.raises(ValidationError):
        plan.settings.listen = "0.0.0.0:1"
    with pytest.raises(ValidationError):
        pipeline.inbound[0].name = "x-other"


def test_plan_objects_hash_by_identity(plan):
    api = plan.apis["inv"]
    assert len({api, *api.operations.values()}) == 3
