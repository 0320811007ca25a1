"""Exposure never grows while the canary is unhealthy; what a promotion rests on; collisions; deletion; the outbox."""
from __future__ import annotations

import pytest
from pydantic import ValidationError

from ripcord.api.models import ReleaseSpec
from ripcord.engine.decide import decide
from ripcord.engine.observed import Collision
from tests.unit.engine.sim import World, installed, passing, spec, start_rollout, template


def at_first_step(w: World) -> None:
    start_rollout(w)
    w.run_until(lambda w: w.ro is not None and w.ro.settled_at is not None, 60)


def test_a_not_ready_canary_pod_holds_the_step_with_a_condition() -> None:
    w = installed(analysis=passing)
    at_first_step(w)
    w.not_ready = ("demo-b-1",)
    w.run_for(60)
    assert w.ro is not None and w.ro.step == 0 and w.ro.weight == 5
    cond = w.condition("CanaryUnhealthy")
    assert cond is not None and cond.status == "True" and "demo-b-1 not ready" in cond.message
    w.not_ready = ()
    w.run_until(lambda w: w.ro is not None and w.ro.step == 1, 60)
    assert w.condition("CanaryUnhealthy").status == "False"  # type: ignore[union-attr]


def test_a_restart_in_a_step_starts_the_step_over_and_never_grows_exposure_at_once() -> None:
    w = installed(analysis=passing)
    at_first_step(w)
    w.run_for(8)  # most of the 10 s step
    w.restarts = {"demo-b-1/app": 1}
    w.tick()
    assert w.events()[-1] == "StepRestarted" and w.ro is not None and w.ro.weight == 5
    weights = []
    for _ in range(9):  # the step's full duration again from the restart
        w.tick()
        weights.append(w.ro.weight)
    assert weights == [5] * 9
    w.run_until(lambda w: w.ro is not None and w.ro.step == 1, 30)


def test_a_canary_not_ready_is_not_promoted_even_when_every_metric_passed() -> None:
    w = installed(analysis=passing)
    at_first_step(w)
    w.run_until(lambda w: w.ro is not None and w.ro.step == 3 and w.ro.settled_at is not None, 300)
    w.not_ready = ("demo-b-2",)
    w.run_for(60)
    assert w.state == "Progressing"
    w.not_ready = ()
    w.run_until(lambda w: w.state == "Promoting", 60)


def test_no_metrics_is_refused_unless_pod_health_only_is_said() -> None:
    base = {"version": "1", "template": template("1")}
    with pytest.raises(ValidationError, match="metrics is empty"):
        ReleaseSpec.model_validate({**base, "analysis": {"metrics": []}})
    with pytest.raises(ValidationError, match="metrics are given"):
        ReleaseSpec.model_validate({**base, "analysis": {"podHealthOnly": True}})
    ReleaseSpec.model_validate({**base, "analysis": {"metrics": [], "podHealthOnly": True}})


def test_a_pod_health_only_promotion_says_so() -> None:
    w = installed(spec("1.0.0", analysis={"metrics": [], "podHealthOnly": True, "interval": "5s",
                                          "stepDuration": "10s", "postPromotionWatch": "20s"}))
    start_rollout(w)
    w.tick()
    w.run_until(lambda w: w.status.rollout is None, 300)
    [promoting] = w.event_messages("Promoting")
    assert "pod health only" in promoting and "every metric passed" not in promoting
    assert any("pod health only" in t.message for t in w.status.history[0].timeline)


def test_a_promotion_on_metrics_names_them() -> None:
    w = installed(analysis=passing)
    start_rollout(w)
    w.tick()
    w.run_until(lambda w: w.status.rollout is None, 300)
    [promoting] = w.event_messages("Promoting")
    assert "every metric passed (error-rate, latency)" in promoting


def test_a_collision_stalls_the_release_and_acts_on_nothing() -> None:
    from dataclasses import replace
    w = World(spec=spec("1.0.0"))
    plan = decide(replace(w.observe(), collisions=(Collision("Service", "demo-a", "Release demo-a"),)))
    assert not plan.act and plan.slots == () and plan.status.stable is None
    stalled = next(c for c in plan.status.conditions if c.type == "Stalled")
    assert stalled.reason == "NameCollision" and "Service demo-a" in stalled.message


@pytest.mark.parametrize("policy, retained", [("Retain", True), ("Delete", False)])
def test_deletion_is_planned_like_any_transition(policy: str, retained: bool) -> None:
    from dataclasses import replace
    w = installed(spec("1.0.0", deletionPolicy=policy), analysis=passing)
    start_rollout(w)
    w.run_until(lambda w: w.ro is not None and w.ro.weight > 0, 60)
    plan = decide(replace(w.observe(), deleting=True))
    assert plan.deletion is not None and plan.deletion.retain is retained
    if retained:  # the stable keeps serving: all traffic to it, the canary slot to zero
        assert plan.traffic is not None and plan.traffic.canary_slot is None and plan.traffic.stable_slot == "a"
        assert [(s.slot, s.replicas) for s in plan.slots] == [("b", 0)]
    else:
        assert plan.slots == () and plan.traffic is None


def test_the_outbox_keeps_notifications_before_events_when_full() -> None:
    from ripcord.engine.context import OUTBOX_LIMIT, Decision
    w = installed(analysis=passing)
    d = Decision(w.observe())
    d.notify("rollback", 1, "kept")
    for i in range(OUTBOX_LIMIT + 10):
        d.event("Noise", f"event {i}")
    assert len(d.st.outbox) == OUTBOX_LIMIT
    assert [i.reason for i in d.st.outbox if i.kind == "Notification"] == ["rollback"]
    assert d.st.outbox[-1].message == f"event {OUTBOX_LIMIT + 9}"
