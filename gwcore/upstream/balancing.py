"""The member choice of one backend: priority groups, weighted round-robin or least-requests,
members out while their breaker is open or the host's health checker says they are down."""
import math

from gwcore.pipeline.errors import BackendError

UNAVAILABLE = "Backend service unavailable"


class BackendSet:
    """The pools of one backend (one pool per member); `choose()` picks a member per request.

    A lower-priority group (priority 2, 3, ...) is chosen from only when every member of the
    groups before it is out. Within a group: smooth weighted round-robin (nginx's: the weights
    hold over any run of requests), or the member with the fewest requests in flight per unit of
    weight (ties go round-robin). A backend of one member without breaker or health check
    takes the fast path: choose() is an attribute read.
    """

    def __init__(self, backend, pools: list, loop):
        self.backend = backend
        self.pools = pools
        self.loop = loop
        for pool in pools:
            pool.backend_set = self
        plain = len(pools) == 1 and backend.circuit_breaker is None and backend.health_check is None
        self.single = pools[0] if plain else None
        groups = {}
        for pool in pools:
            groups.setdefault(pool.member.priority, []).append(pool)
        self.groups = [groups[p] for p in sorted(groups)]
        self.least_requests = backend.load_balancing == "least-requests"

    def choose(self, exclude=None):
        """A usable member's pool, or None when every member is out (answer 503, see unavailable())."""
        single = self.single
        if single is not None and exclude is None:
            return single
        now = self.loop.time()
        for group in self.groups:
            usable = [pool for pool in group if pool is not exclude and pool.usable(now)]
            if usable:
                return usable[0] if len(usable) == 1 else self._pick(usable)
        return None

    def other(self, pool):
        """Another usable member than `pool` (for the one retry of a failed idempotent request), or None."""
        return self.choose(exclude=pool) if len(self.pools) > 1 else None

    def _pick(self, usable: list):
        if self.least_requests:
            loads = [pool.in_flight() / pool.member.weight for pool in usable]
            lowest = min(loads)
            usable = [pool for pool, load in zip(usable, loads) if load == lowest]
            if len(usable) == 1:
                return usable[0]
        total = 0
        best = None
        for pool in usable:
            weight = pool.member.weight
            pool.current_weight += weight
            total += weight
            if best is None or pool.current_weight > best.current_weight:
                best = pool
        best.current_weight -= total
        return best

    def retry_after(self) -> int:
        """Whole seconds until a member may be back: the earliest breaker to close, else the next health check."""
        now = self.loop.time()
        waits = [pool.breaker.open_until - now for pool in self.pools
                 if pool.breaker is not None and pool.breaker.is_open(now)]
        check = self.backend.health_check
        if check is not None and len(waits) < len(self.pools):
            waits.append(check.interval)
        return max(1, math.ceil(min(waits))) if waits else 1

    def unavailable(self) -> BackendError:
        """503 with Retry-After: every member is out (APIM: circuit open, pool exhausted)."""
        error = BackendError(503, UNAVAILABLE, "BackendUnavailable")
        error.headers = ((b"retry-after", b"%d" % self.retry_after()),)
        return error


def retarget(head: bytes, old, new) -> bytes:
    """A request head built for member `old`, sent to member `new` instead: the target moves from
    old's base path to new's, and Host is new's (the gateway's own Host line is the only one)."""
    line_end = head.index(b"\r\n")
    method, target, version = head[:line_end].split(b" ")
    old_base, new_base = old.base_path.encode("ascii"), new.base_path.encode("ascii")
    rest = target[len(old_base):] if old_base and target.startswith(old_base) else target
    if new_base and not old_base and (rest == b"/" or rest.startswith(b"/?")):
        rest = rest[1:]   # built as `"" + "" or "/"`: the path was the base path itself
    target = new_base + rest if new_base + rest else b"/"
    if target[:1] != b"/":
        target = b"/" + target
    head = b"%s %s %s%s" % (method, target, version, head[line_end:])
    return head.replace(b"\r\nhost: " + old.host_header + b"\r\n", b"\r\nhost: " + new.host_header + b"\r\n", 1)
