"""The benchmark scenarios: gwcore config, request, nginx's equivalent, and whether the feature has landed."""
from dataclasses import dataclass
from typing import Optional

# The one place to switch a scenario on. A scenario listed here is printed as "skipped: <why>";
# delete its line once the gateway does what the scenario measures (`--include-unlanded` runs it
# anyway and tells you whether the behaviour is there yet).
NOT_LANDED = {}

ITEM = "/inventory/v1/items/42"


@dataclass(frozen=True)
class Scenario:
    name: str
    what: str                       # one line for the report
    path: str = ITEM                # what wrk asks for, from gwcore and nginx alike
    headers: tuple = ()             # (name, value template over the run's environment)
    nginx_http: str = ""            # nginx peer: http{} directives (maps, zones) ...
    nginx_location: str = ""        # ... and location directives doing the same work nginx's way
    nginx_buffering: bool = False   # gwcore streams responses; so does nginx unless this is set
    nginx_note: str = ""            # how nginx does the same work, shown under the table
    nginx_refuses: bool = True      # False: nginx cannot do this check and only proxies (see nginx_note)
    needs_redis: bool = False
    refused_without: tuple = ()     # headers without which a working gateway answers 401
    cache_hit: bool = False         # a working gateway answers the second GET from its cache
    cpu_target: Optional[float] = None   # gwcore/nginx CPU per request, reported and never asserted
    tls: bool = False               # wrk speaks keep-alive HTTPS to the TLS listeners (same certificate)

    @property
    def config(self) -> str:
        return f"{self.name}.yaml"

    @property
    def landed(self) -> bool:
        return self.name not in NOT_LANDED

    def request_headers(self, env: dict) -> list:
        return [(name, value.format(**env)) for name, value in self.headers]

    def nginx(self, env: dict) -> tuple:
        """(http directives, location directives), their {NAMES} filled in from the run's environment."""
        return self.nginx_http.format(**env), self.nginx_location.format(**env)


_KEY_HEADER = (("Ocp-Apim-Subscription-Key", "{BENCH_SUBSCRIPTION_KEY}"),)
# nginx checks the same key with a map and counts calls per key in shared memory with limit_req,
# at a rate no benchmark reaches: the closest thing nginx has to subscription + rate-limit.
_KEYED_MAP = """
    map $http_ocp_apim_subscription_key $bench_key_ok {{ default 0; "{BENCH_SUBSCRIPTION_KEY}" 1; }}"""
_KEYED_HTTP = _KEYED_MAP + """
    limit_req_zone $http_ocp_apim_subscription_key zone=bench_keys:1m rate=1000000r/s;"""
_KEYED_CHECK = """
            if ($bench_key_ok = 0) {{ return 401; }}"""
_KEYED_LOCATION = _KEYED_CHECK + """
            limit_req zone=bench_keys burst=100000 nodelay;"""

SCENARIOS = [
    Scenario("plain", "routing + request-head rewrite, access log off", cpu_target=1.25),
    Scenario("tls", "plain over keep-alive HTTPS, TLS terminated by the proxy", tls=True,
             nginx_note="listen ssl with the same self-signed certificate (P-256)"),
    Scenario("keyed", "subscription key + rate-limit, local state", headers=_KEY_HEADER,
             nginx_http=_KEYED_HTTP, nginx_location=_KEYED_LOCATION, refused_without=("Ocp-Apim-Subscription-Key",),
             nginx_note="map on the key + limit_req", cpu_target=1.5),
    # issue 6's bar: a key check and two set-header statements within the keyed target
    Scenario("keyed-headers", "subscription key + set-header on the request and on the answer", headers=_KEY_HEADER,
             nginx_http=_KEYED_MAP, nginx_location=_KEYED_CHECK + """
            proxy_set_header X-Gateway gwcore;
            add_header X-Served-By gwcore;""", refused_without=("Ocp-Apim-Subscription-Key",),
             nginx_note="map on the key + proxy_set_header + add_header", cpu_target=1.5),
    Scenario("keyed-redis", "subscription key + rate-limit, state in Redis", headers=_KEY_HEADER,
             nginx_http=_KEYED_HTTP, nginx_location=_KEYED_LOCATION, refused_without=("Ocp-Apim-Subscription-Key",),
             nginx_note="map on the key + limit_req in its own shared memory (no Redis)", needs_redis=True,
             cpu_target=2.0),
    Scenario("jwt", "validate-jwt, RS256", headers=(("Authorization", "Bearer {BENCH_TOKEN}"),),
             refused_without=("Authorization",), nginx_refuses=False,
             nginx_note="no JWT check (open-source nginx has none): it only proxies"),
    Scenario("cached", "cache-lookup/cache-store, hit path", cache_hit=True,
             nginx_http="""
    proxy_cache_path {WORK}/nginx-cache levels=1 keys_zone=bench_cache:1m max_size=16m inactive=1h;""",
             nginx_buffering=True, nginx_location="""
            proxy_cache bench_cache;
            proxy_cache_valid 200 1h;
            proxy_cache_lock on;""", nginx_note="proxy_cache"),
    # With its default 4/8 KiB proxy buffer nginx needs ~4x the CPU per MiB it needs with 256 KiB
    # (the size uvloop reads at a time for gwcore), so the peer gets the larger buffer.
    Scenario("large", "1 MiB response bodies (see MiB/s)", path="/bench/large", nginx_location="""
            proxy_buffer_size 256k;
            proxy_buffers 4 256k;
            proxy_busy_buffers_size 256k;""", nginx_note="unbuffered streaming through a 256 KiB proxy buffer"),
]

BY_NAME = {s.name: s for s in SCENARIOS}
