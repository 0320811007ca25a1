"""bench-scale's pure parts: percentiles, exposition counters, /proc parsing, settings."""
from __future__ import annotations

import math

import numpy as np
import pytest

from bench.scale import procstat, promtext
from bench.scale.settings import Configuration, SettingsError, from_env, parse_configurations
from bench.scale.stats import histogram_quantile, percentile


@pytest.mark.parametrize("q", [0, 1, 25, 50, 90, 99, 100])
def test_percentile_matches_numpys_linear_method(q: float) -> None:
    xs = [0.3, 5.0, 1.2, 0.0, 2.5, 9.75, 1.2]
    assert percentile(xs, q) == pytest.approx(float(np.percentile(xs, q)))


def test_percentile_edges() -> None:
    assert percentile([], 50) is None
    assert percentile([4.0], 99) == 4.0
    with pytest.raises(ValueError):
        percentile([1.0], 101)


def test_histogram_quantile_interpolates_like_prometheus() -> None:
    buckets = [(0.1, 10.0), (0.5, 30.0), (1.0, 40.0), (math.inf, 40.0)]
    assert histogram_quantile(0.25, buckets) == pytest.approx(0.1 * 10 / 10)  # rank 10: the top of the first
    assert histogram_quantile(0.5, buckets) == pytest.approx(0.1 + 0.4 * (20 - 10) / 20)
    assert histogram_quantile(0.99, buckets) == pytest.approx(0.5 + 0.5 * (39.6 - 30) / 10)
    assert histogram_quantile(0.99, [(1.0, 1.0), (math.inf, 10.0)]) == 1.0  # in +Inf: the highest bound
    assert histogram_quantile(0.5, [(1.0, 0.0), (math.inf, 0.0)]) is None
    with pytest.raises(ValueError):
        histogram_quantile(0.5, [(1.0, 3.0)])


EXPOSITION = """\
# HELP apiserver_request_total Counter of apiserver requests.
# TYPE apiserver_request_total counter
apiserver_request_total{code="200",resource="deployments",subresource="",verb="GET"} 10
apiserver_request_total{code="404",resource="deployments",subresource="",verb="GET"} 2
apiserver_request_total{code="200",resource="releases",subresource="status",verb="PUT"} 3
apiserver_request_total_other{verb="GET"} 99
# HELP ripcord_reconcile_lateness_seconds x
# TYPE ripcord_reconcile_lateness_seconds histogram
ripcord_reconcile_lateness_seconds_bucket{le="0.5"} 3
ripcord_reconcile_lateness_seconds_bucket{le="1.0"} 4
ripcord_reconcile_lateness_seconds_bucket{le="+Inf"} 5
ripcord_reconcile_lateness_seconds_sum 2.0
ripcord_reconcile_lateness_seconds_count 5
"""


def test_counts_sum_a_counter_by_the_labels_asked_and_nothing_else() -> None:
    got = promtext.counts(EXPOSITION, "apiserver_request_total", ("verb", "resource"))
    assert got == {("GET", "deployments"): 12.0, ("PUT", "releases"): 3.0}
    assert promtext.total(EXPOSITION, "apiserver_request_total", verb="GET") == 12.0
    assert promtext.histogram(EXPOSITION, "ripcord_reconcile_lateness_seconds") == [(0.5, 3.0), (1.0, 4.0),
                                                                                    (math.inf, 5.0)]
    assert promtext.histogram(EXPOSITION, "no_such") == []


def test_growth_counts_new_and_restarted_series_from_zero() -> None:
    before = {("GET", "pods"): 10.0, ("LIST", "pods"): 50.0, ("PUT", "x"): 1.0}
    after = {("GET", "pods"): 15.0, ("LIST", "pods"): 7.0, ("POST", "events"): 2.0}
    assert promtext.growth(before, after) == {("GET", "pods"): 5.0, ("LIST", "pods"): 7.0, ("POST", "events"): 2.0}
    assert promtext.histogram_growth([(1.0, 2.0), (math.inf, 3.0)], [(1.0, 5.0), (math.inf, 9.0)]) == [
        (1.0, 3.0), (math.inf, 6.0)]


def test_proc_parsing() -> None:
    stat = "4242 (ripcord run (x)) S 1 4242 4242 0 -1 4194560 1 0 0 0 250 50 0 0 20 0 9 0 77 1 2"
    assert procstat.parse_cpu_seconds(stat, ticks=100) == pytest.approx(3.0)
    assert procstat.parse_rss_bytes("Name:\tpython\nVmRSS:\t  137216 kB\nThreads: 9\n") == 137216 * 1024
    a, b = procstat.ProcSample(10.0, 5.0, 0), procstat.ProcSample(30.0, 15.0, 0)
    assert procstat.cpu_cores(a, b) == 0.5
    with pytest.raises(ValueError):
        procstat.parse_rss_bytes("State: Z (zombie)\n")


def test_the_own_process_can_be_sampled() -> None:
    import os
    s = procstat.sample(os.getpid())
    assert s.cpu_s > 0 and s.rss_bytes > 1024 * 1024


def test_settings_defaults_small_and_explicit() -> None:
    full = from_env({})
    assert full.configurations == (Configuration(100, 10), Configuration(300, 10), Configuration(1000, 100))
    assert full.largest == Configuration(1000, 100) and full.window_s == 60
    assert from_env({"BENCH_SCALE": "small"}).configurations == (Configuration(100, 10),)
    got = from_env({"BENCH_SCALE_CONFIGS": "300+10, 100+10", "BENCH_SCALE_WINDOW_S": "30"})
    assert got.configurations == (Configuration(100, 10), Configuration(300, 10)) and got.window_s == 30
    assert str(Configuration(1000, 100)) == "1000+100" and Configuration(1000, 100).releases == 1100


@pytest.mark.parametrize("env, name", [
    ({"BENCH_SCALE": "huge"}, "BENCH_SCALE"),
    ({"BENCH_SCALE_CONFIGS": "100"}, "BENCH_SCALE_CONFIGS"),
    ({"BENCH_SCALE_CONFIGS": "0+0"}, "BENCH_SCALE_CONFIGS"),
    ({"BENCH_SCALE_WINDOW_S": "soon"}, "BENCH_SCALE_WINDOW_S"),
    ({"BENCH_SCALE_WINDOW_S": "1"}, "BENCH_SCALE_WINDOW_S"),
    ({"BENCH_SCALE_BAD_EVERY": "0"}, "BENCH_SCALE_BAD_EVERY"),
])
def test_bad_settings_name_the_variable(env: dict[str, str], name: str) -> None:
    with pytest.raises(SettingsError, match=name):
        from_env(env)


def test_parse_configurations_orders_by_population() -> None:
    assert parse_configurations("1000+100,100+10") == (Configuration(100, 10), Configuration(1000, 100))
