"""What the admin listener answers: health, readiness, metrics, stats, config, routes, explain."""
import os
import re
import time
from urllib.parse import urlsplit, urlunsplit

import orjson
import psutil

from gwcore import __version__
from gwcore.config.references import api_prefix
from gwcore.fastpath import PathError, normalize_path
from gwcore.policies.base import SECTIONS
from gwcore.supervisor.metrics import render

JSON = "application/json"
PROMETHEUS = "text/plain; version=0.0.4; charset=utf-8"
REDACTED = "<redacted>"
# keys whose values are secrets wherever they appear (subscription keys, tokens, passwords, ...)
_SECRET_KEY = re.compile(r"(^|[-_])(key|keys|secret|password|token|credentials?)$", re.I)
_NOT_SECRET = frozenset(["key", "counter-key"])   # expressions naming a cache entry or a counter
_SECRET_HEADERS = frozenset(["authorization", "proxy-authorization", "cookie", "ocp-apim-subscription-key"])


def answer(sup, path: str, query: dict):
    """(status, content type, body) for one GET."""
    view = VIEWS.get(path)
    if view is None:
        return 404, JSON, b'{"message":"not found; see /admin for the list"}\n'
    return view(sup, query)


def _json(status: int, value):
    return status, JSON, orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS) + b"\n"


def healthz(sup, query):
    """The supervisor is alive and its loop turns (this answer comes from that loop)."""
    return _json(200, {"status": "alive", "pid": os.getpid(), "version": __version__})


def readiness(sup) -> tuple:
    """(ready, components): every slot serves a valid Plan, no state backend fails closed."""
    slots = sup.slots.active()
    current = [s.current() for s in slots]
    serving = [w for w in current if w is not None and w.state == "ready"]
    workers_ok = bool(slots) and len(serving) == len(slots)
    problems = []
    for worker in serving:
        view = sup.metrics.views.get(worker.pid)
        for problem in (view.gauges.get("problems", ()) if view else ()):
            problems.append(f"worker {worker.pid}: {problem}")
    components = {
        "supervisor": {"ok": sup.stopping is None, "stopping": sup.stopping},
        "workers": {"ok": workers_ok, "slots": len(slots), "ready": len(serving),
                    "booting": sum(1 for w in current if w is not None and w.state == "booting")},
        "config": {"ok": sup.config.plan is not None, "generation": sup.config.generation,
                   "last_reload": sup.config.last_reload},
        "state": {"ok": not problems, "problems": problems},
    }
    return all(c["ok"] for c in components.values()), components


def readyz(sup, query):
    """200 once every worker serves the first valid Plan; 503 while booting, stopping, or failing closed."""
    ready, components = readiness(sup)
    status = 200 if ready else 503
    if "verbose" in query:
        return _json(status, {"status": "ready" if ready else "not ready", "components": components})
    return status, "text/plain", b"ready\n" if ready else b"not ready\n"


def metrics(sup, query):
    return 200, PROMETHEUS, render(sup)


def stats(sup, query):
    """Per worker: pid, slot, generation, age, RSS, requests/s, in flight, upstream connections, state latency."""
    now = time.monotonic()
    rows = []
    for worker in sorted(sup.slots.workers(), key=lambda w: (w.slot.index, w.age)):
        view = sup.metrics.views.get(worker.pid)
        gauges = view.gauges if view else {}
        upstream = gauges.get("upstream", {})
        state = gauges.get("state", {})
        try:
            rss = psutil.Process(worker.pid).memory_info().rss
        except psutil.Error:
            rss = None
        rows.append({"pid": worker.pid, "slot": worker.slot.index, "state": worker.state,
                     "generation": worker.generation, "age": worker.age,
                     "uptime_seconds": round(now - worker.started, 1), "rss_bytes": rss,
                     "requests": worker.requests, "requests_per_second": round(view.rate(), 2) if view else 0.0,
                     "in_flight": gauges.get("in_flight", 0), "connections": gauges.get("connections", 0),
                     "upstream_open": sum(a + i for a, i in upstream.values()),
                     "upstream_idle": sum(i for _, i in upstream.values()),
                     "state_backend": state.get("kind"), "state_up": state.get("up"),
                     "state_latency_ms": state.get("latency_ms")})
    totals = sup.metrics
    requests = sum(totals.requests.values())
    errors = sum(n for (_, _, code), n in totals.requests.items() if code.startswith("5"))
    denied = sum(n for (_, result), n in totals.limits.items() if result == "denied")
    p50, p99 = totals.percentile(0.5), totals.percentile(0.99)
    return _json(200, {
        "supervisor": {"pid": os.getpid(), "version": __version__, "generation": sup.config.generation,
                       "workers_wanted": sup.target, "stopping": sup.stopping,
                       "restarts": dict(sup.restarts), "reloads": sup.config.reloads,
                       "last_reload": sup.config.last_reload, "metrics": sup.settings.metrics},
        "totals": {"requests": requests, "errors_5xx": errors, "error_ratio": errors / requests if requests else 0.0,
                   "ratelimit_denied": denied, "p50_seconds": p50, "p99_seconds": p99,
                   "cache": dict(totals.cache)},
        "workers": rows})


def config_view(sup, query):
    """The effective config (file, environment and command line applied), secrets redacted."""
    plan = sup.config.plan
    return _json(200, redact(plan.config.model_dump(mode="json", by_alias=True),
                             plan.config.named_values))


def redact(config: dict, named_values: dict) -> dict:
    """Every secret out: subscription keys, the admin token, named values (and where they were
    substituted into policies), passwords in URLs, secret-looking keys, credential headers."""
    secrets = sorted((str(v) for v in named_values.values() if v is not None and len(str(v)) >= 6),
                     key=len, reverse=True)

    def clean(value, key=""):
        if isinstance(value, dict):
            header = str(value.get("name", "")).lower() in _SECRET_HEADERS
            return {k: (REDACTED if header and k == "value" and v is not None else clean(v, str(k)))
                    for k, v in value.items()}
        if isinstance(value, list):
            return [clean(v, key) for v in value]
        if value is None or isinstance(value, bool):
            return value
        if _SECRET_KEY.search(key) and key not in _NOT_SECRET:
            return REDACTED
        if isinstance(value, str):
            for secret in secrets:
                value = value.replace(secret, REDACTED)
            return _url_password(value)
        return value

    out = clean({k: v for k, v in config.items() if k != "named_values"})
    out["named_values"] = {name: REDACTED for name in named_values}
    return out


def _url_password(text: str) -> str:
    if "://" not in text or "@" not in text:
        return text
    try:
        parts = urlsplit(text)
        if parts.password is None:
            return text
        netloc = parts.netloc.replace(f":{parts.password}@", f":{REDACTED}@", 1)
        return urlunsplit(parts._replace(netloc=netloc))
    except ValueError:
        return REDACTED


def routes(sup, query):
    """The route table: each API's prefix, version, backend, products and operations."""
    plan = sup.config.plan
    out = []
    for name, api in plan.apis.items():
        spec = plan.config.apis[name]
        out.append({"api": name, "prefix": "/" + "/".join(api_prefix(spec)), "version": api.version,
                    "version_scheme": spec.version_scheme, "revision": api.revision,
                    "backend": api.backend.name if api.backend else None, "products": list(api.products),
                    "subscription_required": api.subscription_required,
                    "operations": [{"id": op.id, "method": op.method, "url_template": op.url_template}
                                   for op in api.operations.values()]})
    return _json(200, {"generation": plan.generation, "apis": out})


class _NoHeaders:
    """Explain routes without request headers: a header-versioned API does not match."""

    def get(self, name):
        return None


def explain(sup, query):
    """?method=GET&path=/x[&product=NAME]: the API, operation and policy steps a request would meet."""
    method = (query.get("method") or ["GET"])[0].upper()
    target = (query.get("path") or [""])[0]
    if not target.startswith("/"):
        return _json(400, {"message": "give path=/... (and method=GET)"})
    raw_path, _, raw_query = target.partition("?")
    try:
        path = normalize_path(raw_path.encode("latin-1"))
    except (PathError, UnicodeEncodeError):
        return _json(200, {"method": method, "path": raw_path, "match": None, "status": 400,
                           "message": "Bad Request: malformed path"})
    plan = sup.config.plan
    found = plan.match(method, path, raw_query, _NoHeaders())
    if found is None:
        return _json(200, {"method": method, "path": path, "match": None, "status": 404,
                           "message": "Resource not found"})
    api, operation, params, rest = found
    product = (query.get("product") or [None])[0] or api.open_product
    if product not in operation.pipelines:
        return _json(400, {"message": f"API {api.name} is not in product {product!r}",
                           "products": list(api.products)})
    pipeline = operation.pipelines[product]
    backend = api.backend
    return _json(200, {
        "method": method, "path": path,
        "match": {"api": api.name, "operation": operation.id, "url_template": operation.url_template,
                  "parameters": params or {}, "rest": rest},
        "product": product, "subscription_required": api.subscription_required,
        "backend": {"name": backend.name, "url": backend.members[0].url + rest} if backend else None,
        "plain": pipeline.plain,
        "steps": {section: [_statement(s) for s in getattr(pipeline, section.replace("-", "_"))]
                  for section in SECTIONS}})


def _statement(statement) -> str:
    return getattr(statement, "policy_name", type(statement).__name__)


def index(sup, query):
    return _json(200, {"endpoints": sorted(VIEWS)})


VIEWS = {"/healthz": healthz, "/readyz": readyz, "/metrics": metrics, "/admin": index, "/admin/stats": stats,
         "/admin/config": config_view, "/admin/routes": routes, "/admin/routes/explain": explain}
