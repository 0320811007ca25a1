"""The pre-flight's verdict and its computed fix (pure: no Prometheus)."""
from __future__ import annotations

import pytest

from ripcord.analysis import feasibility as f
from ripcord.analysis.judge.preflight import time_to_pass
from ripcord.analysis.judge.sequential import SequentialJudge
from ripcord.analysis.judge.settings import SequentialSettings
from ripcord.analysis.judge.threshold import Bound

SETTINGS = SequentialSettings.from_mapping({"metrics": ["error-rate"]})
WEIGHTS = [5.0, 10.0, 25.0, 50.0]
SHAPE = dict(metric="error-rate", metrics=1, total_rps=50.0, bad_share=0.01, weights=WEIGHTS, step_s=60.0)


def t_pass(pods: int, stable: int, horizon: float, **kw: float) -> float | None:
    args = {**SHAPE, **kw}
    return time_to_pass(SETTINGS, total_rps=args["total_rps"], stable_error_rate=args["bad_share"],
                        canary_pods=pods, stable_pods=stable, weights=WEIGHTS, step_s=60.0, horizon_s=horizon)


def test_the_rate_window_is_short_and_holds_enough_scrapes():
    assert f.recent_window_s(1) == 15 and f.recent_window_s(5) == 20
    assert f.recent_window_s(15) == 60 and f.recent_window_s(60) == 60  # never more than a minute
    assert f.baseline_window_s(1) == 120 and f.baseline_window_s(15) == 300


def test_durations_round_up_to_what_a_release_can_say():
    assert [f.duration_text(s) for s in (1, 60, 61, 3600, 5400, 5401)] == ["1m", "1m", "2m", "1h", "1h30m", "1h31m"]


def test_fewest_canary_pods_is_the_first_count_that_fits():
    fix = f.sequential_fix(SETTINGS, canary_pods=3, stable_pods=20, max_duration_s=1800.0, **SHAPE)
    n = fix.canary_pods
    assert n is not None and n > 3
    assert (t := t_pass(n, 20, 1800.0)) is not None and t <= 1800.0
    before = t_pass(n - 1, 20, 1800.0)
    assert before is None or before > 1800.0
    assert f"run {n} canary pods (traffic.canaryReplicas: {n}" in fix.text("error-rate")


def test_longer_max_duration_is_the_expected_time_to_a_pass_of_the_current_pods():
    fix = f.sequential_fix(SETTINGS, canary_pods=10, stable_pods=10, max_duration_s=600.0, **SHAPE)
    expected = t_pass(10, 10, f.MAX_FIX_DURATION_S)
    assert expected is not None and expected > 600
    assert fix.max_duration_s == expected
    assert f"allow maxDuration: {f.duration_text(expected)}" in fix.text("error-rate")


def test_pods_and_time_together_when_neither_alone_is_enough():
    fix = f.sequential_fix(SETTINGS, canary_pods=3, stable_pods=30, max_duration_s=360.0, **SHAPE)
    assert fix.canary_pods is None and fix.max_duration_s is None and fix.both is not None
    pods, seconds = fix.both
    assert t_pass(pods, 30, f.MAX_FIX_DURATION_S) == seconds and seconds > 360
    assert f"run {pods} canary pods" in fix.text("e") and f"maxDuration: {f.duration_text(seconds)}" in fix.text("e")


def test_threshold_judge_when_the_stable_pods_alone_rule_out_a_pass():
    # the pod term sigma^2 (1/m_c + 1/m_s) never falls below sigma^2/3 with 3 stable pods
    fix = f.sequential_fix(SETTINGS, canary_pods=3, stable_pods=3, max_duration_s=360.0, **SHAPE)
    assert fix == f.SequentialFix()
    assert fix.text("error-rate").startswith("use the threshold judge for error-rate")


def test_threshold_fix_collects_min_requests():
    text = f.threshold_fix(total_rps=10.0, weights=[5, 50], step_s=30.0, max_duration_s=60.0, min_requests=50)
    # 0.5 canary rps at 5%: 100 s for 50 requests, 15 in a 30 s step
    assert text == "allow stepDuration: 2m and maxDuration: 4m, or lower minRequests to 15"


def judged(*names: str, sequential: bool = True) -> list[f.Judged]:
    return [f.Judged(n, "latency" if "lat" in n else "error-rate", sequential, Bound(max_ratio=1.5)) for n in names]


def assess(traffic: dict, *, judge=None, pods=(3, 3), max_s=3600.0, names=("error-rate",), sequential=True):
    return f.assess(judged(*names, sequential=sequential), traffic,
                    judge=judge or SequentialJudge(SequentialSettings.from_mapping({"metrics": list(names)})),
                    weights=WEIGHTS, canary_pods=pods[0], stable_pods=pods[1], step_s=60.0, max_duration_s=max_s,
                    min_requests=50)


def test_infeasible_result_has_a_summary_line_a_fix_and_the_details():
    got = assess({"error-rate": f.Traffic(50.0, 0.01, 15.0)}, max_s=360.0)
    assert got.feasible is False
    assert got.summary == ("Infeasible: error-rate cannot reach a verdict within maxDuration 6m with 3 canary "
                           "and 3 stable pods; the rollout would hold without a verdict")
    assert got.fix.startswith("error-rate: use the threshold judge")
    assert "NOT FEASIBLE" in got.message and "traffic 50 rps over the last 15 s" in got.message
    assert str(got) == got.message and "\n" not in got.summary


def test_feasible_and_unknown():
    ok = assess({"error-rate": f.Traffic(200.0, 0.01, 15.0)}, pods=(10, 20))
    assert ok.feasible is True and ok.fix == "" and ok.summary.startswith("Feasible")
    none = assess({"error-rate": f.Traffic(0.0, 0.0, 15.0)})
    assert none.feasible is None and "no traffic on the stable" in none.summary
    down = assess({"error-rate": "metrics unavailable: down"})
    assert down.feasible is None and "metrics unavailable" in down.summary


def test_a_clean_stable_passes_on_the_canary_clean_requests():
    # no errors on the stable: no ratio to test, but the judge's clean pass (share below p_clean)
    got = assess({"error-rate": f.Traffic(50.0, 0.0, 15.0)}, max_s=600.0)
    assert got.feasible is True, got.message
    assert "clean" in got.message


def test_a_latency_metric_over_a_stable_without_slow_requests_cannot_pass():
    got = assess({"latency": f.Traffic(50.0, 0.0, 15.0)}, names=("latency",), pods=(10, 20))
    assert got.feasible is False and "use the threshold judge for latency" in got.fix, got.fix


def test_fixed_bounds_need_min_requests_per_step():
    got = assess({"errors": f.Traffic(1.0, 0.01, 15.0)}, names=("errors",), sequential=False, max_s=600.0)
    assert got.feasible is False and "lower minRequests to 3" in got.fix, got.fix
    assert assess({"errors": f.Traffic(100.0, 0.01, 15.0)}, names=("errors",), sequential=False).feasible


@pytest.mark.parametrize("rps", [50.0, 200.0])
def test_the_fix_makes_it_feasible(rps: float):
    """Applying the computed fix gives a feasible pre-flight."""
    before = assess({"error-rate": f.Traffic(rps, 0.01, 15.0)}, pods=(3, 20), max_s=600.0)
    assert before.feasible is False
    fix = f.sequential_fix(SETTINGS, canary_pods=3, stable_pods=20, max_duration_s=600.0,
                           **{**SHAPE, "total_rps": rps})
    if fix.canary_pods is not None:
        assert assess({"error-rate": f.Traffic(rps, 0.01, 15.0)}, pods=(fix.canary_pods, 20),
                      max_s=600.0).feasible is True
    if fix.max_duration_s is not None:
        assert assess({"error-rate": f.Traffic(rps, 0.01, 15.0)}, pods=(3, 20),
                      max_s=60.0 * -(-fix.max_duration_s // 60)).feasible is True
    assert fix.canary_pods is not None or fix.max_duration_s is not None
