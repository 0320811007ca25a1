"""The operator's Prometheus series, read back through the exposition format."""
from __future__ import annotations

import sys
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client import generate_latest

from ripcord.telemetry import OperatorMetrics, start_metrics_server
from ripcord.telemetry.health import StandbyHealth
from ripcord.telemetry.metrics import METRIC_NAMES

sys.path.insert(0, str(Path(__file__).parent))
from test_telemetry_transitions import analysed, progressing, rolled_back, rolling_back  # noqa: E402


def samples(m: OperatorMetrics) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    out = {}
    for fam in text_string_to_metric_families(generate_latest(m.registry).decode()):
        for s in fam.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def value(m: OperatorMetrics, name: str, **labels: str) -> float | None:
    return samples(m).get((name, frozenset(labels.items())))


@pytest.fixture
def m() -> OperatorMetrics:
    return OperatorMetrics(process_collectors=False, version="0.0.0-test")


def test_every_documented_name_is_exported(m: OperatorMetrics) -> None:
    m.observe("shop", "web", {}, rolled_back())
    m.notification_result("rollback", "slack", "sent")
    m.rollout_duration.labels("Promoted").observe(1)
    m.detection.labels("Metric").observe(1)
    names = {fam.name for fam in text_string_to_metric_families(generate_latest(m.registry).decode())}
    # The parser strips _total from counter families.
    assert {n.removesuffix("_total") for n in METRIC_NAMES} <= names


def test_rollback_series_exist_at_zero_before_the_first_rollback(m: OperatorMetrics) -> None:
    m.observe("shop", "web", {}, progressing())
    assert value(m, "ripcord_rollbacks_total", namespace="shop", release="web", reason="Metric") == 0.0
    assert value(m, "ripcord_promotions_total", namespace="shop", release="web") == 0.0


def test_a_rollback_story(m: OperatorMetrics) -> None:
    m.observe("shop", "web", {}, progressing())
    assert value(m, "ripcord_release_weight", namespace="shop", release="web") == 5
    assert value(m, "ripcord_release_effective_weight", namespace="shop", release="web") == 6.25
    assert value(m, "ripcord_releases", phase="Progressing") == 1
    assert value(m, "ripcord_release_rollout_start_time_seconds", namespace="shop", release="web") > 1.7e9
    assert value(m, "ripcord_release_status_condition", namespace="shop", release="web", type="Ready",
                 status="Unknown") == 1
    assert value(m, "ripcord_release_status_condition", namespace="shop", release="web", type="Ready",
                 status="True") == 0

    m.observe("shop", "web", progressing(), rolling_back())
    m.observe("shop", "web", rolling_back(), rolling_back())  # a retried reconcile
    m.observe("shop", "web", rolling_back(), rolled_back())
    assert value(m, "ripcord_rollbacks_total", namespace="shop", release="web", reason="Metric") == 1
    assert value(m, "ripcord_detection_seconds_count", reason="Metric") == 1
    assert value(m, "ripcord_detection_seconds_sum", reason="Metric") == 12.5
    assert value(m, "ripcord_detection_seconds_bucket", reason="Metric", le="15.0") == 1
    assert value(m, "ripcord_detection_seconds_bucket", reason="Metric", le="10.0") == 0
    assert value(m, "ripcord_rollout_duration_seconds_count", outcome="RolledBack") == 1
    assert value(m, "ripcord_releases", phase="RolledBack") == 1
    assert value(m, "ripcord_releases", phase="Progressing") == 0
    # At rest: no effective weight, no rollout start.
    assert value(m, "ripcord_release_effective_weight", namespace="shop", release="web") is None
    assert value(m, "ripcord_release_rollout_start_time_seconds", namespace="shop", release="web") is None


def test_requests_the_analysis_counted_include_what_no_pod_answered(m: OperatorMetrics) -> None:
    """Issue 16: the canary's refused connections (counted by the analysis against the canary's
    Service) are bad requests in the operator's own metrics too."""
    m.observe("shop", "web", progressing(), analysed())
    m.observe("shop", "web", analysed(), analysed())  # the same round again: not counted twice
    m.observe("shop", "web", analysed(), analysed(at="2026-11-28T08:00:20Z"))
    got = {(w, o): value(m, "ripcord_analysis_requests_total", namespace="shop", release="web",
                         metric="gateway-errors", workload=w, outcome=o)
           for w in ("canary", "stable") for o in ("good", "bad")}
    assert got == {("canary", "good"): 50.0, ("canary", "bad"): 190.0, ("stable", "good"): 1756.0,
                   ("stable", "bad"): 4.0}
    m.forget("shop", "web")
    assert value(m, "ripcord_analysis_requests_total", namespace="shop", release="web", metric="gateway-errors",
                 workload="canary", outcome="bad") is None


def test_forget_drops_the_release(m: OperatorMetrics) -> None:
    m.observe("shop", "web", {}, progressing())
    m.observe("shop", "api", {}, progressing())
    assert value(m, "ripcord_releases", phase="Progressing") == 2
    m.forget("shop", "web")
    assert value(m, "ripcord_releases", phase="Progressing") == 1
    assert not [k for k in samples(m) if ("release", "web") in k[1]]
    assert value(m, "ripcord_release_weight", namespace="shop", release="api") == 5


def test_observe_never_raises(m: OperatorMetrics) -> None:
    assert m.observe("shop", "web", {}, object()) == []  # not a status at all
    assert m.observe("shop", "web", None, {"phase": 7}) == []


def test_reconciling_times_and_counts_errors(m: OperatorMetrics) -> None:
    with m.reconciling("shop", "web"):
        pass
    with pytest.raises(RuntimeError):
        with m.reconciling("shop", "web"):
            raise RuntimeError("boom")
    assert value(m, "ripcord_reconcile_duration_seconds_count") == 2
    assert value(m, "ripcord_reconcile_errors_total", namespace="shop", release="web") == 1


def test_leader_and_build_info(m: OperatorMetrics) -> None:
    assert value(m, "ripcord_leader") == 0
    m.set_leader(True)
    assert value(m, "ripcord_leader") == 1
    assert value(m, "ripcord_build_info", version="0.0.0-test") == 1


def test_pydantic_status_is_accepted(m: OperatorMetrics) -> None:
    from ripcord.api.models import ReleaseStatus
    st = ReleaseStatus(phase="Stable", weight=0)
    m.observe("shop", "web", ReleaseStatus(), st)
    assert value(m, "ripcord_releases", phase="Stable") == 1


def test_metrics_server_serves_on_loopback(m: OperatorMetrics) -> None:
    m.set_leader(True)
    server = start_metrics_server(0, addr="127.0.0.1", metrics=m)
    try:
        body = urllib.request.urlopen(f"http://127.0.0.1:{server.server_port}/metrics", timeout=5).read().decode()
    finally:
        server.shutdown()
        server.server_close()
    assert "ripcord_leader 1.0" in body


def test_standby_health() -> None:
    alive = {"ok": True}
    health = StandbyHealth("http://127.0.0.1:0/healthz", lambda: alive["ok"]).start()
    try:
        url = f"http://127.0.0.1:{health.port}/healthz"
        assert urllib.request.urlopen(url, timeout=5).status == 200
        alive["ok"] = False
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(url, timeout=5)
        assert err.value.code == 503
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(f"http://127.0.0.1:{health.port}/other", timeout=5)
        assert err.value.code == 404
    finally:
        health.stop()
