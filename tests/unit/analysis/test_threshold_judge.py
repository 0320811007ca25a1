"""The fixed-bound judge: absolute and relative bounds, consecutive failures, minimum evidence."""
from __future__ import annotations

from ripcord.analysis.judge.base import Counts, StepEvidence, Verdict
from ripcord.analysis.judge.threshold import Bound, ThresholdJudge, ValueEvidence


def ev(metric: str, c_req: float, c_bad: float, s_req: float = 1000, s_bad: float = 10, step: int = 0) -> StepEvidence:
    return StepEvidence(metric=metric, canary=Counts(c_req, c_bad), stable=Counts(s_req, s_bad),
                        step=step, weight=10, duration_s=10)


def vev(metric: str, canary: float | None, stable: float | None, *, req: float = 100, counted: bool = True,
        step: int = 0) -> ValueEvidence:
    return ValueEvidence(metric=metric, canary=Counts(req, 0), stable=Counts(1000, 0), step=step, weight=10,
                         duration_s=10, canary_value=canary, stable_value=stable, counted=counted)


def run(judge: ThresholdJudge, *batches):
    state = None
    out = []
    for batch in batches:
        j = judge.update(state, list(batch))
        state = j.state
        out.append(j)
    return out


def test_absolute_bound_pass_and_fail():
    judge = ThresholdJudge({"errors": Bound(max=0.05)}, min_requests=50)
    ok, bad = run(judge, [ev("errors", 100, 1)], [ev("errors", 100, 20)])
    assert ok.verdict is Verdict.PASS
    assert ok.metrics[0].value == 0.01 and ok.metrics[0].bound == "<= 0.05"
    assert bad.verdict is Verdict.FAIL
    assert "canary 0.2 > 0.05" in bad.metrics[0].message


def test_relative_bound_against_stable():
    judge = ThresholdJudge({"latency": Bound(max_ratio=2.0, unit="s")})
    ok, bad = run(judge, [vev("latency", 0.19, 0.1)], [vev("latency", 0.25, 0.1)])
    assert ok.verdict is Verdict.PASS
    assert bad.verdict is Verdict.FAIL
    assert bad.metrics[0].bound == "<= 2 x stable (0.2s)"


def test_absolute_bound_promotes_a_fix_while_stable_is_broken():
    # stable at 50% errors, canary (the fix) at 0.5%: an absolute bound passes it;
    # maxRatio alone would pass too, but absolute still holds when stable has no data.
    judge = ThresholdJudge({"errors": Bound(max=0.02, max_ratio=1.5)}, min_requests=50)
    (j,) = run(judge, [ev("errors", 200, 1, s_req=1000, s_bad=500)])
    assert j.verdict is Verdict.PASS
    (j,) = run(judge, [ev("errors", 200, 1, s_req=0, s_bad=0)])
    assert j.verdict is Verdict.PASS and "absolute bound only" in j.metrics[0].message


def test_relative_only_without_stable_data_is_inconclusive():
    judge = ThresholdJudge({"errors": Bound(max_ratio=1.5)})
    (j,) = run(judge, [ev("errors", 200, 1, s_req=0, s_bad=0)])
    assert j.verdict is Verdict.INCONCLUSIVE and "no stable value" in j.metrics[0].message


def test_failure_threshold_counts_consecutive_failed_checks():
    judge = ThresholdJudge({"errors": Bound(max=0.05)}, failure_threshold=3)
    a, b, c = run(judge, [ev("errors", 100, 10)], [ev("errors", 100, 10)], [ev("errors", 100, 10)])
    assert [a.verdict, b.verdict, c.verdict] == [Verdict.INCONCLUSIVE, Verdict.INCONCLUSIVE, Verdict.FAIL]
    assert "failed check 2 of 3" in b.metrics[0].message
    assert c.state["failedChecks"] == 3


def test_a_good_check_resets_the_count_but_no_data_does_not():
    judge = ThresholdJudge({"errors": Bound(max=0.05)}, failure_threshold=2)
    r = run(judge, [ev("errors", 100, 10)], [ev("errors", 100, 1)], [ev("errors", 100, 10)],
            [ev("errors", 0, 0)], [ev("errors", 100, 10)])
    assert [x.state["failedChecks"] for x in r] == [1, 0, 1, 1, 2]
    assert r[-1].verdict is Verdict.FAIL
    assert r[3].verdict is Verdict.INCONCLUSIVE and "no canary requests" in r[3].metrics[0].message


def test_no_pass_without_min_requests_in_the_step():
    judge = ThresholdJudge({"errors": Bound(max=0.05)}, min_requests=50)
    a, b, c = run(judge, [ev("errors", 20, 0, step=0)], [ev("errors", 35, 0, step=0)], [ev("errors", 20, 0, step=1)])
    assert a.verdict is Verdict.INCONCLUSIVE and "20 of 50" in a.metrics[0].message
    assert b.verdict is Verdict.PASS
    assert c.verdict is Verdict.INCONCLUSIVE, "a new step needs its own evidence"


def test_custom_values_are_not_gated_on_requests():
    judge = ThresholdJudge({"queue": Bound(max=10, counted=False)}, min_requests=50)
    (j,) = run(judge, [vev("queue", 3, 2, req=0, counted=False)])
    assert j.verdict is Verdict.PASS
    (j,) = run(judge, [vev("queue", None, 2, req=0, counted=False)])
    assert j.verdict is Verdict.INCONCLUSIVE


def test_no_bound_never_passes():
    judge = ThresholdJudge({})
    (j,) = run(judge, [ev("errors", 100, 0)])
    assert j.verdict is Verdict.INCONCLUSIVE and "no bound" in j.metrics[0].message


def test_any_failing_metric_fails_all_pass_passes():
    judge = ThresholdJudge({"errors": Bound(max=0.05), "latency": Bound(max=0.5, unit="s")})
    (j,) = run(judge, [ev("errors", 100, 1), vev("latency", 0.9, 0.1)])
    assert j.verdict is Verdict.FAIL
    assert [m.verdict for m in j.metrics] == [Verdict.PASS, Verdict.FAIL]
    (j,) = run(judge, [ev("errors", 100, 1), vev("latency", 0.2, 0.1)])
    assert j.verdict is Verdict.PASS


def test_state_is_json_serialisable_and_resumes():
    import json
    judge = ThresholdJudge({"errors": Bound(max=0.05)}, failure_threshold=2)
    (a,) = run(judge, [ev("errors", 100, 10)])
    state = json.loads(json.dumps(a.state))
    b = judge.update(state, [ev("errors", 100, 10)])
    assert b.verdict is Verdict.FAIL


def test_preflight_reports_reachability_of_min_requests():
    judge = ThresholdJudge({"latency": Bound(max_ratio=2.0)}, min_requests=50)
    p = judge.preflight(total_rps=100, stable_error_rate=0.01, canary_pods=1, stable_pods=3,
                        weights=[5, 10], step_s=30, max_duration_s=3600)
    assert p.feasible and p.min_detectable_ratio == 2.0
    p = judge.preflight(total_rps=1, stable_error_rate=0.01, canary_pods=1, stable_pods=3,
                        weights=[5, 10], step_s=30, max_duration_s=600)
    assert not p.feasible and "fewer than minRequests 50" in p.message


def test_relative_bound_waits_for_min_requests_absolute_does_not():
    judge = ThresholdJudge({"latency": Bound(max_ratio=2.0, unit="s")}, min_requests=50)
    a, b = run(judge, [vev("latency", 0.9, 0.1, req=20)], [vev("latency", 0.9, 0.1, req=40)])
    assert a.verdict is Verdict.INCONCLUSIVE and "after 50 canary requests in the step (20 so far)" in a.metrics[0].message
    assert a.state["failedChecks"] == 0
    assert b.verdict is Verdict.FAIL  # 60 requests in the step now
    judge = ThresholdJudge({"latency": Bound(max=0.5, max_ratio=2.0, unit="s")}, min_requests=50)
    (c,) = run(judge, [vev("latency", 0.9, 0.1, req=20)])
    assert c.verdict is Verdict.FAIL and "> 0.5s" in c.metrics[0].message
