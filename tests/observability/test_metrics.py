"""Worker counters, the supervisor's sums and the Prometheus text they make, without processes."""
from time import perf_counter
from types import SimpleNamespace

import pytest

from promtext import parse, total

from gwcore.observability import metrics
from gwcore.observability.metrics import BOUNDS, WorkerMetrics
from gwcore.supervisor.metrics import Exposition, Totals, custom_name, label_name, quantile

class Plan:
    """Stands for ApiPlan / OperationPlan: hashed by identity, as those are (eq=False)."""

    def __init__(self, **fields):
        self.__dict__.update(fields)


API = Plan(name="inv")
OP = Plan(id="get-item", api=API)


def finished(status=200, elapsed=0.003, upstream=None, operation=OP):
    """What Exchange.finish hands the counter: the fields it reads."""
    now = perf_counter()
    return SimpleNamespace(operation=operation, api=operation.api if operation else None, status=status,
                           t0=now - elapsed, t_upstream=now - upstream if upstream else 0.0)


def test_count_and_take_give_deltas_by_names():
    m = WorkerMetrics()
    for _ in range(3):
        m.count(finished(upstream=0.002))
    m.count(finished(status=503))
    m.count(finished(status=404, operation=None))
    delta = m.take()
    assert sorted(map(tuple, delta["requests"])) == [("", "", 404, 1), ("inv", "get-item", 200, 3),
                                                     ("inv", "get-item", 503, 1)]
    (api, hist), _ = delta["duration"]
    assert api == "inv" and sum(hist[:-1]) == 4 and hist[BOUNDS.index(0.005)] == 4
    assert delta["upstream"][0][1][BOUNDS.index(0.0025)] == 3
    assert m.take() == {}  # taken: the next heartbeat sends only what is new


def test_policy_counters_are_silent_while_metrics_are_off(monkeypatch):
    monkeypatch.setattr(metrics, "current", None)
    metrics.count_decision("rate-limit", False)  # no registry: nothing to do, nothing raised
    m = WorkerMetrics()
    monkeypatch.setattr(metrics, "current", m)
    metrics.count_decision("rate-limit", False)
    metrics.count_decision("rate-limit", True)
    metrics.count_cache(True)
    metrics.add_custom("orders", ("namespace", "tier"), ("shop", "gold"), 2.5)
    metrics.add_custom("orders", ("namespace", "tier"), ("shop", "gold"), 1)
    delta = m.take()
    assert sorted(map(tuple, delta["limits"])) == [("rate-limit", "allowed", 1), ("rate-limit", "denied", 1)]
    assert delta["cache"] == [["hit", 1]]
    assert delta["custom"] == [["orders", ["namespace", "tier"], ["shop", "gold"], 3.5]]


def test_totals_add_up_workers_and_keep_what_a_gone_worker_counted():
    totals = Totals()
    one, two = WorkerMetrics(), WorkerMetrics()
    for _ in range(5):
        one.count(finished())
    two.count(finished())
    totals.heartbeat(11, {"requests": 5, "metrics": one.take(), "gauges": {"state": {"errors": 2}}})
    totals.heartbeat(12, {"requests": 1, "metrics": two.take(), "gauges": {"state": {"errors": 1}}})
    totals.gone(11)
    totals.heartbeat(13, {"requests": 0, "gauges": {"state": {"errors": 0}}})  # its successor starts at 0
    assert totals.requests[("inv", "get-item", "200")] == 6
    assert totals.state_errors == 3 and set(totals.views) == {12, 13}
    assert sum(totals.duration["inv"][:-1]) == 6


def test_quantile_interpolates_like_histogram_quantile():
    counts = [0] * (len(BOUNDS) + 1)
    counts[BOUNDS.index(0.01)] = 100          # everything between 5 ms and 10 ms
    assert quantile(counts, 0.5) == pytest.approx(0.0075)
    assert quantile([0] * len(counts), 0.5) is None


def test_exposition_escapes_labels_and_parses():
    out = Exposition()
    out.family("gwcore_x_total", "counter", "x.", [("", (("api", 'a"b\\c\nd'),), 3)])
    out.histogram("gwcore_d_seconds", "d.", {"inv": [1] + [0] * (len(BOUNDS)) + [0.25]})
    samples, types = parse(out.text().decode())
    assert types == {"gwcore_x_total": "counter", "gwcore_d_seconds": "histogram"}
    assert total(samples, "gwcore_x_total", api='a\\"b\\\\c\\nd') == 3
    assert total(samples, "gwcore_d_seconds_bucket", le="+Inf") == 1
    assert total(samples, "gwcore_d_seconds_sum") == 0.25


def test_custom_metric_names():
    assert custom_name("Probe-Hits") == "gwcore_custom_probe_hits_total"
    assert label_name("API ID") == "api_id" and label_name("9lives") == "d_9lives"


def test_the_per_request_layout_matches_its_offsets():
    """count() uses literal offsets into the per-(operation, status) list; they must be these."""
    assert metrics._REQUEST_SUM == metrics._REQUEST + metrics.SLOTS - 1
    assert metrics._UPSTREAM == metrics._REQUEST_SUM + 1
    assert metrics._UPSTREAM_SUM == metrics._UPSTREAM + metrics.SLOTS - 1 == metrics.WIDTH - 1
    assert (metrics._REQUEST, metrics._REQUEST_SUM, metrics._UPSTREAM, metrics._UPSTREAM_SUM) == (1, 18, 19, 36)


def test_an_untimed_answer_is_counted_without_a_duration():
    m = WorkerMetrics()
    m.count(SimpleNamespace(operation=None, api=None, status=400, t0=0.0, t_upstream=0.0))
    assert m.take() == {"requests": [["", "", 400, 1]]}


def test_custom_series_are_capped(monkeypatch):
    m = WorkerMetrics()
    monkeypatch.setattr(metrics, "current", m)
    for i in range(metrics.MAX_CUSTOM_SERIES + 50):
        metrics.add_custom("paths", ("namespace", "path"), ("n", f"/p/{i}"), 1)
    metrics.add_custom("paths", ("namespace", "path"), ("n", "/p/0"), 1)  # an existing series still counts
    delta = m.take()
    assert len(delta["custom"]) == metrics.MAX_CUSTOM_SERIES
    totals = Totals()
    totals.add(delta)
    totals.add({"custom": [["paths", ["namespace", "path"], ["n", "/new"], 1]]})
    labels, series = totals.custom["paths"]
    assert len(series) == metrics.MAX_CUSTOM_SERIES and series[("n", "/p/0")] == 2


def test_bucket_is_bisect_left_over_the_bounds():
    from bisect import bisect_left

    from gwcore.observability.metrics import bucket
    for value in [0.0, *BOUNDS, *(b * 0.999 for b in BOUNDS), *(b * 1.001 for b in BOUNDS), 1e9]:
        assert bucket(value) == bisect_left(BOUNDS, value), value
