"""The immutable runtime Plan compiled from a validated config: routes, backends, pipelines."""
import hashlib
import hmac
import os
import time
from dataclasses import dataclass, field, replace
from typing import Optional
from urllib.parse import quote_plus, urlsplit

from gwcore import fastpath
from gwcore.config.references import api_prefix
from gwcore.pipeline.compiled_steps import static_edits
from gwcore.pipeline.compiler import PlanParts, compile_program
from gwcore.pipeline.runner import BACKEND
from gwcore.pipeline.context import Named
from gwcore.policies.base import BASE, SECTIONS
from gwcore.policies.forward_request import ForwardRequest
from gwcore.tls.contexts import backend_context, server_tls

DEFAULT_FORWARD = ForwardRequest()
# it stands where APIM writes it, so on-error locates a backend failure there (context.last_error.path)
DEFAULT_FORWARD._path = ("policies", "backend", 0, "forward-request")

# Subscription keys are looked up by a keyed digest, so the dict lookup leaks nothing
# useful about the key; the final check is hmac.compare_digest. The secret is per process.
_KEY_SECRET = os.urandom(32)


def key_digest(key: str) -> bytes:
    return hmac.digest(_KEY_SECRET, key.encode("utf-8", "surrogateescape"), "sha256")


@dataclass(frozen=True, slots=True)  # slots: the exchange reads its fields on every request
class Pipeline:
    """The flat statement lists of one operation for one product (or none), `base` expanded,
    and the Program of steps compiled from them."""

    inbound: tuple = ()
    backend: tuple = ()
    outbound: tuple = ()
    on_error: tuple = ()
    program: object = None   # a runner.Program; None when the plan was built without behaviour
    # Only a plain forward-request, perhaps with constant set-header statements around it: the
    # exchange forwards directly, no context is built; it applies these header edits itself
    plain: bool = False
    timeout: Optional[float] = None  # that forward-request's own timeout, when it sets one
    request_edits: object = None     # compiled_steps.HeaderEdits for the request, or None
    answer_edits: object = None      # ... for the answer


@dataclass(frozen=True)
class Member:
    url: str
    scheme: str
    host: str
    port: int
    base_path: str      # "/api" or "" (never ends with /)
    host_header: bytes  # "h:p" or "h" when the port is the scheme's default
    weight: int
    priority: int
    # where the host's health checker publishes this member's verdict (gwcore/upstream/health.py);
    # -1: the backend has no health_check. The tag tells a worker still on an older Plan that
    # the slot now belongs to another member.
    health_slot: int = -1
    health_tag: int = 0


@dataclass(frozen=True)
class BackendPlan:
    name: str
    members: tuple
    load_balancing: str
    timeout: float
    connect_timeout: float
    max_idle_connections: int
    idle_timeout: float
    health_check: object = None      # schema.HealthCheck or None
    circuit_breaker: object = None   # schema.CircuitBreaker or None
    ssl_context: object = None       # for https members; None: a default verifying context
    sni: Optional[str] = None        # server name for https members instead of the URL's host
    tls: object = None               # schema.BackendTls, to build contexts with another client certificate
    base_dir: str = "."              # the config file's folder, where its relative file names start


@dataclass(frozen=True, eq=False)
class OperationPlan:
    id: str
    method: str
    url_template: str
    api: "ApiPlan" = field(repr=False, default=None)
    pipelines: dict = field(repr=False, default_factory=dict)  # product name or None -> Pipeline
    info: object = field(repr=False, default=None)              # context.operation

    def __post_init__(self):
        object.__setattr__(self, "info", Named(id=self.id, name=self.id, method=self.method,
                                               url_template=self.url_template))

    def pipeline(self, product: Optional[str]) -> Pipeline:
        return self.pipelines[product]


@dataclass(frozen=True, eq=False)
class ApiPlan:
    name: str
    path: str
    backend: Optional[BackendPlan]
    subscription_required: bool
    key_header: str          # lower-case
    key_query: str
    products: tuple          # names of products containing this API
    open_product: Optional[str]
    version: Optional[str]
    revision: int
    operations: dict = field(default_factory=dict)   # id -> OperationPlan
    info: object = field(repr=False, default=None)   # context.api
    key_header_bytes: bytes = field(repr=False, default=b"")
    key_query_bytes: bytes = field(repr=False, default=b"")   # b"subscription-key="
    # key (or None) -> what a call with it was granted (subscriptions.grant); only keys that passed
    grants: dict = field(repr=False, default_factory=dict, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "info", Named(id=self.name, name=self.name, path=self.path,
                                               version=self.version, revision=self.revision))
        object.__setattr__(self, "key_header_bytes", self.key_header.encode("latin-1"))
        object.__setattr__(self, "key_query_bytes", quote_plus(self.key_query).encode("ascii") + b"=")


@dataclass(frozen=True)
class SubscriptionPlan:
    name: str
    scope: str               # "all" | "product" | "api"
    target: Optional[str]
    active: bool
    digests: tuple
    # context.subscription per key (at most the two keys of this subscription reach it)
    _infos: dict = field(default_factory=dict, repr=False, compare=False)

    def info(self, key: str) -> Named:
        """context.subscription for a call made with `key` (built once per key)."""
        found = self._infos.get(key)
        if found is None:
            found = self._infos[key] = Named(id=self.name, name=self.name, key=key,
                                             scope=self.scope if self.target is None
                                             else f"{self.scope}:{self.target}")
        return found


@dataclass(frozen=True, eq=False)
class Plan:
    """Everything a worker needs to serve, built once per config load and never changed."""

    source: str
    generation: int
    loaded_at: float
    config: object = field(repr=False)
    settings: object = field(repr=False)
    router: object = field(repr=False)
    apis: dict = field(repr=False)
    backends: dict = field(repr=False)
    products: dict = field(repr=False)
    subscriptions: dict = field(repr=False)
    _by_digest: dict = field(repr=False)
    product_infos: dict = field(repr=False, default_factory=dict)  # name -> context.product
    _valid_keys: dict = field(repr=False, default_factory=dict)    # key -> subscription, once proved
    # What runs for a request no operation matches: the global on-error section (APIM's
    # OperationNotFound); None in plans built without behaviour.
    unmatched: Optional[Pipeline] = field(repr=False, default=None)
    tls: object = field(repr=False, default=None)   # gwcore.tls.contexts.ServerTls for gateway.tls

    def match(self, method: str, path: str, query: str = "", headers=None):
        """(ApiPlan, OperationPlan, params, rest) or None."""
        return self.router.match(method, path, query, headers)

    def find_subscription(self, key: str) -> Optional[SubscriptionPlan]:
        """The subscription owning `key`, compared in constant time; None if no such key.

        A key that proved valid is remembered (only valid keys are, so the memo is bounded by
        the config): later calls with it skip the HMAC. A dict lookup compares a string only
        after its randomised hash matched, so it tells a caller nothing about near misses."""
        known = self._valid_keys.get(key)
        if known is not None:
            return known
        digest = key_digest(key)
        sub = self._by_digest.get(digest)
        if sub is None:
            return None
        for candidate in sub.digests:
            if hmac.compare_digest(digest, candidate):
                self._valid_keys[key] = sub
                return sub
        return None

    def summary(self) -> str:
        ops = sum(len(a.operations) for a in self.apis.values())
        return (f"{len(self.apis)} APIs, {ops} operations, {len(self.products)} products, "
                f"{len(self.subscriptions)} subscriptions, {len(self.backends)} backends")


def compile_plan(config, policies: dict, source: str, generation: int = 1, problems: list = None) -> Plan:
    """Build the Plan. `policies` maps scope keys to parsed sections:
    ("global",), ("product", name), ("api", name), ("operation", api, index), ("fragments",).
    With `problems` (a list), every pipeline's steps are compiled too, and what cannot be
    compiled is added to it as (path, message); without, the Plan has statements only."""
    base_dir = os.path.dirname(os.path.abspath(source))
    slots = iter(range(1 << 30))
    backends = {name: _backend(name, b, base_dir, problems, slots) for name, b in config.backends.items()}
    tls = None
    if problems is not None and config.gateway.tls is not None:
        tls = server_tls(config.gateway.tls, base_dir, problems)
    fragments = policies.get(("fragments",), {})
    products_of = {}
    for pname, product in config.products.items():
        for api in dict.fromkeys(product.apis):
            products_of.setdefault(api, []).append(pname)
    apis = {}
    specs = []
    global_sections = dict(policies.get(("global",), {}))
    # APIM: the global backend section is <forward-request/> unless the file says otherwise
    global_sections.setdefault("backend", (DEFAULT_FORWARD,))
    # (path, version) of revisions one of which says `current: true`: the others are not current
    declared = {_revision_group(api) for api in config.apis.values() if api.current}
    for name, api in config.apis.items():
        in_products = tuple(products_of.get(name, ()))
        open_product = next((p for p in in_products if not config.products[p].subscription_required), None)
        plan_api = ApiPlan(
            name=name, path=api.path, backend=backends.get(api.backend) if api.backend else None,
            subscription_required=api.subscription_required,
            key_header=api.subscription_key_header.lower(), key_query=api.subscription_key_query,
            products=in_products, open_product=open_product, version=api.version, revision=api.revision,
        )
        api_sections = policies.get(("api", name), {})
        operations = list(enumerate(api.operations)) or [(None, None)]
        route_ops = []
        for index, op in operations:
            op_sections = policies.get(("operation", name, index), {}) if op is not None else {}
            pipelines = {}
            for product in (None,) + in_products:
                chain = [global_sections]
                if product is not None:
                    chain.append(policies.get(("product", product), {}))
                chain += [api_sections, op_sections]
                pipeline = _pipeline(chain)
                if problems is not None:
                    parts = PlanParts(backends, fragments, op.responses if op is not None else None,
                                      config.gateway, tls)
                    pipeline = _with_program(pipeline, compile_program(pipeline, parts, problems))
                pipelines[product] = pipeline
            if op is None:  # no operations listed: every method and path
                plan_op = OperationPlan("*", "*", "/*", plan_api, pipelines)
            else:
                plan_op = OperationPlan(op.id, op.method, op.url_template, plan_api, pipelines)
            plan_api.operations[plan_op.id] = plan_op
            route_ops.append((plan_op, plan_op.method, plan_op.url_template))
        apis[name] = plan_api
        scheme = api.version_scheme if api.version_scheme in ("header", "query") else None
        version_name = api.version_header if scheme == "header" else api.version_query
        current = api.current if api.current is not None else _revision_group(api) not in declared
        specs.append((plan_api, list(api_prefix(api)), scheme, api.version if scheme else None,
                      version_name, api.revision, current, route_ops))
    subscriptions = {}
    by_digest = {}
    for name, sub in config.subscriptions.items():
        kind, _, target = sub.scope.partition(":")
        keys = [k for k in (sub.primary_key, sub.secondary_key) if k]
        digests = tuple(key_digest(k) for k in keys)
        plan_sub = SubscriptionPlan(name, kind, target or None, sub.state == "active", digests)
        subscriptions[name] = plan_sub
        for digest in digests:
            by_digest[digest] = plan_sub
    return Plan(
        source=source, generation=generation, loaded_at=time.time(), config=config,
        settings=config.gateway, router=fastpath.Router(specs), apis=apis, backends=backends,
        products=dict(config.products), subscriptions=subscriptions, _by_digest=by_digest,
        product_infos={name: Named(id=name, name=name) for name in config.products},
        unmatched=_unmatched(global_sections, backends, fragments, problems), tls=tls,
    )


def _revision_group(api) -> tuple:
    """The APIs that are revisions of one another share this: path (with a path version) and version."""
    return api_prefix(api), api.version if api.version_scheme in ("header", "query") else None


def expand_base(chain: list, section: str) -> tuple:
    """Statements of `section` across scopes (broad to narrow): each scope's `base` stands
    for its parent's result; a scope that does not define the section inherits it whole."""
    result: tuple = ()
    for scope in chain:
        statements = scope.get(section)
        if statements is None:
            continue
        expanded = []
        for statement in statements:
            if statement is BASE:
                expanded.extend(result)
            else:
                expanded.append(statement)
        result = tuple(expanded)
    return result


def _pipeline(chain: list) -> Pipeline:
    return Pipeline(**{s.replace("-", "_"): expand_base(chain, s) for s in SECTIONS})


def _unmatched(global_sections: dict, backends: dict, fragments: dict, problems) -> Optional[Pipeline]:
    if problems is None:
        return None
    pipeline = Pipeline(on_error=expand_base([global_sections], "on-error"))
    return _with_program(pipeline, compile_program(pipeline, PlanParts(backends, fragments), problems))


def _with_program(pipeline: Pipeline, program) -> Pipeline:
    """The pipeline with its Program; plain when the Program is one plain forward-request, with
    at most constant set-header statements around it, which the exchange applies itself."""
    edits = static_edits(program)
    if edits is False:
        return replace(pipeline, program=program)
    return replace(pipeline, program=program, plain=True, timeout=program.sections[BACKEND][-1].timeout,
                   request_edits=edits[0], answer_edits=edits[1])


def adhoc_backend(url: str) -> BackendPlan:
    """A backend for a URL named by a policy (set-backend-service base-url), with default settings."""
    from gwcore.config.schema import Backend
    return _backend(url, Backend(url=url))


def _backend(name: str, backend, base_dir: str = ".", problems=None, slots=None) -> BackendPlan:
    if backend.members:
        members = [(m.url, m.weight, m.priority) for m in backend.members]
    else:
        members = [(backend.url, 1, 1)]
    members = [_member(*m) for m in members]
    check = backend.health_check
    if check is not None and slots is not None:
        members = [replace(m, health_slot=next(slots), health_tag=health_tag(name, m.url, check.path))
                   for m in members]
    context = None
    if problems is not None and (backend.tls is not None or any(m.scheme == "https" for m in members)):
        context = backend_context(backend.tls, base_dir, ("backends", name, "tls"), problems)
    return BackendPlan(
        name=name, members=tuple(members),
        load_balancing=backend.load_balancing, timeout=backend.timeout,
        connect_timeout=backend.connect_timeout, max_idle_connections=backend.max_idle_connections,
        idle_timeout=backend.idle_timeout, health_check=check, circuit_breaker=backend.circuit_breaker,
        ssl_context=context, sni=backend.tls.sni if backend.tls is not None else None, tls=backend.tls,
        base_dir=base_dir,
    )


def health_tag(backend: str, url: str, path: str) -> int:
    """A member's mark in the health board: the same in every process that compiles the same config."""
    digest = hashlib.blake2b(f"{backend}\0{url}\0{path}".encode("utf-8", "surrogateescape"), digest_size=8).digest()
    return int.from_bytes(digest, "little") | 1


def _member(url: str, weight: int, priority: int) -> Member:
    parts = urlsplit(url)
    default_port = 443 if parts.scheme == "https" else 80
    port = default_port if parts.port is None else parts.port
    host = parts.hostname
    shown = f"[{host}]" if ":" in host else host
    host_header = shown if port == default_port else f"{shown}:{port}"
    return Member(url=url, scheme=parts.scheme, host=host, port=port, base_path=parts.path.rstrip("/"),
                  host_header=host_header.encode("ascii"), weight=weight, priority=priority)
