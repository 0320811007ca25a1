"""Rollbacks: pod-health gates, an analysis Fail, metrics unavailable too long; RollingBack until weight 0."""
from __future__ import annotations

import pytest

from ripcord.api.models import MetricResult
from ripcord.engine.observed import AnalysisResult, HealthBreach
from tests.unit.engine.sim import World, gateway_spec, installed, passing, spec, start_rollout, unavailable


def at_step(w: World, step: int) -> None:
    w.run_until(lambda w: w.ro is not None and w.ro.step == step and w.ro.settled_at is not None, 120)


def slot(plan, name):  # type: ignore[no-untyped-def]
    return next(s for s in plan.slots if s.slot == name)


@pytest.mark.parametrize("gate", ["CrashLoop", "NotReady", "Restarts", "ImagePull"])
def test_pod_health_breach_rolls_back_at_once_naming_the_gate(gate: str) -> None:
    w = installed(analysis=passing)
    start_rollout(w)
    at_step(w, 1)
    w.breach = HealthBreach(gate=gate, pod="demo-b-xyz", message="container app: back-off restarting")
    w.tick()
    assert w.state == "RollingBack"
    reason = w.ro.reason
    assert reason is not None and reason.kind == "PodHealth" and reason.metric == gate
    assert reason.message.startswith(f"{gate}:") and reason.weight == 10
    assert w.status.phase == "RollingBack" and w.kstatus() == ("Unknown", "True", "False")

    w.run_until(lambda w: w.status.rollout is None, 5)
    st = w.status
    entry = st.history[0]
    assert entry.outcome == "RolledBack" and entry.reason is not None and entry.reason.metric == gate
    assert st.last_outcome == "RolledBack" and st.phase == "RolledBack"
    assert gate in (st.message or "")
    assert w.kstatus() == ("False", "False", "True")
    plan = w.tick()
    assert slot(plan, "b").replicas == 0 and slot(plan, "a").replicas == 3
    assert [n.reason for p in w.plans for n in w.emitted(p, "Notification") if n.reason == "rollback"] == ["rollback"]


def test_pod_health_breach_before_any_traffic_rolls_back() -> None:
    w = installed(analysis=passing, unready={"b"})
    start_rollout(w)
    w.run_for(3)
    w.breach = HealthBreach(gate="NotReady", pod="demo-b-xyz", message="not ready after 600s")
    w.run_until(lambda w: w.status.rollout is None, 5)
    assert w.status.history[0].outcome == "RolledBack"


@pytest.mark.parametrize("make_spec", [spec, gateway_spec], ids=["replicas", "gateway-api"])
def test_rolling_back_holds_while_the_data_plane_still_serves_the_canary(make_spec) -> None:  # type: ignore[no-untyped-def]
    w = installed(make_spec(), analysis=passing)
    start_rollout(w)
    at_step(w, 2)
    w.frozen_traffic = True  # the data plane lags behind
    w.breach = HealthBreach(gate="CrashLoop", pod="demo-b-xyz", message="CrashLoopBackOff")
    plan = w.tick()
    assert plan.traffic is not None and plan.traffic.weight == 0, "traffic goes back to stable first"
    assert slot(plan, "b").replicas > 0, "the canary keeps its pods until the traffic is off it"
    w.run_for(30)
    assert w.state == "RollingBack" and w.status.history[0].outcome == "Progressing"
    assert w.ro.effective_weight is not None and w.ro.effective_weight > 0
    assert "RolledBack" not in w.events()

    w.frozen_traffic = False
    w.tick()  # the data plane follows
    w.tick()  # ... and the engine sees weight 0
    assert w.status.rollout is None and w.status.history[0].outcome == "RolledBack"


def test_rolling_back_holds_while_the_effective_weight_is_unknown() -> None:
    w = installed(gateway_spec(), analysis=passing)
    start_rollout(w)
    at_step(w, 1)
    w.breach = HealthBreach(gate="CrashLoop", pod="demo-b-xyz", message="CrashLoopBackOff")
    w.tick()
    w.route = None  # route not accepted / unreadable
    w.frozen_traffic = True
    w.run_for(10)
    assert w.state == "RollingBack"


def failing(world: World) -> AnalysisResult:
    m = MetricResult(name="error-rate", verdict="Fail", value=0.21, stable_value=0.01, bound="<= 2 x stable",
                     message="sequential test")
    return AnalysisResult(verdict="Fail", metrics=(m,), failing=m, judge_state={"n": 3}, failed_checks=1)


def test_analysis_fail_rolls_back_with_metric_value_bound_weight_and_time() -> None:
    w = installed(analysis=passing)
    start_rollout(w)
    at_step(w, 2)
    w.analysis = failing
    w.run_until(lambda w: w.state == "RollingBack", 10)
    reason = w.ro.reason
    assert reason is not None
    assert (reason.kind, reason.metric, reason.value, reason.bound, reason.weight) == \
        ("Metric", "error-rate", 0.21, "<= 2 x stable", 25)
    assert reason.at.startswith("2026-01-29T")
    assert "error-rate = 21%" in reason.message and "breached <= 2 × stable" in reason.message  # the CLI's voice
    assert w.status.analysis is not None and w.status.analysis.verdict == "Fail"
    assert w.status.analysis.metrics[0].value == 0.21

    w.run_until(lambda w: w.status.rollout is None, 5)
    entry = w.status.history[0]
    assert entry.outcome == "RolledBack" and entry.reason == reason
    assert any(t.event == "RollingBack" and "error-rate" in t.message for t in entry.timeline)
    assert "error-rate" in (w.status.message or "")


def test_analysis_fail_without_a_named_metric_still_rolls_back() -> None:
    w = installed(analysis=passing)
    start_rollout(w)
    at_step(w, 0)
    w.analysis = lambda w: AnalysisResult(verdict="Fail")
    w.run_until(lambda w: w.status.rollout is None, 20)
    entry = w.status.history[0]
    assert entry.outcome == "RolledBack" and entry.reason is not None and entry.reason.kind == "Metric"


def test_metrics_unavailable_hold_the_weight_then_roll_back_after_the_limit() -> None:
    w = installed(spec(analysis={"interval": "5s", "stepDuration": "10s", "metricsUnavailableLimit": "60s"}),
                  analysis=passing)
    start_rollout(w)
    at_step(w, 1)
    w.analysis = unavailable
    w.run_until(lambda w: w.status.analysis is not None and w.status.analysis.verdict == "Unavailable", 10)
    since = w.now
    cond = w.condition("MetricsUnavailable")
    w.tick()
    cond = w.condition("MetricsUnavailable")
    assert cond is not None and cond.status == "True" and "weight held" in cond.message
    w.run_for(50)
    assert w.state == "Progressing" and w.ro.step == 1 and w.ro.weight == 10, "the weight is held"
    w.run_until(lambda w: w.state == "RollingBack", 15)
    assert (w.now - since).total_seconds() >= 60
    reason = w.ro.reason
    assert reason is not None and reason.kind == "MetricsUnavailable" and "timeout" in reason.message
    w.run_until(lambda w: w.status.rollout is None, 5)
    assert w.status.history[0].outcome == "RolledBack"
    cond = w.condition("MetricsUnavailable")
    assert cond is not None and cond.status == "False"


def test_metrics_coming_back_clear_the_outage() -> None:
    w = installed(spec(analysis={"interval": "5s", "stepDuration": "10s", "metricsUnavailableLimit": "60s"}),
                  analysis=passing)
    start_rollout(w)
    at_step(w, 1)
    w.analysis = unavailable
    w.run_for(40)
    w.analysis = passing
    w.run_until(lambda w: w.status.analysis is not None and w.status.analysis.verdict == "Pass", 10)
    w.tick()
    assert w.status.analysis.unavailable_since is None  # type: ignore[union-attr]
    cond = w.condition("MetricsUnavailable")
    assert cond is not None and cond.status == "False"
    w.analysis = unavailable
    w.run_for(40)  # a new outage counts from its own start
    assert w.state == "Progressing"
    w.analysis = passing
    w.run_until(lambda w: w.status.rollout is None, 300)
    assert w.status.history[0].outcome == "Promoted"


def test_pod_health_breach_while_metrics_are_unavailable_still_rolls_back() -> None:
    w = installed(analysis=passing)
    start_rollout(w)
    at_step(w, 1)
    w.analysis = unavailable
    w.run_for(10)
    w.breach = HealthBreach(gate="Restarts", pod="demo-b-1", message="3 restarts")
    w.tick()
    assert w.state == "RollingBack" and w.ro.reason is not None and w.ro.reason.kind == "PodHealth"


def test_a_fix_pushed_while_rolling_back_starts_once_the_rollback_is_done() -> None:
    w = installed(analysis=passing)
    start_rollout(w)
    at_step(w, 1)
    w.frozen_traffic = True
    w.breach = HealthBreach(gate="CrashLoop", pod="demo-b-1", message="CrashLoopBackOff")
    w.tick()
    w.breach = None
    start_rollout(w, "2.0.1")
    w.run_for(5)
    assert w.state == "RollingBack" and w.ro.id == 2, "the rollback finishes first"
    w.frozen_traffic = False
    w.run_until(lambda w: w.ro is not None and w.ro.id == 3, 5)
    assert [(h.version, h.outcome) for h in w.status.history[:2]] == [("2.0.1", "Progressing"), ("2.0.0", "RolledBack")]
    assert w.status.stalled_template_hash is None


def test_rollback_is_recorded_before_it_is_acted_on() -> None:
    """The plan that starts a rollback already carries it in status, with traffic to stable."""
    w = installed(analysis=passing)
    start_rollout(w)
    at_step(w, 2)
    w.breach = HealthBreach(gate="NotReady", pod="demo-b-1", message="not ready after 60s")
    plan = w.tick()
    assert plan.status.rollout is not None and plan.status.rollout.state == "RollingBack"
    assert plan.traffic is not None and plan.traffic.weight == 0
    assert [e.reason for e in w.emitted(plan)] == ["RollingBack"] and w.emitted(plan)[0].type == "Warning"
