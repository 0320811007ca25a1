"""bench-scale's figures, table and JSON from measured windows (no cluster)."""
from __future__ import annotations

import json
import math
from typing import Any

import pytest

from bench.scale import report
from bench.scale.phases import AtRest, Rolling, RolloutResult, Window
from bench.scale.scenario import ReleaseRef, Started
from bench.scale.settings import Configuration

REQUIRED = ("releases_at_rest", "releases_rolling", "api_requests_per_release_per_min_at_rest",
            "prometheus_queries_per_min_at_rest", "lateness_p50_s", "lateness_p99_s", "operator_rss_mib",
            "operator_cpu_cores_mean", "rollouts_correct_fraction")


def _window(seconds: float, apiserver: dict[tuple[str, ...], float], client: dict[tuple[str, ...], float],
            prom: float = 0.0, reconciles: float = 0.0, cpu: float | None = 0.5,
            lateness: list[tuple[float, float]] | None = None) -> Window:
    return Window(seconds, apiserver, client, prom, reconciles, cpu,
                  {"kube-apiserver": (0.7, 400 * report.MIB), "kubelet": (0.1, 90 * report.MIB)}, lateness, 3.5)


def _at_rest(releases: int = 100) -> AtRest:
    # 60 s at rest: the operator sent 6,000 requests (1 per Release per second) and the API
    # server counted 6,300 while its background is 5/s (300 in 60 s)
    window = _window(60, {("GET", "deployments"): 4000, ("LIST", "pods"): 2300},
                     {("GET", "deployments"): 4000, ("LIST", "pods"): 2000}, reconciles=5000)
    background = _window(30, {("LIST", "pods"): 150}, {}, cpu=None)
    return AtRest(releases, window, background, rss_peak_bytes=200 * report.MIB)


def _result(good: bool, outcome: str | None, first: float | None, late: tuple[float, ...]) -> RolloutResult:
    return RolloutResult(Started(ReleaseRef("scale-0", "r0000"), 0.0, 2, good), outcome, first, late)


def _rolling(lateness: list[tuple[float, float]] | None = None) -> Rolling:
    # 120 s, 3 rolling + 100 at rest
    window = _window(120, {("GET", "deployments"): 15000}, {("GET", "deployments"): 13200}, prom=240, cpu=0.8,
                     lateness=lateness)
    results = (_result(True, "Promoted", 2.0, (0.1, 0.3)), _result(False, "RolledBack", 3.0, (0.2,)),
               _result(True, None, None, ()))
    return Rolling(100, window, 300 * report.MIB, results, bench_requests=12)


def test_row_figures() -> None:
    r = report.row(Configuration(100, 10), _at_rest(), _rolling())
    assert r.api_rest_client == pytest.approx(60.0)  # 6,000 per 60 s / 100 Releases
    assert r.api_rest_apiserver == pytest.approx(60.0)  # (6,300 - 5/s x 60 s) / 100 / min
    assert r.api_rolling_total_per_min == pytest.approx(13200 / 2)
    assert r.api_rolling_client == pytest.approx(13200 / 2 / 103)  # per Release (all of them) per min
    assert r.api_rolling_excess == pytest.approx((13200 / 2 - 60 * 103) / 3)  # beyond the at-rest rate
    assert r.api_rolling_apiserver_per_min == pytest.approx((15000 - 600 - 12) / 2)
    assert r.prom_rest_per_min == 0 and r.prom_rolling_per_min == 120
    assert r.tick_spacing_rest_s == pytest.approx(100 * 60 / 5000)
    assert (r.rss_rest_mib, r.rss_rolling_mib, r.cpu_rolling) == (200, 300, 0.8)
    assert r.lateness_source == "analysis ticks (3)" and r.lateness_p50_s == pytest.approx(0.2)
    assert r.first_step_p50_s == pytest.approx(2.5) and r.first_step_max_s == 3.0
    assert (r.correct, r.rollouts) == (2, 3)
    assert r.apiserver_cpu_rest == 0.7 and r.load_rest == 3.5 and r.sandbox["kubelet"] == (0.1, 90 * report.MIB)
    assert r.outcomes == {"Promoted->Promoted": 1, "RolledBack->RolledBack": 1, "Promoted->unfinished": 1}


def test_the_exported_lateness_histogram_wins_over_analysis_ticks() -> None:
    hist = [(0.5, 90.0), (1.0, 99.0), (2.0, 100.0), (math.inf, 100.0)]
    r = report.row(Configuration(100, 10), _at_rest(), _rolling(lateness=hist))
    assert r.lateness_source == "ripcord_reconcile_lateness_seconds"
    assert r.lateness_p50_s == pytest.approx(0.5 * 50 / 90) and r.lateness_p99_s == pytest.approx(1.0)


def test_at_rest_only_row() -> None:
    r = report.row(Configuration(300, 0), _at_rest(300), None)
    assert r.rollouts == 0 and r.api_rolling_client is None and r.lateness_source == "none"
    assert "300+0" in report.table([r])


def test_request_mix_puts_the_operators_client_count_beside_the_api_servers() -> None:
    mix = report.request_mix(_at_rest())
    assert [(m.verb, m.resource) for m in mix] == [("GET", "deployments"), ("LIST", "pods")]
    assert mix[1].client_per_s == pytest.approx(2000 / 60) and mix[1].apiserver_per_s == pytest.approx(2000 / 60)


def test_summary_json_has_the_required_keys_for_the_largest_configuration() -> None:
    small = report.row(Configuration(100, 10), _at_rest(), _rolling())
    large = report.row(Configuration(1000, 100), _at_rest(1000), _rolling())
    out: dict[str, Any] = json.loads(json.dumps(report.summary([small, large], Configuration(1000, 100), 123.4)))
    assert set(REQUIRED) <= set(out)
    assert (out["releases_at_rest"], out["releases_rolling"]) == (1000, 100)
    assert out["operator_rss_mib"] == 300.0 and out["operator_cpu_cores_mean"] == 0.8
    assert out["rollouts_correct_fraction"] == pytest.approx(0.667)
    assert [c["releases_at_rest"] for c in out["configurations"]] == [100, 1000]
    assert out["configurations"][0]["sandbox"]["kubelet"] == {"cpu_cores": 0.1, "rss_mib": 90.0}
    table = report.table([small, large])
    assert "1000+100" in table and "2/3" in table and "0.10/90" in table
