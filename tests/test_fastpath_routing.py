"""Router, on both fast path twins: API prefixes, operations, versions, revisions."""
import pytest

ALL = [("all", "*", "/*")]   # what the config compiler passes for an API without operations


def spec(api, path, ops=ALL, scheme=None, version=None, version_name=None, revision=1, current=True):
    """A route spec as gwcore.config.plan builds it."""
    segments = [s for s in path.split("/") if s]
    return (api, segments, scheme, version, version_name, revision, current, ops)


def route(twin, specs, method, path, query="", headers=None):
    """(api, op, params, rest) or None."""
    return twin.Router(specs).match(method, path, query, headers)


# ---------------------------------------------------------------- API prefixes

PREFIXES = [spec("k", "k"), spec("admin", "k/admin"), spec("deep", "k/admin/a/b")]


@pytest.mark.parametrize("path, api, rest", [
    ("/k", "k", ""),
    ("/k/", "k", "/"),
    ("/k/items/1", "k", "/items/1"),
    ("/k/admin", "admin", ""),
    ("/k/admin/", "admin", "/"),
    ("/k/admin/users", "admin", "/users"),
    ("/k/admin/a", "admin", "/a"),           # /k/admin/a is no API: the longest one that is
    ("/k/admin/a/b/c", "deep", "/c"),
    ("/k/administrator", "k", "/administrator"),
    ("/kx", None, None),
    ("/kx/admin", None, None),
    ("/", None, None),
    ("/other/k", None, None),
])
def test_longest_prefix_on_segment_boundaries(twin, path, api, rest):
    result = route(twin, PREFIXES, "GET", path)
    if api is None:
        assert result is None
    else:
        assert result == (api, "all", {}, rest)


def test_api_at_the_root(twin):
    specs = [spec("root", ""), spec("k", "k")]
    assert route(twin, specs, "GET", "/") == ("root", "all", {}, "/")
    assert route(twin, specs, "GET", "/x/y") == ("root", "all", {}, "/x/y")
    assert route(twin, specs, "GET", "/k/y") == ("k", "all", {}, "/y")


def test_prefix_is_case_insensitive(twin):
    specs = [spec("inv", "Inventory/V1")]
    assert route(twin, specs, "GET", "/inventory/v1/X") == ("inv", "all", {}, "/X")
    assert route(twin, specs, "GET", "/INVENTORY/v1/X") == ("inv", "all", {}, "/X")


def test_api_without_operations_takes_every_method_and_path(twin):
    specs = [spec("k", "k")]
    for method in ("GET", "POST", "DELETE", "PATCH", "X-CUSTOM"):
        assert route(twin, specs, method, "/k/a/b/c") == ("k", "all", {}, "/a/b/c")
    assert route(twin, specs, "GET", "/k") == ("k", "all", {}, "")


# ---------------------------------------------------------------- operations

ITEMS = [spec("shop", "shop", [
    ("list", "GET", "/items"),
    ("create", "POST", "/items"),
    ("special", "GET", "/items/special"),
    ("get", "GET", "/items/{id}"),
    ("parts", "GET", "/items/{itemId}/parts/{partId}"),
    ("any-item", "GET", "/items/*"),
    ("options", "*", "/items/{id}/options"),
    ("root", "GET", "/"),
])]


@pytest.mark.parametrize("method, path, op, params", [
    ("GET", "/shop", "root", {}),
    ("GET", "/shop/", "root", {}),
    ("GET", "/shop/items", "list", {}),
    ("GET", "/shop/items/", "list", {}),
    ("POST", "/shop/items", "create", {}),
    ("GET", "/shop/items/special", "special", {}),      # literal beats {param}
    ("GET", "/shop/items/42", "get", {"id": "42"}),     # {param} beats *
    ("GET", "/shop/items/42/", "get", {"id": "42"}),
    ("GET", "/shop/items/42/parts/7", "parts", {"itemId": "42", "partId": "7"}),
    ("GET", "/shop/items/special/parts/7", "parts", {"itemId": "special", "partId": "7"}),
    ("GET", "/shop/items/42/more", "any-item", {}),     # * takes the rest
    ("GET", "/shop/items/42/parts", "any-item", {}),
    ("PUT", "/shop/items/42/options", "options", {"id": "42"}),  # method * takes any method
    ("GET", "/shop/ITEMS/Special", "special", {}),      # literals are case-insensitive
    ("GET", "/shop/Items/AbC", "get", {"id": "AbC"}),   # values keep their case
])
def test_operations(twin, method, path, op, params):
    api, found, got, _ = route(twin, ITEMS, method, path)
    assert (api, found, got) == ("shop", op, params)


@pytest.mark.parametrize("method, path", [
    ("DELETE", "/shop/items"),          # the method must match
    ("DELETE", "/shop/items/42"),
    ("POST", "/shop/items/42"),
    ("GET", "/shop/carts"),
    ("GET", "/shop/x/items"),
])
def test_no_operation(twin, method, path):
    assert route(twin, ITEMS, method, path) is None


def test_backtracks_from_a_literal_to_a_param(twin):
    specs = [spec("a", "a", [("lit", "GET", "/x/y/z"), ("par", "GET", "/x/{p}/w")])]
    assert route(twin, specs, "GET", "/a/x/y/w") == ("a", "par", {"p": "y"}, "/x/y/w")
    assert route(twin, specs, "GET", "/a/x/y/z") == ("a", "lit", {}, "/x/y/z")


def test_method_specific_beats_any_method(twin):
    specs = [spec("a", "a", [("any", "*", "/x"), ("get", "GET", "/x")])]
    assert route(twin, specs, "GET", "/a/x")[1] == "get"
    assert route(twin, specs, "POST", "/a/x")[1] == "any"


def test_wildcard_matches_zero_segments(twin):
    specs = [spec("a", "a", [("files", "GET", "/files/*")])]
    assert route(twin, specs, "GET", "/a/files")[1] == "files"
    assert route(twin, specs, "GET", "/a/files/x/y/z")[1] == "files"
    assert route(twin, specs, "GET", "/a/filesx") is None


def test_longest_prefix_wins_even_without_an_operation(twin):
    # APIM picks the API first, then its operation: no fallback to a shorter prefix
    specs = [spec("k", "k"), spec("admin", "k/admin", [("users", "GET", "/users")])]
    assert route(twin, specs, "GET", "/k/admin/users")[:2] == ("admin", "users")
    assert route(twin, specs, "GET", "/k/admin/other") is None


# ---------------------------------------------------------------- versions

def test_path_scheme_version_is_one_more_prefix_segment(twin):
    specs = [spec("v1", "customers/v1"), spec("v2", "customers/v2"), spec("orig", "customers")]
    assert route(twin, specs, "GET", "/customers/v1/leads") == ("v1", "all", {}, "/leads")
    assert route(twin, specs, "GET", "/customers/V2/leads") == ("v2", "all", {}, "/leads")
    assert route(twin, specs, "GET", "/customers/leads") == ("orig", "all", {}, "/leads")


def _versioned(scheme, name, original=True):
    specs = [spec("v1", "customers", scheme=scheme, version="v1", version_name=name),
             spec("v2", "customers", scheme=scheme, version="v2", version_name=name)]
    if original:
        specs.append(spec("orig", "customers"))
    return specs


@pytest.mark.parametrize("headers, api", [
    ({"api-version": "v2"}, "v2"),
    ({"api-version": "v1"}, "v1"),
    ({"api-version": ""}, "orig"),     # empty means not given
    ({}, "orig"),
    (None, "orig"),
    ({"api-version": "v9"}, None),     # unknown version
    ({"api-version": "V2"}, None),     # version names are exact
])
def test_header_scheme(twin, headers, api):
    # the header name is looked up lower-cased (headers.get(lowercase name))
    result = route(twin, _versioned("header", "Api-Version"), "GET", "/customers/x", "", headers)
    assert (result[0] if result else None) == api


@pytest.mark.parametrize("query, api", [
    ("api-version=v2", "v2"),
    ("a=1&api-version=v1&b=2", "v1"),
    ("api-version=v2&api-version=v1", "v2"),   # the first one counts
    ("api-version=", "orig"),
    ("api-version", "orig"),
    ("", "orig"),
    ("other=v2", "orig"),
    ("Api-Version=v2", "orig"),                # query names are exact
    ("api-version=v9", None),
])
def test_query_scheme(twin, query, api):
    result = route(twin, _versioned("query", "api-version"), "GET", "/customers/x", query)
    assert (result[0] if result else None) == api


def test_versioned_without_original_needs_a_version(twin):
    specs = _versioned("query", "api-version", original=False)
    assert route(twin, specs, "GET", "/customers/x") is None
    assert route(twin, specs, "GET", "/customers/x", "api-version=v1")[0] == "v1"


# ---------------------------------------------------------------- revisions

REVISIONS = [
    spec("rev1", "customers", revision=1, current=True),
    spec("rev3", "customers", revision=3, current=False),
    spec("admin", "customers/admin"),
]


@pytest.mark.parametrize("path, api, rest", [
    ("/customers/leads", "rev1", "/leads"),             # no ;rev: the current revision
    ("/customers;rev=3/leads", "rev3", "/leads"),
    ("/customers;rev=1/leads", "rev1", "/leads"),
    ("/customers;rev=3", "rev3", ""),
    ("/Customers;rev=03/leads", "rev3", "/leads"),
    ("/customers;rev=3/admin/x", "rev3", "/admin/x"),   # ;rev pins the API at that segment
    ("/customers;rev=7/leads", None, None),             # unknown revision
    ("/customers;rev=/leads", None, None),
    ("/customers;rev=x/leads", None, None),
    ("/customers;rev=-1/leads", None, None),
    ("/customers;rev=" + "1" * 5000 + "/leads", None, None),
    ("/customers;rev=\u00b2/leads", None, None),        # isdigit() but not a number
    ("/customers;rev=\u0663/leads", None, None),        # non-ASCII digit
])
def test_revisions(twin, path, api, rest):
    result = route(twin, REVISIONS, "GET", path)
    if api is None:
        assert result is None
    else:
        assert result == (api, "all", {}, rest)


def test_revision_on_a_segment_that_is_no_api(twin):
    specs = [spec("admin", "k/admin")]
    assert route(twin, specs, "GET", "/k;rev=2/admin/x") is None


def test_other_matrix_parameters_are_part_of_the_segment(twin):
    specs = [spec("k", "k")]
    assert route(twin, specs, "GET", "/k;v=1/x") is None
    assert route(twin, specs, "GET", "/k/a;v=1") == ("k", "all", {}, "/a;v=1")


def test_current_revision_is_the_one_marked_current(twin):
    specs = [spec("rev1", "c", revision=1, current=False), spec("rev2", "c", revision=2, current=True),
             spec("rev3", "c", revision=3, current=False)]
    assert route(twin, specs, "GET", "/c/x")[0] == "rev2"


# ---------------------------------------------------------------- scale

def test_many_apis_are_found_by_lookup(twin):
    # 5,000 APIs, each with a few operations: a match still finds the right one (it walks
    # dicts; a scan would still pass this, but the table is there to catch breakage at size)
    specs = []
    for i in range(5000):
        ops = [(f"get-{i}", "GET", "/items/{id}"), (f"list-{i}", "GET", "/items")]
        specs.append(spec(f"api-{i}", f"tenant{i % 50}/svc{i}"))
        specs.append(spec(f"ops-{i}", f"tenant{i % 50}/svc{i}/v1", ops))
    router = twin.Router(specs)
    assert router.match("GET", "/tenant49/svc4999/v1/items/7") == ("ops-4999", "get-4999", {"id": "7"}, "/items/7")
    assert router.match("GET", "/tenant0/svc0/x") == ("api-0", "all", {}, "/x")
    assert router.match("GET", "/tenant1/svc0/x") is None
    assert router.match("GET", "/tenant0/svc5000") is None
