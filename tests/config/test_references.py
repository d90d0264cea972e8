"""Cross checks of a config: names that must exist, duplicates, versions, revisions, routes that never match."""
import pytest

from gwcore.config.errors import format_path

KEY_A = "aaaaaaaaaaaaaaaaaaaa"
KEY_B = "bbbbbbbbbbbbbbbbbbbb"
KEY_C = "cccccccccccccccccccc"


def where(problem) -> tuple:
    return problem.line, format_path(problem.path)


# ---- names that must exist -------------------------------------------------------------------

def test_api_naming_a_missing_backend(cfg):
    problem = cfg.problem("""\
        backends:
          inventory: {url: "http://h"}
          orders: {url: "http://o"}
        apis:
          a:
            path: a
            backend: warehouse   # <-
        """)
    assert where(problem) == (cfg.line(), "apis.a.backend")
    assert problem.column == 5
    assert problem.message == "backend 'warehouse' is not defined in backends (defined: inventory, orders)"


def test_api_without_backend_is_allowed(cfg):
    plan = cfg.load("apis:\n  a: {path: a}\n")
    assert plan.apis["a"].backend is None


def test_invalid_backend_still_counts_as_defined(cfg):
    problem = cfg.problem("""\
        backends:
          inventory: {url: "http://h", timeout: later}   # <-
        apis:
          a: {path: a, backend: inventory}
        """)
    assert where(problem) == (cfg.line(), "backends.inventory.timeout")


def test_product_naming_a_missing_api(cfg):
    problem = cfg.problem("""\
        apis:
          a: {path: a}
        products:
          p:
            apis:
              - a
              - b   # <-
        """)
    assert where(problem) == (cfg.line(), "products.p.apis[1]")
    assert problem.message == "API 'b' is not defined in apis"


def test_product_listing_an_api_twice(cfg):
    problem = cfg.problem("""\
        apis:
          a: {path: a}
        products:
          p:
            subscription_required: false
            apis:
              - a
              - a   # <-
        """)
    assert where(problem) == (cfg.line(), "products.p.apis[1]")
    assert problem.message == "API 'a' is listed twice in this product"


@pytest.mark.parametrize("scope, message", [
    ("product:gold", "product 'gold' is not defined in products"),
    ("api:billing", "API 'billing' is not defined in apis"),
])
def test_subscription_with_unknown_scope_target(cfg, scope, message):
    problem = cfg.problem(f"""\
        apis:
          a: {{path: a}}
        products:
          p: {{apis: [a]}}
        subscriptions:
          s:
            scope: "{scope}"   # <-
            primary_key: {KEY_A}
        """)
    assert where(problem) == (cfg.line(), "subscriptions.s.scope")
    assert problem.message == message


@pytest.mark.parametrize("scope", ["everything", "product:", "api:", "group:x", "product", "ALL", ""])
def test_malformed_subscription_scope(cfg, scope):
    problem = cfg.problem(f"""\
        subscriptions:
          s:
            scope: "{scope}"   # <-
            primary_key: {KEY_A}
        """)
    assert where(problem) == (cfg.line(), "subscriptions.s.scope")
    assert problem.message == "scope is `all`, `product:NAME` or `api:NAME`"


def test_valid_scopes(cfg):
    plan = cfg.load(f"""\
        apis:
          a: {{path: a}}
        products:
          p: {{apis: [a]}}
        subscriptions:
          s1: {{scope: all, primary_key: {KEY_A}}}
          s2: {{scope: "product:p", primary_key: {KEY_B}}}
          s3: {{scope: "api:a", primary_key: {KEY_C}}}
        """)
    assert [(s.scope, s.target) for s in plan.subscriptions.values()] == [("all", None), ("product", "p"),
                                                                          ("api", "a")]


# ---- subscription keys -----------------------------------------------------------------------

def test_duplicate_key_across_subscriptions(cfg):
    problems = cfg.problems(f"""\
        subscriptions:
          alice: {{scope: all, primary_key: {KEY_A}, secondary_key: {KEY_B}}}
          bob:
            scope: all
            primary_key: {KEY_C}
            secondary_key: {KEY_A}   # <- bob
          carol:
            scope: all
            primary_key: {KEY_B}     # <- carol
        """)
    assert [where(p) for p in problems] == [(cfg.line("bob"), "subscriptions.bob.secondary_key"),
                                            (cfg.line("carol"), "subscriptions.carol.primary_key")]
    assert problems[0].message == ("this key is already used by subscriptions.alice.primary_key;"
                                   " keys must be unique")
    assert "subscriptions.alice.secondary_key" in problems[1].message
    for problem in problems:
        for key in (KEY_A, KEY_B, KEY_C):
            assert key not in str(problem)
            assert key[:8] not in str(problem)


def test_same_key_twice_in_one_subscription(cfg):
    problem = cfg.problem(f"subscriptions:\n  s: {{scope: all, primary_key: {KEY_A}, secondary_key: {KEY_A}}}\n")
    assert problem.path == ("subscriptions", "s", "secondary_key")
    assert KEY_A not in str(problem)


@pytest.mark.parametrize("field", ["primary_key", "secondary_key"])
def test_key_shorter_than_16_characters(cfg, field):
    short = "s3cr3t-tiny-key"  # 15
    keys = {"primary_key": KEY_A, "secondary_key": KEY_B, field: short}
    problem = cfg.problem(f"""\
        subscriptions:
          s:
            scope: all
            primary_key: "{keys['primary_key']}"
            secondary_key: "{keys['secondary_key']}"
        """)
    assert problem.path == ("subscriptions", "s", field)
    assert problem.line == (4 if field == "primary_key" else 5)
    assert "16" in problem.message
    assert short not in str(problem)


def test_key_of_exactly_16_characters_is_accepted(cfg):
    plan = cfg.load("subscriptions:\n  s: {scope: all, primary_key: '0123456789abcdef'}\n")
    assert plan.find_subscription("0123456789abcdef").name == "s"


# ---- API paths, versions, revisions ----------------------------------------------------------

def test_duplicate_api_paths(cfg):
    problem = cfg.problem("""\
        apis:
          one: {path: inventory/v1}
          two: {path: /Inventory/V1/}   # <-
        """)
    assert where(problem) == (cfg.line(), "apis.two.path")
    assert problem.message == ("duplicate API path: /inventory/v1 revision 1 is already served by API 'one'")


def test_path_version_collides_with_a_literal_path(cfg):
    problem = cfg.problem("""\
        apis:
          literal: {path: shop/v2}
          versioned: {path: shop, version: v2, version_scheme: path}   # <-
        """)
    assert where(problem) == (cfg.line(), "apis.versioned.path")


def test_versions_on_one_path_with_one_scheme(cfg):
    plan = cfg.load("""\
        apis:
          original: {path: shop}
          v1: {path: shop, version: v1, version_scheme: header}
          v2: {path: shop, version: v2, version_scheme: header}
        """)
    assert plan.match("GET", "/shop/x")[0].name == "original"
    assert plan.match("GET", "/shop/x", "", {"api-version": "v2"})[0].name == "v2"
    assert plan.match("GET", "/shop/x", "", {"api-version": "v9"}) is None


@pytest.mark.parametrize("first, second", [("header", "query"), ("query", "header"), ("path", "header"),
                                           ("header", "path"), ("query", "path")])
def test_two_versions_with_different_schemes(cfg, first, second):
    problem = cfg.problem(f"""\
        apis:
          v1: {{path: shop, version: v1, version_scheme: {first}}}
          v2: {{path: shop, version: v2, version_scheme: {second}}}   # <-
        """)
    assert where(problem) == (cfg.line(), "apis.v2.version_scheme")
    assert problem.message == (f"versions of /shop must use one version scheme: API 'v1' uses {first},"
                               f" this one {second}")


@pytest.mark.parametrize("scheme, field", [("header", "version_header"), ("query", "version_query")])
def test_two_versions_naming_different_header_or_query(cfg, scheme, field):
    problem = cfg.problem(f"""\
        apis:
          v1: {{path: shop, version: v1, version_scheme: {scheme}}}
          v2:
            path: shop
            version: v2
            version_scheme: {scheme}
            {field}: x-shop-version   # <-
        """)
    assert where(problem) == (cfg.line(), f"apis.v2.{field}")


def test_version_header_must_be_a_header_name(cfg):
    problem = cfg.problem("apis:\n  v1: {path: shop, version: v1, version_scheme: header, version_header: 'api version'}\n")
    assert where(problem) == (2, "apis.v1.version_header")


def test_same_version_twice(cfg):
    problem = cfg.problem("""\
        apis:
          a: {path: shop, version: v1, version_scheme: query}
          b: {path: shop, version: v1, version_scheme: query}   # <-
        """)
    assert where(problem) == (cfg.line(), "apis.b.path")
    assert problem.message.startswith("duplicate API path: version 'v1' of /shop revision 1")


@pytest.mark.parametrize("currents", [(None, None), (True, True), (False, False)])
def test_revisions_need_exactly_one_current(cfg, currents):
    flags = ["" if c is None else f", current: {str(c).lower()}" for c in currents]
    problem = cfg.problem(f"""\
        apis:
          r1: {{path: crm, revision: 1{flags[0]}}}
          r2: {{path: crm, revision: 2{flags[1]}}}   # <-
        """)
    assert where(problem) == (cfg.line(), "apis.r2.current")
    assert problem.message == "revisions of /crm need exactly one with `current: true`"


def test_revisions_with_one_current(cfg):
    plan = cfg.load("""\
        apis:
          r1: {path: crm, revision: 1, current: true}
          r2: {path: crm, revision: 2}
        """)
    assert plan.match("GET", "/crm/leads")[0].name == "r1"
    api, op, params, rest = plan.match("GET", "/crm;rev=2/leads")
    assert (api.name, api.revision, rest) == ("r2", 2, "/leads")


def test_same_revision_twice(cfg):
    problems = cfg.problems("""\
        apis:
          r1: {path: crm, revision: 3, current: true}
          r2: {path: crm, revision: 3}   # <-
        """)
    assert (problems[0].line, problems[0].path) == (cfg.line(), ("apis", "r2", "path"))
    assert "revision 3 is already served by API 'r1'" in problems[0].message


# ---- operations ------------------------------------------------------------------------------

def ops(*lines: str) -> str:
    return "apis:\n  a:\n    path: a\n    operations:\n" + "".join(f"      - {line}\n" for line in lines)


def test_duplicate_operation_ids(cfg):
    problem = cfg.problem(ops("{id: get, method: GET, url_template: /a}",
                              "{id: get, method: GET, url_template: /b}   # <-"))
    assert where(problem) == (cfg.line(), "apis.a.operations[1].id")
    assert problem.message == "operation id 'get' is used twice in this API"


def test_same_method_and_path_shape(cfg):
    problem = cfg.problem(ops("{id: by-id, method: GET, url_template: '/i/{id}'}",
                              "{id: by-x, method: get, url_template: '/I/{x}/'}   # <-"))
    assert where(problem) == (cfg.line(), "apis.a.operations[1].url_template")
    assert problem.message == "GET /I/{x}/ can never match: operation 'by-id' has the same method and path shape"


def test_different_method_or_shape_is_fine(cfg):
    plan = cfg.load(ops("{id: get, method: GET, url_template: '/i/{id}'}",
                        "{id: put, method: PUT, url_template: '/i/{id}'}",
                        "{id: new, method: GET, url_template: /i/new}",
                        "{id: sub, method: GET, url_template: '/i/{id}/parts'}"))
    assert plan.match("GET", "/a/i/new")[1].id == "new"
    assert plan.match("GET", "/a/i/7")[1].id == "get"
    assert plan.match("PUT", "/a/i/7")[1].id == "put"
    assert plan.match("GET", "/a/i/7/parts")[1].id == "sub"


@pytest.mark.parametrize("template, message", [
    ("'/i/{id}/j/{id}'", "parameter {id} stands twice in the template"),
    ("'/i/x{id}'", "segment 'x{id}': a parameter is a whole segment like {id} with a name of letters, digits and _"),
    ("'/i/{a-b}'", "segment '{a-b}': a parameter is a whole segment like {id} with a name of letters, digits and _"),
    ("'/*/i'", "* may stand only as the last segment"),
    ("i", "a url_template starts with /"),
    ("'/i?x=1'", "a url_template is a path only (no ? or #)"),
])
def test_bad_url_templates(cfg, template, message):
    problem = cfg.problem(ops(f"{{id: op, method: GET, url_template: {template}}}   # <-"))
    assert where(problem) == (cfg.line(), "apis.a.operations[0].url_template")
    assert problem.message == message


def test_operation_claimed_by_a_longer_api_path(cfg):
    problem = cfg.problem("""\
        apis:
          shop:
            path: shop
            operations:
              - {id: items, method: GET, url_template: /items}
              - {id: orders, method: GET, url_template: '/orders/{id}'}   # <-
          orders:
            path: shop/orders
        """)
    assert where(problem) == (cfg.line(), "apis.shop.operations[1].url_template")
    assert problem.message == "can never match: API 'orders' has the longer path /shop/orders"


def test_parameter_before_a_longer_api_path_can_match(cfg):
    plan = cfg.load("""\
        apis:
          shop:
            path: shop
            operations:
              - {id: any, method: GET, url_template: '/{section}/list'}
          orders:
            path: shop/orders
        """)
    assert plan.match("GET", "/shop/toys/list")[1].id == "any"
    assert plan.match("GET", "/shop/orders/list")[0].name == "orders"


# ---- products --------------------------------------------------------------------------------

def test_api_in_two_open_products(cfg):
    problem = cfg.problem("""\
        apis:
          a: {path: a}
        products:
          free: {apis: [a], subscription_required: false}
          closed: {apis: [a]}
          trial:
            apis: [a]
            subscription_required: false   # <-
        """)
    assert where(problem) == (cfg.line(), "products.trial.subscription_required")
    assert problem.message == "API 'a' is in more than one open product (free, trial); APIM allows one"


def test_api_in_one_open_and_one_closed_product(cfg):
    plan = cfg.load("""\
        apis:
          a: {path: a}
        products:
          free: {apis: [a], subscription_required: false}
          gold: {apis: [a]}
        """)
    assert plan.apis["a"].products == ("free", "gold")
    assert plan.apis["a"].open_product == "free"


# ---- fragments -------------------------------------------------------------------------------

FRAGMENTS = """\
fragments:
  tag:
    - set-header: {name: x-tag, value: t}
  forward:
    - forward-request: {timeout: 10}
apis:
  a:
    path: a
    policies:
"""


def test_include_fragment_naming_a_missing_fragment(cfg):
    problem = cfg.problem(FRAGMENTS + """\
      inbound:
        - include-fragment: tag
        - choose:
            - when:
                condition: '@(true)'
                steps:
                  - include-fragment: {fragment-id: missing}   # <-
""")
    assert where(problem) == (cfg.line(), "apis.a.policies.inbound[1].choose[0].when.steps[0].include-fragment")
    assert problem.message == "fragment 'missing' is not defined in fragments"


def test_fragment_included_where_its_policies_may_stand(cfg):
    plan = cfg.load(FRAGMENTS + "      inbound: [{include-fragment: tag}]\n"
                                "      backend: [{include-fragment: forward}]\n")
    pipeline = plan.apis["a"].operations["*"].pipeline(None)
    assert [s.fragment_id for s in pipeline.inbound + pipeline.backend] == ["tag", "forward"]


def test_fragment_included_in_a_section_its_policies_may_not_stand_in(cfg):
    problem = cfg.problem(FRAGMENTS + """\
      inbound:
        - include-fragment: forward   # <-
""")
    assert where(problem) == (cfg.line(), "apis.a.policies.inbound[0].include-fragment")
    assert problem.message == "fragment 'forward' holds forward-request, which may not stand in the inbound section"


def test_fragment_including_itself(cfg):
    problem = cfg.problem("""\
        fragments:
          a: [{include-fragment: b}]
          b:
            - set-header: {name: x, value: y}
            - include-fragment: a   # <-
        policies:
          inbound: [{include-fragment: a}]
        """)
    assert where(problem) == (cfg.line(), "fragments.b[1].include-fragment")
    assert problem.message == "fragment includes itself: a -> b -> a"


def test_base_inside_a_fragment(cfg):
    problem = cfg.problem("fragments:\n  f: [base]\n")
    assert where(problem) == (2, "fragments.f[0]")
