"""A worker's in-memory counters and histograms, taken as deltas for the supervisor's /metrics.

The hot path (`count`, once per request) does a few dict and list operations keyed by the
plan's own objects; names are looked up and formatted only once a second, in `take()`.
Policies count through the module functions below, which do nothing while metrics are off.
"""
from time import perf_counter

# Upper bounds (seconds) of the latency histogram buckets; the last bucket is +Inf.
BOUNDS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
SLOTS = len(BOUNDS) + 2   # a histogram as sent: one count per bound, +Inf, then the sum
# One list per (operation, status) holds everything counted for it, so a request costs one
# dict lookup: [untimed count, request buckets (17), request sum, upstream buckets (17), upstream sum].
# The literal offsets in count() are these (literals: a constant costs less than a global there).
_REQUEST, _REQUEST_SUM, _UPSTREAM, _UPSTREAM_SUM = 1, 18, 19, 36
WIDTH = 37

current = None            # this process's WorkerMetrics, or None: metrics off (or not a worker)
# emit-metric dimension values may come from expressions: a cap keeps a per-request value
# (a path, an id) from growing memory and the heartbeat without bound; past it, new series are dropped
MAX_CUSTOM_SERIES = 2000


def bucket(elapsed: float) -> int:
    """bisect_left(BOUNDS, elapsed) as a loop that compiles to C: a request nearly always stops
    in the first buckets, and a call of bisect_left cost more than the rest of count()."""
    index = 0
    for bound in BOUNDS:
        if elapsed <= bound:
            return index
        index += 1
    return index


class WorkerMetrics:
    """Counts since the last `take()`; the supervisor adds them up, so a new worker starts at 0."""

    __slots__ = ("requests", "limits", "cache", "custom")

    def __init__(self):
        self._reset()

    def _reset(self) -> None:
        self.requests = {}    # (OperationPlan or None, status) -> list laid out as above
        self.limits = {}      # (policy name, allowed) -> count
        self.cache = {}       # "hit" | "miss" -> count
        self.custom = {}      # (metric name, label names, label values) -> sum of values

    def count(self, exchange) -> None:
        """One finished request (Exchange.finish): its status, and how long it and its backend call took."""
        key = (exchange.operation, exchange.status)
        slots = self.requests.get(key)
        if slots is None:
            slots = self.requests[key] = [0] * WIDTH
        t0 = exchange.t0
        if not t0:             # answered before its turn began (a malformed request): no duration
            slots[0] += 1
            return
        now = perf_counter()
        elapsed = now - t0
        slots[1 + bucket(elapsed)] += 1
        slots[18] += elapsed
        t_upstream = exchange.t_upstream
        if t_upstream:
            elapsed = now - t_upstream
            slots[19 + bucket(elapsed)] += 1
            slots[36] += elapsed

    def take(self) -> dict:
        """What was counted since the last call, as JSON-ready lists, and start again from zero.
        Histograms go by API: the per-operation lists are added up here, once a second."""
        requests, limits, cache, custom = self.requests, self.limits, self.cache, self.custom
        self._reset()
        out = {}
        if requests:
            counts, durations, upstream = [], {}, {}
            for (op, status), slots in requests.items():
                api = op.api.name if op is not None else ""
                counts.append([api, op.id if op is not None else "", status,
                               slots[0] + sum(slots[_REQUEST:_REQUEST_SUM])])
                for target, first in ((durations, _REQUEST), (upstream, _UPSTREAM)):
                    part = slots[first:first + SLOTS]
                    if not any(part[:-1]):
                        continue
                    sums = target.get(api)
                    if sums is None:
                        target[api] = part
                    else:
                        for i, value in enumerate(part):
                            sums[i] += value
            out["requests"] = counts
            if durations:
                out["duration"] = [[api, hist] for api, hist in durations.items()]
            if upstream:
                out["upstream"] = [[api, hist] for api, hist in upstream.items()]
        if limits:
            out["limits"] = [[policy, "allowed" if allowed else "denied", n] for (policy, allowed), n in limits.items()]
        if cache:
            out["cache"] = [[result, n] for result, n in cache.items()]
        if custom:
            out["custom"] = [[name, list(labels), list(values), total]
                             for (name, labels, values), total in custom.items()]
        return out


def count_decision(policy: str, allowed: bool) -> None:
    """A rate-limit or quota decision (gwcore_ratelimit_decisions_total{policy,result})."""
    metrics = current
    if metrics is not None:
        key = (policy, allowed)
        metrics.limits[key] = metrics.limits.get(key, 0) + 1


def count_cache(hit: bool) -> None:
    """A response-cache lookup (gwcore_cache_total{result})."""
    metrics = current
    if metrics is not None:
        result = "hit" if hit else "miss"
        metrics.cache[result] = metrics.cache.get(result, 0) + 1


def add_custom(name: str, labels: tuple, values: tuple, amount: float) -> None:
    """emit-metric: add `amount` to the custom counter `name` with these dimension values."""
    metrics = current
    if metrics is not None:
        key = (name, labels, values)
        custom = metrics.custom
        if key in custom:
            custom[key] += amount
        elif len(custom) < MAX_CUSTOM_SERIES:
            custom[key] = amount


def gauges(worker) -> dict:
    """What this worker is doing now (sent with every heartbeat, not as deltas)."""
    connections = {}
    members = []
    circuits = {}
    now = worker.loop.time()
    for name, backend_set in worker.upstreams._sets.items():
        active = idle = 0
        tripped = False
        for pool in backend_set.pools:
            active += pool.open - len(pool.idle)
            idle += len(pool.idle)
            members.append([name, pool.member.url, 1 if pool.healthy() else 0])
            tripped = tripped or pool.tripped(now)
        connections[name] = [max(active, 0), idle]
        circuits[name] = 1 if tripped else 0
    state = worker.state.health()
    # a connection's `active` exchange is being answered; `queue` holds pipelined ones waiting
    in_flight = sum((c.active is not None) + len(c.queue) for c in worker.connections)
    return {"in_flight": in_flight,
            "connections": len(worker.connections), "upstream": connections, "members": members,
            "circuits": circuits, "state": {"kind": state.get("kind"), "up": bool(state.get("connected")),
                                            "errors": state.get("errors", 0), "latency_ms": state.get("latency_ms")},
            "problems": worker.health_problems(), "generation": worker.plan.generation,
            "draining": worker.draining}
