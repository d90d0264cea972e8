"""The supervisor's sums of what every worker counted, and their Prometheus text exposition.

Workers send deltas with each heartbeat; the sums live here, so a counter never goes back
when a worker is replaced (a worker that is killed loses at most its last second).
"""
import collections
import re
import time

from gwcore.observability.metrics import BOUNDS, MAX_CUSTOM_SERIES, SLOTS

RATE_WINDOW = 5.0        # seconds of heartbeats a worker's requests/s is computed over
RESTART_REASONS = ("died", "recycled", "replaced")
_NAME_BAD = re.compile(r"[^a-zA-Z0-9_]")
_LE = [repr(b) for b in BOUNDS] + ["+Inf"]


class WorkerView:
    """What one worker last said about itself."""

    def __init__(self):
        self.gauges = {}
        self.state_errors = 0                               # its backend's count, as last reported
        self.samples = collections.deque()                  # (monotonic time, requests served)

    def rate(self) -> float:
        if len(self.samples) < 2:
            return 0.0
        (t0, n0), (t1, n1) = self.samples[0], self.samples[-1]
        return (n1 - n0) / (t1 - t0) if t1 > t0 else 0.0


class Totals:
    """Every counter and histogram summed over the workers, alive or gone."""

    def __init__(self):
        self.requests = collections.Counter()     # (api, operation, code) -> n
        self.duration = {}                        # api -> bucket counts + sum
        self.upstream = {}
        self.limits = collections.Counter()       # (policy, result) -> n
        self.cache = collections.Counter({"hit": 0, "miss": 0})
        self.custom = {}                          # metric name -> (label names, Counter of values)
        self.state_errors = 0
        self.views = {}                           # pid -> WorkerView of live workers

    def view(self, pid: int) -> WorkerView:
        found = self.views.get(pid)
        if found is None:
            found = self.views[pid] = WorkerView()
        return found

    def heartbeat(self, pid: int, message: dict) -> None:
        """Add a heartbeat's deltas; keep its gauges."""
        view = self.view(pid)
        now = time.monotonic()
        view.samples.append((now, message.get("requests", 0)))
        while len(view.samples) > 2 and now - view.samples[0][0] > RATE_WINDOW:
            view.samples.popleft()
        gauges = message.get("gauges")
        if gauges:
            view.gauges = gauges
            errors = gauges.get("state", {}).get("errors") or 0
            self.state_errors += max(errors - view.state_errors, 0)
            view.state_errors = errors
        delta = message.get("metrics")
        if delta:
            self.add(delta)

    def gone(self, pid: int) -> None:
        self.views.pop(pid, None)

    def add(self, delta: dict) -> None:
        for api, operation, code, n in delta.get("requests", ()):
            self.requests[(api, operation, str(code))] += n
        for target, name in ((self.duration, "duration"), (self.upstream, "upstream")):
            for api, hist in delta.get(name, ()):
                if len(hist) != SLOTS:
                    continue  # a worker of another version: its buckets do not line up
                sums = target.get(api)
                if sums is None:
                    target[api] = list(hist)
                else:
                    for i, value in enumerate(hist):
                        sums[i] += value
        for policy, result, n in delta.get("limits", ()):
            self.limits[(policy, result)] += n
        for result, n in delta.get("cache", ()):
            self.cache[result] += n
        for name, labels, values, total in delta.get("custom", ()):
            family = self.custom.get(name)
            if family is None:
                family = self.custom[name] = (tuple(labels), collections.Counter())
            values = tuple(values)
            # one metric, one label set (a later different one is dropped), and a bounded number of series
            if tuple(labels) == family[0] and (values in family[1] or len(family[1]) < MAX_CUSTOM_SERIES):
                family[1][values] += total

    # ------------------------------------------------------------ live figures

    def live(self, pids) -> list:
        return [self.views[p] for p in pids if p in self.views and self.views[p].gauges]

    def percentile(self, q: float):
        """The q-quantile (0..1) of request duration over every API, from the histogram, or None."""
        counts = [0] * (len(BOUNDS) + 1)
        for hist in self.duration.values():
            for i in range(len(counts)):
                counts[i] += hist[i]
        return quantile(counts, q)


def quantile(counts: list, q: float):
    """Linear interpolation within the bucket, as Prometheus' histogram_quantile does."""
    total = sum(counts)
    if not total:
        return None
    rank, seen = q * total, 0
    for i, n in enumerate(counts):
        if seen + n >= rank and n:
            if i == len(BOUNDS):
                return BOUNDS[-1]
            lower = BOUNDS[i - 1] if i else 0.0
            return lower + (BOUNDS[i] - lower) * (rank - seen) / n
        seen += n
    return BOUNDS[-1]


def _escape(value) -> str:
    return str(value).replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n")


def _labels(pairs) -> str:
    return "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in pairs) + "}" if pairs else ""


def _number(value) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value) if isinstance(value, float) else str(value)


class Exposition:
    """Builds the text format (version 0.0.4): each family's HELP and TYPE, then its samples."""

    def __init__(self):
        self.lines = []

    def family(self, name: str, kind: str, help_text: str, samples) -> None:
        self.lines.append(f"# HELP {name} {help_text}")
        self.lines.append(f"# TYPE {name} {kind}")
        for suffix, pairs, value in samples:
            self.lines.append(f"{name}{suffix}{_labels(pairs)} {_number(value)}")

    def histogram(self, name: str, help_text: str, per_api: dict) -> None:
        samples = []
        for api in sorted(per_api):
            hist = per_api[api]
            running = 0
            for le, n in zip(_LE, hist):
                running += n
                samples.append(("_bucket", (("api", api), ("le", le)), running))
            samples.append(("_sum", (("api", api),), round(hist[-1], 6)))
            samples.append(("_count", (("api", api),), running))
        self.family(name, "histogram", help_text, samples)

    def text(self) -> bytes:
        return ("\n".join(self.lines) + "\n").encode("utf-8")


def custom_name(name: str) -> str:
    """The Prometheus name of an emit-metric counter: gwcore_custom_<name>_total."""
    return "gwcore_custom_" + _NAME_BAD.sub("_", name).strip("_").lower() + "_total"


def label_name(name: str) -> str:
    """A dimension's label: `API ID` -> api_id."""
    cleaned = _NAME_BAD.sub("_", name).strip("_").lower()
    return cleaned if cleaned and not cleaned[0].isdigit() else "d_" + cleaned


def render(sup) -> bytes:
    """The whole /metrics page for the supervisor `sup`."""
    totals = sup.metrics
    out = Exposition()
    views = totals.live(w.pid for w in sup.slots.workers() if w.state in ("booting", "ready", "draining"))
    out.family("gwcore_requests_total", "counter", "Requests answered, by API, operation and status code.",
               (("", (("api", a), ("operation", o), ("code", c)), n) for (a, o, c), n in sorted(totals.requests.items())))
    out.histogram("gwcore_request_duration_seconds", "Time from the request's turn to the end of its answer.",
                  totals.duration)
    out.histogram("gwcore_upstream_duration_seconds", "Time from sending to the backend to the end of the answer.",
                  totals.upstream)
    connections = collections.Counter()
    members, circuits = {}, {}
    up = {}
    for view in views:
        g = view.gauges
        for backend, (active, idle) in g.get("upstream", {}).items():
            connections[(backend, "active")] += active
            connections[(backend, "idle")] += idle
        for backend, member, healthy in g.get("members", ()):  # healthy only if every worker says so
            members[(backend, member)] = min(members.get((backend, member), 1), healthy)
        for backend, is_open in g.get("circuits", {}).items():
            circuits[backend] = max(circuits.get(backend, 0), is_open)
        state = g.get("state", {})
        kind = state.get("kind") or "local"
        up[kind] = min(up.get(kind, 1), 1 if state.get("up") else 0)
    out.family("gwcore_upstream_connections", "gauge", "Upstream connections over every worker, by backend and"
               " state (active: lent to a request; idle: pooled).",
               (("", (("backend", b), ("state", s)), n) for (b, s), n in sorted(connections.items())))
    out.family("gwcore_ratelimit_decisions_total", "counter", "Rate-limit and quota decisions by policy and result.",
               (("", (("policy", p), ("result", r)), n) for (p, r), n in sorted(totals.limits.items())))
    out.family("gwcore_cache_total", "counter", "Response cache lookups by result.",
               (("", (("result", r),), n) for r, n in sorted(totals.cache.items())))
    out.family("gwcore_state_backend_up", "gauge", "1 when every worker reaches its state backend.",
               (("", (("kind", k),), v) for k, v in sorted(up.items())))
    out.family("gwcore_state_errors_total", "counter", "State backend errors (lost connections, failed calls).",
               (("", (), totals.state_errors),))
    out.family("gwcore_worker_restarts_total", "counter", "Worker processes started in place of another, by reason.",
               (("", (("reason", r),), sup.restarts.get(r, 0)) for r in RESTART_REASONS))
    out.family("gwcore_config_reloads_total", "counter", "Configuration reloads by result.",
               (("", (("result", r),), sup.config.reloads.get(r, 0)) for r in ("ok", "failed")))
    out.family("gwcore_config_generation", "gauge", "Generation of the configuration being served.",
               (("", (), sup.config.generation),))
    out.family("gwcore_backend_member_healthy", "gauge", "1 when a backend member is healthy on every worker.",
               (("", (("backend", b), ("member", m)), v) for (b, m), v in sorted(members.items())))
    out.family("gwcore_circuit_open", "gauge", "1 when a backend's circuit breaker is open on some worker.",
               (("", (("backend", b),), v) for b, v in sorted(circuits.items())))
    states = collections.Counter(w.state for w in sup.slots.workers())
    out.family("gwcore_workers", "gauge", "Worker processes by state.",
               (("", (("state", s),), states.get(s, 0)) for s in ("booting", "ready", "draining", "killed")))
    out.family("gwcore_in_flight_requests", "gauge", "Requests being answered now, over every worker.",
               (("", (), sum(v.gauges.get("in_flight", 0) for v in views)),))
    for name in sorted(totals.custom):
        labels, values = totals.custom[name]
        names = [label_name(label) for label in labels]
        out.family(custom_name(name), "counter", f"emit-metric {name}.",
                   (("", tuple(zip(names, vals)), n) for vals, n in sorted(values.items())))
    return out.text()
