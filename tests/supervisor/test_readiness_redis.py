"""/readyz and /metrics through a fail-closed Redis outage: not ready while it is down, ready again after."""
import json

import pytest

from promtext import total

from .admin_gateway import AdminGateway, send
from .conftest import wait_for

pytestmark = pytest.mark.redis


class RedisGateway(AdminGateway):
    """One worker, state in Redis failing closed, a rate-limited API (what needs the store)."""

    def __init__(self, directory, origin_port, redis_url: str):
        self.redis_url = redis_url
        super().__init__(directory, origin_port)

    def write_config(self, text: str = None, **changes) -> None:
        config = {
            "gateway": {"listen": f"127.0.0.1:{self.port}", "workers": 1, "access_log": "off",
                        "state": self.redis_url, "on_state_failure": "closed"},
            "backends": {"origin": {"url": f"http://127.0.0.1:{self.origin_port}/g0"}},
            "apis": {"limited": {"path": "limited", "backend": "origin", "subscription_required": False,
                                 "policies": {"inbound": ["base", {"rate-limit-by-key": {
                                     "calls": 1000, "renewal-period": 60, "counter-key": "all"}}]}}},
        }
        super().write_config(json.dumps(config))


def _ready(g) -> int:
    return g.admin("/readyz")[0]


def test_readiness_follows_a_fail_closed_redis_outage(origin, redis_factory, tmp_path):
    server = redis_factory()
    g = RedisGateway(tmp_path, origin.port, server.url)
    try:
        assert wait_for(lambda: _ready(g) == 200, timeout=15), g.admin("/readyz?verbose")
        assert send(g.port, "/limited/x") == 200
        server.kill()
        # the worker notices on its next call to Redis (or its reconnect attempts) and says so
        # with its next heartbeat
        assert wait_for(lambda: send(g.port, "/limited/x") == 503, timeout=10)
        assert wait_for(lambda: _ready(g) == 503, timeout=10), g.admin("/readyz?verbose")
        status, body, _ = g.admin("/readyz?verbose")
        state = json.loads(body)["components"]["state"]
        assert status == 503 and not state["ok"] and "unreachable" in state["problems"][0]
        assert g.admin("/healthz")[0] == 200
        samples = g.scrape()
        assert total(samples, "gwcore_state_backend_up", kind="redis") == 0
        assert total(samples, "gwcore_state_errors_total") >= 1
        server.start()
        assert wait_for(lambda: _ready(g) == 200, timeout=20), g.admin("/readyz?verbose")
        assert wait_for(lambda: total(g.scrape(), "gwcore_state_backend_up", kind="redis") == 1, timeout=5)
        assert send(g.port, "/limited/x") == 200
    finally:
        g.kill()
