"""Loading a config file: YAML details, durations, named values, overrides, unknown keys, error reporting."""
import pytest

from gwcore.config import ConfigError, Problem, load_plan
from gwcore.config.errors import format_path

API = """\
backends:
  b: {url: "http://127.0.0.1:9000"}
apis:
  a:
    path: a
    backend: b
    subscription_required: false
"""


# ---- YAML ------------------------------------------------------------------------------------

def test_duplicate_key_at_top_level(cfg):
    problem = cfg.problem("""\
        apis: {}
        backends: {}
        apis: {}  # <-
        """)
    assert (problem.line, problem.column) == (cfg.line(), 1)
    assert problem.path == ("apis",)
    assert problem.message == "duplicate key (the file names it twice)"


def test_duplicate_key_nested_and_in_policy_attributes(cfg):
    problems = cfg.problems(API + """\
    path: b      # <- path
    policies:
      inbound:
        - set-header:
            name: x-a
            value: "1"
            name: x-b   # <- name
""")
    assert [(p.line, format_path(p.path)) for p in problems] == [
        (cfg.line("path"), "apis.a.path"),
        (cfg.line("name"), "apis.a.policies.inbound[0].set-header.name"),
    ]
    assert all("duplicate key" in p.message for p in problems)


def test_duplicate_key_in_json(cfg):
    problem = cfg.problem('{\n  "backends": {},\n  "backends": {}\n}\n', name="gateway.json")
    assert (problem.line, problem.column, problem.path) == (3, 3, ("backends",))


def test_file_that_is_not_utf8(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes("apis:\n  a: {path: caf\u00e9}\n".encode("latin-1"))
    with pytest.raises(ConfigError) as info:
        load_plan(str(path), environ={})
    (problem,) = info.value.problems
    assert (problem.line, problem.column) == (2, 16)
    assert problem.message == "not UTF-8 text (the file must be saved as UTF-8)"


def test_byte_order_mark_and_crlf_line_ends(tmp_path):
    path = tmp_path / "windows.yaml"
    path.write_bytes(b"\xef\xbb\xbfapis:\r\n  a:\r\n    path: a\r\n    colour: red\r\n")
    with pytest.raises(ConfigError) as info:
        load_plan(str(path), environ={})
    (problem,) = info.value.problems
    assert (problem.line, problem.column, problem.path) == (4, 5, ("apis", "a", "colour"))


def test_top_level_must_be_a_mapping(cfg):
    problem = cfg.problem("- apis\n- backends\n")
    assert (problem.line, problem.path) == (1, ())
    assert "top level must be a mapping" in problem.message


def test_empty_file_is_a_valid_empty_gateway(cfg):
    plan = cfg.load("")
    assert plan.apis == {} and plan.backends == {}
    assert plan.settings.listen == "0.0.0.0:8080"
    assert plan.settings.workers == "auto"


def test_problem_format():
    problem = Problem("gw.yaml", 7, 5, ("apis", "inv", "operations", 1, "method"), "bad")
    assert str(problem) == "gw.yaml:7:5 apis.inv.operations[1].method: bad"
    assert str(Problem("gw.yaml", 1, 1, (), "empty")) == "gw.yaml:1:1 (top): empty"
    error = ConfigError([Problem("b.yaml", 1, 1, (), "x"), Problem("a.yaml", 9, 1, (), "y"),
                         Problem("a.yaml", 2, 3, (), "z")])
    assert [p.message for p in error.problems] == ["z", "y", "x"]


# ---- durations -------------------------------------------------------------------------------

@pytest.mark.parametrize("written, seconds", [
    ("30", 30.0), ("0", 0.0), ("2.5", 2.5), ("30s", 30.0), ('"30s"', 30.0), ("500ms", 0.5),
    ("5m", 300.0), ("1h", 3600.0), ("1.5s", 1.5),
])
def test_durations(cfg, written, seconds):
    plan = cfg.load(f"""\
        gateway:
          timeouts: {{graceful: {written}}}
        backends:
          b: {{url: "http://h", timeout: {written}, connect_timeout: {written}}}
        policies:
          backend:
            - forward-request: {{timeout: {written}}}
        """)
    assert plan.settings.timeouts.graceful == seconds
    assert plan.backends["b"].timeout == seconds
    assert plan.backends["b"].connect_timeout == seconds


def test_forward_request_duration_in_the_pipeline(cfg):
    plan = cfg.load(API + "policies:\n  backend:\n    - forward-request: {timeout: 5m}\n")
    (forward,) = plan.apis["a"].operations["*"].pipeline(None).backend
    assert forward.timeout == 300.0


@pytest.mark.parametrize("written", ["30x", "5 minutes", "-5", "-5s", '""', "true", "1e3", ".inf", ".nan",
                                     "1h30m", "[30]", "s"])
def test_bad_durations(cfg, written):
    problem = cfg.problem(f"""\
        backends:
          b:
            url: "http://h"
            timeout: {written}   # <-
        """)
    assert (problem.line, problem.column) == (cfg.line(), 5)
    assert problem.path == ("backends", "b", "timeout")
    assert "duration" in problem.message or "valid number" in problem.message


def test_bad_duration_in_gateway_timeouts(cfg):
    problem = cfg.problem("""\
        gateway:
          timeouts:
            keepalive_idle: 10 sec   # <-
        """)
    assert (problem.line, problem.path) == (cfg.line(), ("gateway", "timeouts", "keepalive_idle"))
    assert "'10 sec' is not a duration" in problem.message


# ---- named values ----------------------------------------------------------------------------

NAMED = """\
named_values:
  tier-header: x-tier
  backend-host: {env: BACKEND_HOST, default: 127.0.0.1}
  backend-port: 9000
  strict: true
backends:
  b: {url: "http://{{backend-host}}:{{ backend-port }}/api"}
apis:
  a:
    path: a
    backend: b
    subscription_required: false
    policies:
      inbound:
        - set-header: {name: "{{tier-header}}", value: "{{strict}}/{{tier-header}}"}
"""


def test_named_values_in_policies_and_elsewhere(cfg):
    plan = cfg.load(NAMED)
    (member,) = plan.backends["b"].members
    assert (member.host, member.port, member.base_path) == ("127.0.0.1", 9000, "/api")
    (header,) = plan.apis["a"].operations["*"].pipeline(None).inbound
    assert header.name == "x-tier"
    assert header.value == ("true/x-tier",)


def test_named_value_from_environment_beats_default(cfg):
    plan = cfg.load(NAMED, environ={"BACKEND_HOST": "10.1.2.3"})
    assert plan.backends["b"].members[0].host == "10.1.2.3"


def test_named_value_from_environment_without_default(cfg):
    text = NAMED.replace("{env: BACKEND_HOST, default: 127.0.0.1}", "{env: BACKEND_HOST}")
    assert cfg.load(text, environ={"BACKEND_HOST": "10.9.9.9"}).backends["b"].members[0].host == "10.9.9.9"
    # reported once, where it is defined; not again where it is used (the backend URL)
    problem = cfg.problem(text)
    assert problem.path == ("named_values", "backend-host")
    assert problem.line == 3
    assert problem.message == "environment variable BACKEND_HOST is not set and no default is given"


def test_named_value_feeds_a_subscription_key(cfg):
    plan = cfg.load(API + """\
named_values:
  alice-key: {env: ALICE_KEY}
subscriptions:
  alice: {scope: all, primary_key: "{{alice-key}}"}
""", environ={"ALICE_KEY": "k" * 20})
    assert plan.find_subscription("k" * 20).name == "alice"


def test_missing_named_value_is_located_at_each_use(cfg):
    problems = cfg.problems(API + """\
    policies:
      inbound:
        - set-header: {name: x-a, value: "{{nowhere}}"}   # <- policy
products:
  p:
    apis: ["{{product-api}}"]                             # <- product
""")
    assert [(p.line, format_path(p.path), p.message) for p in problems] == [
        (cfg.line("policy"), "apis.a.policies.inbound[0].set-header.value",
         "named value {{nowhere}} is not defined in named_values"),
        (cfg.line("product"), "products.p.apis[0]", "named value {{product-api}} is not defined in named_values"),
    ]


def test_named_value_using_another(cfg):
    text = """\
        named_values:
          host: "{{name}}.{{domain}}"
          name: api
          domain: {env: DOMAIN, default: "{{zone}}.example"}
          zone: eu
        backends:
          b: {url: "http://{{host}}:8080"}
        """
    assert cfg.load(text).backends["b"].members[0].host == "api.eu.example"
    # a value from the environment is taken verbatim
    problem = cfg.problem(text, environ={"DOMAIN": "{{zone}}"})
    assert problem.path == ("backends", "b", "url")


def test_named_values_in_a_cycle(cfg):
    problem = cfg.problem("""\
        named_values:
          a: "{{b}}"
          b: "x{{ a }}"   # <-
        apis:
          api: {path: "{{a}}"}
        """)
    assert (problem.line, problem.path) == (cfg.line(), ("named_values", "b"))
    assert problem.message == "named values refer to each other in a cycle: a -> b -> a"


def test_named_value_using_an_undefined_one(cfg):
    problem = cfg.problem("""\
        named_values:
          a: "{{nobody}}"   # <-
        apis:
          api: {path: "{{a}}"}
        """)
    assert (problem.line, problem.path) == (cfg.line(), ("named_values", "a"))
    assert problem.message == "named value {{nobody}} is not defined in named_values"


@pytest.mark.parametrize("spec", ["{env: X, fallback: 1}", "{default: 1}", "[a, b]", "null"])
def test_malformed_named_value(cfg, spec):
    problem = cfg.problem(f"named_values:\n  n: {spec}\n")
    assert (problem.line, problem.path) == (2, ("named_values", "n"))
    assert "a named value is a literal or {env: VARIABLE, default: ...}" == problem.message


# ---- environment and command-line overrides --------------------------------------------------

GATEWAY = """\
gateway:
  listen: "127.0.0.1:8000"
  limits:
    max_body_bytes: 1000
"""


def test_environment_overrides(cfg):
    plan = cfg.load(GATEWAY, environ={"GWCORE_GATEWAY__LISTEN": "0.0.0.0:9001",
                                      "GWCORE_GATEWAY__LIMITS__MAX_BODY_BYTES": "2048",
                                      "GWCORE_GATEWAY__WORKERS": "3",
                                      "UNRELATED": "x"})
    assert plan.settings.listen == "0.0.0.0:9001"
    assert plan.settings.limits.max_body_bytes == 2048
    assert plan.settings.limits.max_uri_bytes == 8192  # siblings keep their defaults
    assert plan.settings.workers == 3


def test_environment_override_without_gateway_section(cfg):
    plan = cfg.load("apis: {}\n", environ={"GWCORE_GATEWAY__LIMITS__MAX_BODY_BYTES": "77",
                                           "GWCORE_GATEWAY__TIMEOUTS__GRACEFUL": "500ms"})
    assert plan.settings.limits.max_body_bytes == 77
    assert plan.settings.timeouts.graceful == 0.5


def test_bad_environment_value_names_the_variable(cfg):
    problem = cfg.problem(GATEWAY, environ={"GWCORE_GATEWAY__LIMITS__MAX_BODY_BYTES": "lots"})
    assert problem.path == ("gateway", "limits", "max_body_bytes")
    assert "GWCORE_GATEWAY__LIMITS__MAX_BODY_BYTES" in problem.message
    assert "valid integer" in problem.message
    assert problem.line == 0  # not a place in the file


def test_unknown_environment_key_names_the_variable(cfg):
    problem = cfg.problem(GATEWAY, environ={"GWCORE_GATEWAY__LISTEN_ON": "0.0.0.0:1"})
    assert problem.path == ("gateway", "listen_on")
    assert "unknown key" in problem.message and "listen" in problem.message
    assert "environment GWCORE_GATEWAY__LISTEN_ON" in problem.message


def test_environment_override_does_not_hide_a_file_mistake(cfg):
    problem = cfg.problem("gateway:\n  limits: 5\n", environ={"GWCORE_GATEWAY__LIMITS__MAX_BODY_BYTES": "10"})
    assert (problem.line, problem.path) == (2, ("gateway", "limits"))


def test_command_line_beats_environment_beats_file(cfg):
    env = {"GWCORE_GATEWAY__LISTEN": "127.0.0.1:8001"}
    assert cfg.load(GATEWAY).settings.listen == "127.0.0.1:8000"
    assert cfg.load(GATEWAY, environ=env).settings.listen == "127.0.0.1:8001"
    plan = cfg.load(GATEWAY, environ=env, cli_overrides={"listen": "127.0.0.1:8002"})
    assert plan.settings.listen == "127.0.0.1:8002"
    # an option not given on the command line (None) leaves the environment's value
    plan = cfg.load(GATEWAY, environ=env, cli_overrides={"listen": None, "workers": "2"})
    assert (plan.settings.listen, plan.settings.workers) == ("127.0.0.1:8001", 2)


def test_bad_command_line_value_names_the_option(cfg):
    problem = cfg.problem(GATEWAY, cli_overrides={"workers": "many"})
    assert problem.path == ("gateway", "workers")
    assert problem.message == "workers is auto or a whole number from 1 to 1024 (set by command line --workers)"


def test_load_plan_reads_os_environ_by_default(write_config, monkeypatch):
    monkeypatch.setenv("GWCORE_GATEWAY__LISTEN", "127.0.0.1:8123")
    assert load_plan(write_config(GATEWAY)).settings.listen == "127.0.0.1:8123"


# ---- gateway values --------------------------------------------------------------------------

@pytest.mark.parametrize("written, expected", [("auto", "auto"), ("4", 4), ('"8"', 8)])
def test_workers(cfg, written, expected):
    assert cfg.load(f"gateway: {{workers: {written}}}\n").settings.workers == expected


@pytest.mark.parametrize("written", ["0", "1025", "lots", "true", "2.5", "[1]"])
def test_bad_workers_is_one_problem(cfg, written):
    problem = cfg.problem(f"gateway:\n  workers: {written}\n")
    assert (problem.line, problem.path) == (2, ("gateway", "workers"))
    assert problem.message == "workers is auto or a whole number from 1 to 1024"


@pytest.mark.parametrize("written, expected", [("off", "off"), ('"off"', "off"), ("stdout", "stdout"),
                                               ("/var/log/gw.log", "/var/log/gw.log")])
def test_access_log(cfg, written, expected):
    assert cfg.load(f"gateway: {{access_log: {written}}}\n").settings.access_log == expected


@pytest.mark.parametrize("written", ["on", '""', "3"])
def test_bad_access_log(cfg, written):
    problem = cfg.problem(f"gateway:\n  access_log: {written}\n")
    assert problem.path == ("gateway", "access_log")


@pytest.mark.parametrize("listen", ["8080", "localhost", "h:0", "h:65536", "::1:80"])
def test_bad_listen(cfg, listen):
    problem = cfg.problem(f'gateway:\n  listen: "{listen}"\n')
    assert (problem.line, problem.path) == (2, ("gateway", "listen"))


def test_request_id_header_is_lower_cased(cfg):
    assert cfg.load("gateway: {request_id_header: X-Request-ID}\n").settings.request_id_header == "x-request-id"


# ---- unknown keys ----------------------------------------------------------------------------

FULL = """\
gateway:
  listen: "127.0.0.1:8080"{gateway}
  limits:
    max_body_bytes: 100{limits}
  timeouts:
    graceful: 5s{timeouts}
backends:
  b:
    url: "http://h"{backend}
  pool:
    members:
      - url: "http://h1"{member}
apis:
  a:
    path: a
    backend: b{api}
    operations:
      - id: get
        method: GET
        url_template: /x{operation}
products:
  p:
    apis: [a]{product}
subscriptions:
  s:
    scope: all
    primary_key: "0123456789abcdef"{subscription}
{top}
"""
PLACES = ["gateway", "limits", "timeouts", "backend", "member", "api", "operation", "product", "subscription", "top"]
KNOWN = {
    "top": "apis, backends, fragments, gateway, named_values, policies, products, subscriptions",
    "limits": "max_body_bytes, max_header_bytes, max_header_count, max_uri_bytes",
    "timeouts": "body_read, graceful, header_read, keepalive_idle",
    "backend": "circuit_breaker, connect_timeout, health_check, idle_timeout, load_balancing, max_idle_connections,"
               " members, timeout, tls, url",
    "member": "priority, url, weight",
    "api": "backend, current, operations, path, policies, revision, subscription_key_header, "
           "subscription_key_query, subscription_required, version, version_header, version_query, version_scheme",
    "operation": "id, method, policies, responses, url_template",
    "product": "apis, policies, subscription_required",
    "subscription": "primary_key, scope, secondary_key, state",
}
WHERE = {
    "top": (), "gateway": ("gateway",), "limits": ("gateway", "limits"), "timeouts": ("gateway", "timeouts"),
    "backend": ("backends", "b"), "member": ("backends", "pool", "members", 0), "api": ("apis", "a"),
    "operation": ("apis", "a", "operations", 0), "product": ("products", "p"),
    "subscription": ("subscriptions", "s"),
}


def full(**extra) -> str:
    indent = {"top": "", "gateway": "  ", "limits": "    ", "timeouts": "    ", "backend": "    ",
              "member": "        ", "api": "    ", "operation": "        ", "product": "    ",
              "subscription": "    "}
    values = {place: "" for place in PLACES}
    for place, key in extra.items():
        values[place] = ("" if place == "top" else "\n") + f"{indent[place]}{key}: 1  # <- {place}"
    return FULL.format(**values)


def test_the_full_config_is_valid(cfg):
    plan = cfg.load(full())
    assert set(plan.backends) == {"b", "pool"}


@pytest.mark.parametrize("place", PLACES)
def test_unknown_key_lists_the_known_keys(cfg, place):
    problem = cfg.problem(full(**{place: "colour"}))
    assert (problem.line, problem.path) == (cfg.line(place), WHERE[place] + ("colour",))
    assert problem.message.startswith("unknown key; known keys: ")
    if place == "gateway":
        assert "listen, " in problem.message and "workers" in problem.message
    else:
        assert problem.message == f"unknown key; known keys: {KNOWN[place]}"


def test_unknown_keys_in_several_places_at_once(cfg):
    problems = cfg.problems(full(**{place: f"extra_{place}" for place in PLACES}))
    assert [p.line for p in problems] == sorted(cfg.line(place) for place in PLACES)
    assert {p.path for p in problems} == {WHERE[place] + (f"extra_{place}",) for place in PLACES}


def test_entry_named_like_a_field_lists_its_own_keys(cfg):
    problems = cfg.problems("""\
        apis:
          operations: {path: x, colour: 1}
        backends:
          members: {url: "http://h", colour: 1}
        """)
    assert [p.message for p in problems] == [f"unknown key; known keys: {KNOWN['api']}",
                                            f"unknown key; known keys: {KNOWN['backend']}"]


def test_unknown_policy_section_attribute_and_name(cfg):
    problems = cfg.problems(API + """\
    policies:
      inbond: []                                 # <- section
      inbound:
        - set-header: {name: x, valeu: y}        # <- attribute
        - set-heder: {name: x}                   # <- policy
""")
    assert [p.line for p in problems] == [cfg.line("section"), cfg.line("attribute"), cfg.line("policy")]
    section, attribute, policy = problems
    assert section.message == "unknown section; sections are inbound, backend, outbound, on-error"
    assert attribute.path[-1] == "valeu"
    assert "exists-action" in attribute.message and "value" in attribute.message
    assert policy.message.startswith("unknown policy 'set-heder'; known policies: base, ")
    assert "set-header" in policy.message and "forward-request" in policy.message


# ---- every mistake at once -------------------------------------------------------------------

def test_every_problem_is_reported_in_one_error(cfg):
    problems = cfg.problems("""\
        gateway:
          listen: "nowhere"                          # <- listen
        named_values:
          n: {env: NOT_SET_ANYWHERE}                 # <- named
        backends:
          b: {url: "ftp://h"}                        # <- url
          c: {url: "http://h", timeout: soon}        # <- timeout
        apis:
          a:
            path: a
            backend: missing                         # <- backend
            operations:
              - {id: x, method: "G T", url_template: /x}   # <- method
          d:
            path: d
            backend: b
            policies:
              inbound:
                - forward-request: {}                # <- section
        products:
          p: {apis: [a, ghost]}                      # <- product
        subscriptions:
          s: {scope: "everything", primary_key: "0123456789abcdef"}  # <- scope
        policies:
          outbound:
            - set-heder: {name: x-a}                 # <- header
        """)
    tags = ["listen", "named", "url", "timeout", "backend", "method", "section", "product", "scope", "header"]
    assert [p.line for p in problems] == [cfg.line(tag) for tag in tags], "\n".join(map(str, problems))
    by_tag = dict(zip(tags, problems))
    assert "not HOST:PORT" in by_tag["listen"].message
    assert "NOT_SET_ANYWHERE" in by_tag["named"].message
    assert "backend 'missing' is not defined in backends (defined: b, c)" == by_tag["backend"].message
    assert "API 'ghost' is not defined in apis" == by_tag["product"].message
    assert "forward-request may not stand in the inbound section" == by_tag["section"].message
    assert all(p.file == cfg.path for p in problems)
