"""The admin listener end to end: metric totals across workers and replacements, readiness, token, views."""
import json
import signal
import subprocess
import sys

import pytest

from promtext import parse, total

from .admin_gateway import AdminGateway, admin_refuses_connections, send
from .conftest import GWCORE, wait_for

TOKEN = "t0ken-for-the-admin-tests"


@pytest.fixture(scope="module")
def observed(origin, tmp_path_factory):
    """Two workers, admin listener on a free port, no token."""
    g = AdminGateway(tmp_path_factory.mktemp("observed"), origin.port, wait_workers=2)
    yield g
    g.kill()


def _svc_total(g) -> float:
    return total(g.scrape(), "gwcore_requests_total", api="svc")


def test_request_totals_over_two_workers_and_a_replacement(observed):
    g = observed
    before = _svc_total(g)
    sent = 0
    for i in range(60):
        assert send(g.port, f"/svc/a?n={i}") == 200
        sent += 1
    assert wait_for(lambda: _svc_total(g) == before + sent, timeout=10), (_svc_total(g), before + sent)
    status, stats = g.admin_json("/admin/stats")
    assert status == 200 and len(stats["workers"]) == 2
    assert all(w["requests"] > 0 for w in stats["workers"]), "SO_REUSEPORT gave one worker nothing"
    for w in stats["workers"]:
        assert {"pid", "slot", "generation", "age", "rss_bytes", "requests_per_second", "in_flight",
                "upstream_open", "upstream_idle", "state_latency_ms"} <= set(w)
        assert w["rss_bytes"] > 0 and w["state"] == "ready"

    counters_before = {k: v for k, v in g.scrape().items() if k[0].endswith("_total")}
    old = set(g.ready())
    g.signal(signal.SIGUSR2)  # every worker replaced, one slot at a time, while requests keep coming
    while not (set(g.ready()).isdisjoint(old) and len(g.ready()) == 2 and not (g.worker_pids() & old)):
        assert send(g.port, f"/svc/b?n={sent}") == 200
        sent += 1
        assert sent < 2000, f"workers not replaced: {g.log()[-2000:]}"
    for i in range(20):
        assert send(g.port, f"/svc/c?n={i}") == 200
        sent += 1
    assert wait_for(lambda: _svc_total(g) == before + sent, timeout=10), (_svc_total(g), before + sent)
    after = g.scrape()
    assert total(after, "gwcore_worker_restarts_total", reason="replaced") >= 2
    for key, value in counters_before.items():
        assert after.get(key, 0) >= value, f"{key} went back from {value} to {after.get(key)}"


def test_metric_families_policies_and_histograms(observed):
    g = observed
    # the fourth is refused by the rate limit, before emit-metric runs: 3 custom counts
    assert [send(g.port, "/limited/x", {"x-who": "carol", "x-tier": "gold"}) for _ in range(4)] == [200] * 3 + [429]
    assert send(g.port, "/cached/same") == 200

    def counted():  # each worker sends its counts with its next heartbeat
        samples = g.scrape()
        done = (total(samples, "gwcore_custom_probe_hits_total", tier="gold") == 3
                and total(samples, "gwcore_requests_total", api="limited", code="429") == 1
                and total(samples, "gwcore_requests_total", api="cached") == 1)
        return samples if done else None
    samples = wait_for(counted, timeout=10)
    assert samples, g.scrape()
    assert total(samples, "gwcore_ratelimit_decisions_total", policy="rate-limit-by-key", result="denied") >= 1
    assert total(samples, "gwcore_ratelimit_decisions_total", policy="rate-limit-by-key", result="allowed") >= 3
    assert total(samples, "gwcore_requests_total", api="limited", code="429") >= 1
    assert total(samples, "gwcore_cache_total", result="miss") >= 1
    assert total(samples, "gwcore_custom_probe_hits_total", api_id="limited", namespace="API Management") == 3
    assert total(samples, "gwcore_config_generation") >= 1
    assert total(samples, "gwcore_state_backend_up", kind="local") == 1
    assert total(samples, "gwcore_backend_member_healthy", backend="origin") == 1
    assert total(samples, "gwcore_circuit_open", backend="origin") == 0
    # a histogram's +Inf bucket is its count, and buckets never decrease with le
    buckets = sorted(((float(dict(k[1])["le"]), v) for k, v in samples.items()
                      if k[0] == "gwcore_request_duration_seconds_bucket" and dict(k[1])["api"] == "svc"))
    assert buckets[-1] == (float("inf"), total(samples, "gwcore_request_duration_seconds_count", api="svc"))
    assert all(a[1] <= b[1] for a, b in zip(buckets, buckets[1:]))
    assert total(samples, "gwcore_upstream_duration_seconds_count", api="svc") > 0
    assert "trace {" in g.log() and '"source":"probe"' in g.log() and '"tier":"gold"' in g.log()


def test_readyz_healthz_and_views(observed):
    g = observed
    assert g.admin("/healthz")[0] == 200
    assert g.admin("/readyz")[:2] == (200, b"ready\n")
    status, body = g.admin_json("/readyz?verbose")
    assert status == 200 and body["components"]["workers"] == {"ok": True, "slots": 2, "ready": 2, "booting": 0}
    status, routes = g.admin_json("/admin/routes")
    assert {api["api"]: api["prefix"] for api in routes["apis"]} == {"svc": "/svc", "limited": "/limited",
                                                                    "cached": "/cached"}
    status, explained = g.admin_json("/admin/routes/explain?method=GET&path=/limited/x/../y")
    assert status == 200 and explained["path"] == "/limited/y"
    assert explained["match"]["api"] == "limited" and explained["steps"]["inbound"] == [
        "rate-limit-by-key", "emit-metric", "trace"]
    assert explained["steps"]["backend"] == ["forward-request"]
    assert g.admin_json("/admin/routes/explain?path=/nowhere")[1]["status"] == 404
    assert g.admin("/nothing-here")[0] == 404


def test_config_is_redacted(origin, tmp_path):
    g = AdminGateway(tmp_path, origin.port, token=TOKEN, gateway={"state": "redis://:hunter2hunter2@127.0.0.1:1/0"},
                     wait_workers=0)
    try:
        assert wait_for(lambda: not admin_refuses_connections(g.admin_port), timeout=15), g.log()
        status, body, _ = g.admin("/admin/config", TOKEN)
        assert status == 200
        assert TOKEN.encode() not in body and b"hunter2hunter2" not in body
        config = json.loads(body)
        assert config["gateway"]["admin"]["token"] == "<redacted>"
        assert config["gateway"]["state"] == "redis://:<redacted>@127.0.0.1:1/0"
        assert config["apis"]["limited"]["policies"]["inbound"][1]["rate-limit-by-key"]["counter-key"].startswith("@(")
    finally:
        g.kill()


def test_admin_token_is_required_everywhere_but_healthz(origin, tmp_path):
    g = AdminGateway(tmp_path, origin.port, token=TOKEN, gateway={"workers": 1})
    try:
        for path in ("/metrics", "/readyz", "/admin/stats", "/admin/config", "/admin/routes"):
            assert g.admin(path)[0] == 401, path
            assert g.admin(path, "wrong-token-wrong-token")[0] == 401, path
            assert g.admin(path, TOKEN)[0] == 200, path
        assert g.admin("/healthz")[0] == 200
    finally:
        g.kill()


def test_readyz_is_503_until_every_worker_serves(origin, tmp_path):
    g = AdminGateway(tmp_path, origin.port, wait_workers=0,
                     env={"GWCORE_TEST_HOOKS": "1", "GWCORE_TEST_BOOT_DELAY": "2"})
    try:
        assert wait_for(lambda: not admin_refuses_connections(g.admin_port), timeout=15), g.log()
        status, body = g.admin_json("/readyz?verbose")
        assert status == 503 and body["components"]["workers"]["ok"] is False, body
        assert g.admin("/healthz")[0] == 200  # alive while not ready
        assert wait_for(lambda: g.admin("/readyz")[0] == 200, timeout=20), g.log()
        assert len(g.ready()) == 2
        g.signal(signal.SIGTERM)
        assert g.wait_exit(20) == 0
    finally:
        g.kill()


def test_gwcore_top_renders_a_frame(observed):
    g = observed
    send(g.port, "/svc/top")
    result = subprocess.run([GWCORE, "top", "--admin", f"127.0.0.1:{g.admin_port}", "--once"],
                            capture_output=True, text=True, timeout=30, env={"COLUMNS": "160", "PATH": "/usr/bin"})
    assert result.returncode == 0, result.stderr
    frame = result.stdout
    assert "supervisor" in frame and "req/s" in frame and "p99" in frame and "last reload" in frame
    assert "PID" in frame and "INFLIGHT" in frame
    for pid in g.ready():
        assert str(pid) in frame


def test_gwcore_top_without_rich_says_what_to_install():
    code = ("import sys; sys.modules['rich'] = None; del sys.path[0]; from gwcore.cli import main;"
            " sys.exit(main(['top', '--once']))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=30)
    assert result.returncode == 2 and "pip install 'gwcore[top]'" in result.stderr


def test_metrics_off_counts_nothing_but_the_supervisor_still_reports(origin, tmp_path):
    g = AdminGateway(tmp_path, origin.port, gateway={"workers": 1, "metrics": False})
    try:
        assert send(g.port, "/svc/off") == 200
        samples = wait_for(lambda: (lambda s: s if total(s, "gwcore_workers", state="ready") == 1 else None)(
            g.scrape()), timeout=10)
        assert total(samples, "gwcore_requests_total") == 0
        assert total(samples, "gwcore_config_generation") == 1
        stats = wait_for(lambda: (lambda s: s if s["workers"][0]["requests"] >= 1 else None)(
            g.admin_json("/admin/stats")[1]), timeout=10)
        assert stats and stats["supervisor"]["metrics"] is False
    finally:
        g.kill()


def test_the_admin_listener_follows_a_reload(origin, tmp_path):
    g = AdminGateway(tmp_path, origin.port, gateway={"workers": 1})
    try:
        assert g.admin("/admin/stats")[0] == 200
        g.token = TOKEN
        g.write_config()
        assert g.reload().returncode == 0
        assert g.admin("/admin/stats")[0] == 401 and g.admin("/admin/stats", TOKEN)[0] == 200
        samples = parse(g.admin("/metrics", TOKEN)[1].decode())[0]
        assert total(samples, "gwcore_config_reloads_total", result="ok") == 1
        assert total(samples, "gwcore_config_generation") == 2
    finally:
        g.kill()


def _queried_metrics() -> set:
    """Every metric name deploy/grafana/gwcore.json and deploy/prometheus/alerts.yaml query."""
    import re
    from pathlib import Path
    import yaml
    deploy = Path(__file__).resolve().parents[2] / "deploy"
    dashboard = json.loads((deploy / "grafana" / "gwcore.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    exprs += [t["query"] for t in dashboard["templating"]["list"] if t["type"] == "query"]
    exprs += [r["expr"] for g in yaml.safe_load((deploy / "prometheus" / "alerts.yaml").read_text())["groups"]
              for r in g["rules"]]
    return {name for expr in exprs for name in re.findall(r"\bgwcore_[a-z_]+", expr)}


def test_every_metric_the_dashboard_and_alerts_query_is_scraped(observed):
    g = observed
    send(g.port, "/limited/dash", {"x-who": "dashboard"})
    send(g.port, "/cached/dash")
    queried = _queried_metrics()
    assert len(queried) >= 12
    scraped = wait_for(lambda: (lambda names: names if queried <= names else None)(
        {name for name, _ in g.scrape()}), timeout=10)
    assert scraped, f"not in /metrics: {sorted(queried - {name for name, _ in g.scrape()})}"
