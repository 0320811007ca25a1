"""The pre-flight: what the judge can see before the rollout starts."""
from __future__ import annotations

from ripcord.analysis.judge.sequential import SequentialJudge
from ripcord.analysis.judge.settings import SequentialSettings

BASE = dict(total_rps=100.0, stable_error_rate=0.01, weights=[10], step_s=300, max_duration_s=3600)


def test_one_canary_pod_cannot_see_a_2x_regression():
    pf = SequentialJudge().preflight(canary_pods=1, stable_pods=19, **BASE)
    assert pf.min_detectable_ratio is not None and pf.min_detectable_ratio > 2.0
    assert "cannot see a 2x regression" in pf.message
    assert "more canary pods" in pf.message


def test_more_canary_pods_at_the_same_weight_see_smaller_ratios():
    judge = SequentialJudge()
    ratios = [judge.preflight(canary_pods=m, stable_pods=19, pod_sigma=0.3, **BASE).min_detectable_ratio
              for m in (1, 3, 10)]
    assert ratios[0] > ratios[1] > ratios[2]


def test_small_pod_spread_and_enough_traffic_is_feasible():
    pf = SequentialJudge().preflight(canary_pods=3, stable_pods=19, pod_sigma=0.05, **BASE)
    assert pf.feasible and pf.min_detectable_ratio is not None and pf.min_detectable_ratio < 1.6
    assert pf.expected_verdict_s is not None and pf.expected_verdict_s < 900
    assert "2x regression is expected to be caught" in pf.message


def test_too_little_traffic_is_not_feasible():
    pf = SequentialJudge().preflight(total_rps=1.0, stable_error_rate=0.001, canary_pods=3, stable_pods=19,
                                     pod_sigma=0.05, weights=[5], step_s=300, max_duration_s=1800)
    assert not pf.feasible
    assert pf.min_detectable_ratio is None or pf.min_detectable_ratio > 5


def test_no_traffic_or_no_errors():
    pf = SequentialJudge().preflight(total_rps=0.0, stable_error_rate=0.01, canary_pods=3, stable_pods=19,
                                     weights=[10], step_s=60, max_duration_s=600)
    assert not pf.feasible and pf.min_detectable_ratio is None and pf.expected_verdict_s is None


def test_bonferroni_over_more_metrics_needs_more_evidence():
    judge = SequentialJudge(SequentialSettings())
    one = judge.preflight(canary_pods=3, stable_pods=19, pod_sigma=0.05, **BASE)
    two = judge.preflight(canary_pods=3, stable_pods=19, pod_sigma=0.05, metrics=2, **BASE)
    assert two.expected_verdict_s >= one.expected_verdict_s
