"""The APIM self-hosted gateway's status endpoints, answered by every worker on the listener."""
import time

import orjson

from gwcore import __version__
from gwcore.state.base import iso

HEALTH = "/status-0123456789abcdef"
INTERNAL = "/internal/status"
PATHS = frozenset([HEALTH, INTERNAL])


def unhealthy_reasons(worker, plan) -> list:
    """Why this worker cannot serve; empty when it can."""
    reasons = []
    if plan is None:
        reasons.append("no valid configuration loaded")
    reasons.extend(worker.health_problems())
    return reasons


def answer(path: str, worker, plan):
    """(status, JSON body, extra headers) for one of PATHS."""
    now = time.time()
    if path == HEALTH:
        reasons = unhealthy_reasons(worker, plan)
        if reasons:
            body = {"status": "Unhealthy", "timestamp": iso(now), "reasons": reasons}
            return 503, orjson.dumps(body), ((b"cache-control", b"no-store"),)
        body = {"status": "Healthy", "timestamp": iso(now)}
        # Degraded but serving (Redis away, failing open): still 200, or a load balancer would take
        # every gateway sharing that Redis out at once; the reasons are in the body for whoever
        # looks. APIM's HealthStatus schema allows further properties; the 503 uses the same name.
        warnings = worker.health_warnings()
        if warnings:
            body["reasons"] = warnings
        return 200, orjson.dumps(body), ((b"cache-control", b"no-store"),)
    body = {
        "status": "Running" if not worker.draining else "Stopping",
        "version": __version__,
        "configurationStatus": worker.configuration_status,
        "lastConfigurationUpdate": iso(plan.loaded_at),
        "connectedToManagementPlane": False,   # gwcore is configured from files, not a cloud plane
        "uptimeSeconds": int(now - worker.started_at),
        "configurationGeneration": plan.generation,
        "configurationSource": plan.source,
        "worker": worker.pid,
        "stateBackend": worker.state.health(),
    }
    return 200, orjson.dumps(body), ((b"cache-control", b"no-store"),)
