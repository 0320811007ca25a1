"""The sequential judge through its public interface: verdicts, state, breaker, settings."""
from __future__ import annotations

import json

import numpy as np
import pytest

from judge_helpers import interval
from ripcord.analysis.judge.base import Counts, StepEvidence, Verdict
from ripcord.analysis.judge.sequential import SequentialJudge
from ripcord.analysis.judge.settings import SequentialSettings

# a warm start as the stable's history would give it for clean data
CLEAN = SequentialSettings(warm_phi=1.0, warm_excess_per_event=0.0, pod_sigma=0.05)


def run(judge: SequentialJudge, intervals, state=None):
    """Feed intervals one at a time (state through JSON, as the Release status keeps it)."""
    out = []
    for ev in intervals:
        j = judge.update(state, [ev])
        state = json.loads(json.dumps(j.state))
        out.append(j)
    return out, state


def first(verdicts, wanted: Verdict) -> int | None:
    return next((i for i, j in enumerate(verdicts) if j.verdict is wanted), None)


def test_no_evidence_is_inconclusive():
    judge = SequentialJudge(CLEAN)
    assert judge.update(None, []).verdict is Verdict.INCONCLUSIVE
    empty = StepEvidence("error-rate", Counts(0, 0), Counts(0, 0), step=0, weight=10, duration_s=30)
    out, _ = run(judge, [empty] * 50)
    assert all(j.verdict is Verdict.INCONCLUSIVE for j in out)
    assert out[-1].metrics[0].value is None


def test_clean_traffic_passes_only_once_the_floor_is_shown():
    # no bad event on either side: nothing to compare, so the absolute floor decides, and
    # never before it has enough clean canary requests (see the 25-request test below)
    judge = SequentialJudge(CLEAN)
    rng = np.random.default_rng(1)
    out, _ = run(judge, [interval(rng, base=0.0) for _ in range(60)])
    k = first(out, Verdict.PASS)
    assert k is not None, [j.verdict for j in out[:3]]
    m = out[k].metrics[0]
    assert "no bad events" in m.message and m.details["log_e_floor_clean"] >= m.details["log_pass_threshold"]
    assert k >= 3  # not before about 1200 clean canary requests (300 per interval here)


def test_clear_5x_regression_fails_fast():
    judge = SequentialJudge(CLEAN)
    rng = np.random.default_rng(2)
    out, _ = run(judge, [interval(rng, ratio=5.0) for _ in range(20)])
    k = first(out, Verdict.FAIL)
    assert k is not None and k <= 4
    m = out[k].metrics[0]
    assert m.value is not None and m.stable_value is not None and m.value > 3 * m.stable_value
    assert "1.1x" in m.message and m.details["log_e_fail"] >= m.details["log_fail_threshold"]


def test_healthy_canary_passes_and_does_not_fail():
    judge = SequentialJudge(CLEAN)
    rng = np.random.default_rng(3)
    out, _ = run(judge, [interval(rng, ratio=1.0) for _ in range(40)])
    k = first(out, Verdict.PASS)
    assert k is not None and k <= 20
    assert first(out, Verdict.FAIL) is None


def test_state_round_trips_and_a_restart_resumes_exactly():
    judge = SequentialJudge(CLEAN)
    evs = [interval(np.random.default_rng(4), ratio=1.5, step=i // 10) for i in range(30)]
    straight = [judge.update(None, evs[:1])]
    state = straight[0].state
    for ev in evs[1:]:
        straight.append(judge.update(state, [ev]))
        state = straight[-1].state
    # a "restart" after 12 intervals: a new judge object, the state read back from JSON
    _, saved = run(judge, evs[:12])
    resumed, _ = run(SequentialJudge(CLEAN), evs[12:], state=saved)
    a, b = straight[-1].metrics[0].details, resumed[-1].metrics[0].details
    for key in ("log_e_fail", "log_e_pass", "log_e_floor", "phi"):
        assert a[key] == pytest.approx(b[key], rel=1e-12, abs=1e-12)
    # several intervals in one call give the same answer as one at a time
    batch = SequentialJudge(CLEAN).update(None, evs)
    assert batch.metrics[0].details["log_e_fail"] == pytest.approx(a["log_e_fail"], abs=1e-12)


def test_state_stays_bounded_with_pod_churn():
    judge = SequentialJudge(SequentialSettings(max_pods=8))
    rng = np.random.default_rng(5)
    state = None
    sizes = []
    for i in range(150):
        ev = interval(rng)
        # every interval a new generation of pod names (restarts, rescheduling)
        ev = StepEvidence(ev.metric, Counts(ev.canary.requests, ev.canary.bad,
                                            {f"{k}-{i}": v for k, v in ev.canary.per_pod.items()}),
                          Counts(ev.stable.requests, ev.stable.bad,
                                 {f"{k}-{i}": v for k, v in ev.stable.per_pod.items()}),
                          step=0, weight=10, duration_s=30)
        state = judge.update(state, [ev]).state
        sizes.append(len(json.dumps(state)))
    assert max(sizes[50:]) < 6000
    assert sizes[-1] <= 1.05 * sizes[50]


def test_circuit_breaker_fails_at_once_and_stays_failed():
    judge = SequentialJudge()
    bad = StepEvidence("error-rate", Counts(100, 30), Counts(900, 9), step=0, weight=10, duration_s=30)
    j = judge.update(None, [bad])
    assert j.verdict is Verdict.FAIL and "circuit breaker" in j.metrics[0].message
    ok = StepEvidence("error-rate", Counts(1000, 10), Counts(9000, 90), step=0, weight=10, duration_s=30)
    assert judge.update(j.state, [ok]).verdict is Verdict.FAIL


def test_circuit_breaker_needs_minimum_requests_and_skips_latency():
    judge = SequentialJudge()
    few = StepEvidence("error-rate", Counts(5, 3), Counts(900, 9), step=0, weight=10, duration_s=30)
    assert "circuit" not in judge.update(None, [few]).metrics[0].message
    slow = StepEvidence("latency", Counts(100, 40), Counts(900, 300), step=0, weight=10, duration_s=30)
    assert "circuit" not in judge.update(None, [slow]).metrics[0].message


def test_metrics_combined_with_bonferroni_and_all_must_pass():
    settings = SequentialSettings(warm_phi=1.0, warm_excess_per_event=0.0, pod_sigma=0.05,
                                  metrics=("error-rate", "latency"))
    judge = SequentialJudge(settings)
    rng = np.random.default_rng(6)
    state = None
    verdicts = []
    for i in range(40):
        j = judge.update(state, [interval(rng, metric="error-rate")])  # latency never reported
        state = j.state
        verdicts.append(j.verdict)
    assert Verdict.PASS not in verdicts  # a named metric without evidence blocks a pass
    assert j.metrics[0].details["log_fail_threshold"] == pytest.approx(np.log(2 / 0.05))
    assert j.metrics[0].verdict is Verdict.PASS  # the error metric alone is convinced


def test_promotion_floor_blocks_a_canary_with_a_high_absolute_error_share():
    # stable is itself broken (10% errors); a canary at 10% is "no worse", but not promotable
    judge = SequentialJudge(CLEAN)
    rng = np.random.default_rng(7)
    out, _ = run(judge, [interval(rng, base=0.10) for _ in range(40)])
    assert first(out, Verdict.PASS) is None
    assert out[-1].metrics[0].details["log_e_pass"] >= out[-1].metrics[0].details["log_pass_threshold"]


def test_settings_from_mapping():
    s = SequentialSettings.from_mapping({"alpha": 0.01, "circuitBreaker": "0.3", "r0": 1.2,
                                         "metrics": ["error-rate"], "latencyMetrics": ["slow"],
                                         "failGrid": [1.5, 3]})
    assert (s.alpha, s.circuit_breaker, s.r0, s.metrics, s.fail_grid) == (0.01, 0.3, 1.2, ("error-rate",), (1.5, 3.0))
    assert s.is_latency("slow") and not s.is_latency("latency")
    assert SequentialSettings.from_mapping(None) == SequentialSettings()
    with pytest.raises(ValueError, match="unknown judge setting"):
        SequentialSettings.from_mapping({"alpah": 0.1})
    with pytest.raises(ValueError):
        SequentialSettings.from_mapping({"r0": 2.5})
    assert SequentialSettings.from_mapping(SequentialSettings().to_mapping()) == SequentialSettings()


def test_a_clean_canary_beside_a_clean_stable_passes_on_the_absolute_floor() -> None:
    from ripcord.analysis.judge.base import Counts, StepEvidence, Verdict
    from ripcord.analysis.judge.sequential import SequentialJudge, SequentialSettings

    judge = SequentialJudge(SequentialSettings(metrics=("error-rate",)))
    state = None
    verdicts = []
    for step in range(60):
        # 100 clean canary requests per interval: p_clean (0.5%) is shown after about 1200
        # of them, 2400 with the cautious default tempering (phi 2 without a warm start)
        ev = StepEvidence(metric="error-rate", canary=Counts(requests=100, bad=0, per_pod={"c-1": (100, 0)}),
                          stable=Counts(requests=1900, bad=0, per_pod={"s-1": (1900, 0)}), step=step // 10,
                          weight=5.0, duration_s=10.0)
        out = judge.update(state, [ev])
        state = out.state
        verdicts.append(out.verdict)
    assert verdicts[0] == Verdict.INCONCLUSIVE, "one interval of clean traffic is not enough"
    assert verdicts[-1] == Verdict.PASS, out.metrics[0].message
    assert "below" in out.metrics[0].message
