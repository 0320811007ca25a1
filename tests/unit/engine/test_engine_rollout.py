"""A healthy rollout: every step, Promoting, Watching, Promoted; with both traffic providers."""
from __future__ import annotations

import pytest

from ripcord.api.models import ReleaseSpec
from ripcord.contract import TrafficIntent
from ripcord.engine.observed import Preflight
from ripcord.engine.world import traffic_intent
from ripcord.traffic import provider_for
from tests.unit.engine.sim import World, gateway_spec, installed, istio_spec, passing, spec, start_rollout, template


def steps_seen(w: World) -> list[tuple[int, int]]:
    """(step, weight) of every StepStarted in the current history entry's timeline."""
    return [(int(t.message.split()[1].rstrip(":")), t.weight or 0) for t in w.status.history[0].timeline
            if t.event == "StepStarted"]


def slot(plan, name):  # type: ignore[no-untyped-def]
    return next(s for s in plan.slots if s.slot == name)


@pytest.mark.parametrize("make_spec", [spec, gateway_spec, istio_spec], ids=["replicas", "gateway-api", "istio"])
def test_healthy_rollout_goes_through_every_step_then_promotes(make_spec) -> None:  # type: ignore[no-untyped-def]
    w = installed(make_spec("1.0.0"), analysis=passing)
    start_rollout(w)
    w.tick()
    assert w.state == "Progressing" and w.ro.id == 2 and w.ro.weight == 0
    assert w.status.canary is not None and w.status.canary.slot == "b" and w.status.canary.version == "2.0.0"
    assert w.status.history[0].outcome == "Progressing"

    weights: list[int] = []
    while w.state == "Progressing":
        if w.ro.weight and (not weights or weights[-1] != w.ro.weight):
            weights.append(w.ro.weight)
        w.tick()
    assert weights == [5, 10, 25, 50]
    assert steps_seen(w) == [(1, 5), (2, 10), (3, 25), (4, 50)]
    assert w.state == "Promoting"
    assert w.status.phase == "Promoting" and w.kstatus() == ("Unknown", "True", "False")

    w.run_until(lambda w: w.state == "Watching", 30)
    st = w.status
    assert st.stable is not None and st.stable.slot == "b" and st.stable.version == "2.0.0"
    assert st.previous is not None and st.previous.slot == "a" and st.previous.version == "1.0.0"
    assert st.canary is None and st.weight == 0
    plan = w.tick()
    assert slot(plan, "a").replicas == 3, "the previous stable stays warm through the watch"
    assert slot(plan, "b").replicas == 3
    assert plan.traffic is not None and (plan.traffic.stable_slot, plan.traffic.weight) == ("b", 0)
    at_rest = TrafficIntent(stable_slot="b", canary_slot=None, weight=0)
    provider = provider_for(w.spec.traffic.provider)
    assert provider.objects("demo", "ns", w.spec, plan.traffic) == provider.objects("demo", "ns", w.spec, at_rest), \
        "in the watch all traffic is on the new stable, as at rest"
    assert w.effective_weight(traffic_intent(w.status)) == 0.0

    w.run_until(lambda w: w.status.rollout is None, 60)
    st = w.status
    assert st.phase == "Stable" and st.last_outcome == "Promoted"
    assert st.previous is None and st.watch_until is None
    assert st.stable is not None and st.stable.slot == "b"
    entry = st.history[0]
    assert (entry.id, entry.outcome, entry.version, entry.step_reached, entry.weight_reached) == \
        (2, "Promoted", "2.0.0", 4, 100)
    assert entry.ended_at is not None and entry.reason is None
    assert [t.event for t in entry.timeline if t.event not in ("StepStarted", "WeightServed")] == \
        ["Started", "Promoting", "Switched", "Promoted"]
    plan = w.tick()
    assert slot(plan, "a").replicas == 0, "the previous stable goes to zero after the watch"
    assert w.kstatus() == ("True", "False", "False")
    assert w.events() .count("Promoted") == 1
    notes = [n.reason for p in w.plans for n in w.emitted(p, "Notification")]
    assert notes == ["pre-rollout", "promotion", "post-rollout"]


def test_the_canary_gets_pods_before_any_traffic() -> None:
    w = installed(analysis=passing, unready={"b"})
    start_rollout(w)
    w.run_for(20)
    assert w.state == "Progressing" and w.ro.weight == 0
    assert w.effective_weight(traffic_intent(w.status)) == 0.0
    w.unready.clear()
    w.run_until(lambda w: w.ro is not None and w.ro.weight == 5, 5)


def test_a_step_is_not_settled_until_the_data_plane_serves_it() -> None:
    w = installed(gateway_spec(), analysis=passing)
    start_rollout(w)
    w.frozen_traffic = True  # the gateway does not pick up route changes
    w.run_for(60)
    assert w.ro.step == 0 and w.ro.settled_at is None, "the step clock starts when the data plane serves it"
    assert w.analyses == 0
    assert w.ro.weight == 5 and w.ro.effective_weight == 0.0
    w.frozen_traffic = False
    w.run_until(lambda w: w.ro is not None and w.ro.settled_at is not None, 5)


def test_replicas_provider_reports_quantised_weight_and_weight_quantised_condition() -> None:
    w = installed(spec("1.0.0", replicas=2), analysis=passing)
    start_rollout(w)
    w.run_until(lambda w: w.ro is not None and w.ro.weight == 5 and w.ro.settled_at is not None, 10)
    w.tick()
    assert w.status.effective_weight == 33.33
    assert w.ro.effective_weight == 33.33
    cond = w.condition("WeightQuantised")
    assert cond is not None and cond.status == "True" and cond.reason == "FewReplicas"
    assert "asked 5%" in cond.message and "33.33%" in cond.message
    assert "effective 33.33%" in (w.status.message or "")
    # the stable never drops below spec.replicas during the canary
    plan = w.tick()
    assert slot(plan, "a").replicas == 2 and slot(plan, "b").replicas == 1


def test_replicas_provider_without_much_drift_sets_no_weight_condition() -> None:
    w = installed(spec("1.0.0", replicas=3), analysis=passing)
    start_rollout(w)
    w.run_until(lambda w: w.ro is not None and w.ro.weight == 10 and w.ro.settled_at is not None, 30)
    w.tick()
    assert w.status.effective_weight == 25.0
    cond = w.condition("WeightQuantised")
    assert cond is not None and cond.status == "False"


def test_gateway_api_serves_exact_weights_with_canary_replicas() -> None:
    w = installed(spec("1.0.0", replicas=10, traffic={"provider": "gateway-api", "gatewayRef": {"name": "gw"},
                                                      "canaryReplicas": 4}), analysis=passing)
    start_rollout(w)
    seen = set()
    while w.state in ("Progressing", None) or w.status.rollout is None and not seen:
        plan = w.tick()
        if w.state != "Progressing":
            break
        assert slot(plan, "b").replicas == 4, "the canary runs canaryReplicas pods whatever its weight"
        assert slot(plan, "a").replicas == 10
        if w.ro.settled_at is not None:
            assert w.ro.effective_weight == w.ro.weight
            seen.add(w.ro.weight)
        cond = w.condition("WeightQuantised")
        assert cond is not None and cond.status == "False"
    assert seen == {5, 10, 25, 50}
    plan = w.tick()
    assert w.state in ("Promoting", "Watching")
    assert slot(plan, "b").replicas == 10, "promotion brings the canary to full size"


def test_gateway_api_canary_replicas_default_to_at_most_three() -> None:
    w = installed(gateway_spec("1.0.0", replicas=10), analysis=passing)
    start_rollout(w)
    plan = w.tick()
    assert slot(plan, "b").replicas == 3


def test_promoting_keeps_the_last_weight_until_the_canary_is_full_size() -> None:
    w = installed(gateway_spec(replicas=6), analysis=passing)
    start_rollout(w)
    w.ready_cap["b"] = 3  # the canary's pods beyond the three it ran with are slow to get ready
    w.run_until(lambda w: w.state == "Promoting", 120)
    plan = w.tick()
    assert w.state == "Promoting" and w.ro.weight == 50
    assert plan.traffic is not None and plan.traffic.weight == 50
    assert slot(plan, "b").replicas == 6 and slot(plan, "a").replicas == 6
    w.run_for(10)
    assert w.state == "Promoting" and w.effective_weight(traffic_intent(w.status)) == 50.0
    w.ready_cap.clear()
    w.run_until(lambda w: w.state == "Watching", 5)


def test_reapplying_the_same_spec_starts_nothing() -> None:
    w = installed(analysis=passing)
    before = w.status.model_copy(deep=True)
    w.edit(version="1.0.0", template=template("1.0.0"))  # same manifest, applied again
    w.run_for(30)
    assert w.status.rollout is None and w.status.history == before.history
    assert w.status.next_rollout_id == before.next_rollout_id
    assert "RolloutStarted" not in w.events()


def test_template_key_order_does_not_start_a_rollout() -> None:
    w = installed(analysis=passing)
    tpl = template("1.0.0")
    reordered = {"spec": tpl["spec"], "metadata": tpl["metadata"]}
    w.edit(template=reordered)
    w.run_for(10)
    assert w.status.rollout is None and len(w.status.history) == 1


def test_a_version_label_only_edit_does_not_start_a_rollout() -> None:
    w = installed(analysis=passing)
    w.edit(version="1.0.1")  # same template
    w.run_for(30)
    assert w.status.rollout is None and len(w.status.history) == 1
    assert "RolloutStarted" not in w.events()
    assert w.status.stable is not None and w.status.stable.version == "1.0.1"


def test_a_version_label_edit_mid_rollout_relabels_the_canary_without_restarting() -> None:
    w = installed(analysis=passing)
    start_rollout(w)
    w.run_until(lambda w: w.ro is not None and w.ro.step == 1, 60)
    w.edit(version="2.0.0-rc2")
    w.tick()
    assert w.ro.id == 2 and w.ro.step == 1
    assert w.status.canary is not None and w.status.canary.version == "2.0.0-rc2"
    assert w.status.history[0].version == "2.0.0-rc2"


def test_a_configmap_change_starts_a_rollout() -> None:
    tpl = template("1.0.0")
    tpl["spec"]["volumes"] = [{"name": "cfg", "configMap": {"name": "demo-config"}}]
    w = World(spec=spec("1.0.0", template=tpl), referenced={("ConfigMap", "demo-config"): {"data": {"k": "1"}}},
              analysis=passing)
    w.run_until(lambda w: w.status.phase == "Stable", 10)
    w.referenced = {("ConfigMap", "demo-config"): {"data": {"k": "2"}}}
    w.tick()
    assert w.state == "Progressing" and w.status.canary is not None
    assert w.status.canary.template_hash != w.status.stable.template_hash  # type: ignore[union-attr]


def test_replicas_edit_mid_rollout_applies_without_restarting() -> None:
    w = installed(analysis=passing)
    start_rollout(w)
    w.run_until(lambda w: w.ro is not None and w.ro.step == 1, 60)
    w.edit(replicas=5, analysis={**w.spec.analysis.model_dump(by_alias=True), "stepDuration": "20s"})
    plan = w.tick()
    assert w.ro.id == 2 and w.ro.step == 1 and len(w.status.history) == 2
    assert slot(plan, "a").replicas == 5, "the stable follows spec.replicas at once"
    w.run_until(lambda w: w.state == "Watching", 300)
    assert w.status.history[0].outcome == "Progressing"
    w.run_until(lambda w: w.status.rollout is None, 60)
    assert w.status.history[0].outcome == "Promoted" and w.status.next_rollout_id == 3


def test_step_weight_and_max_weight_drive_the_steps() -> None:
    s: ReleaseSpec = spec("1.0.0", stepWeight=20, maxWeight=60)
    w = installed(s, analysis=passing)
    start_rollout(w)
    weights = []
    while w.status.rollout is None or w.state == "Progressing":
        w.tick()
        if w.ro and w.ro.weight and (not weights or weights[-1] != w.ro.weight):
            weights.append(w.ro.weight)
    assert weights == [20, 40, 60]


def test_the_preflight_advice_is_recorded_with_the_rollout() -> None:
    from dataclasses import replace

    from ripcord.engine.decide import decide
    w = installed(analysis=passing)
    start_rollout(w)
    plan = decide(replace(w.observe(), preflight=Preflight("smallest detectable ratio at 5%: 2.4x", feasible=True)))
    assert plan.status.analysis is not None and plan.status.analysis.preflight == "smallest detectable ratio at 5%: 2.4x"
    assert [(c.status, c.reason) for c in plan.status.conditions if c.type == "JudgeFeasible"] == [("True", "Feasible")]


def test_an_infeasible_preflight_is_a_condition_and_a_warning_at_the_start_with_the_fix() -> None:
    w = installed(analysis=passing)
    w.preflight = Preflight("passes within maxDuration only about 7% of the time", feasible=False,
                            fix="run 9 canary pods (traffic.canaryReplicas: 9) or set analysis.maxDuration: 25m")
    start_rollout(w)
    w.tick()
    cond = w.condition("JudgeFeasible")
    assert cond is not None and (cond.status, cond.reason) == ("False", "CannotDecideInTime")
    assert "about 7%" in cond.message and "canaryReplicas: 9" in cond.message
    [warning] = w.event_messages("PreflightInfeasible")
    assert "fix: run 9 canary pods" in warning
    w.run_for(5)
    assert w.condition("JudgeFeasible") is not None  # it stays for the whole rollout
    w.analysis = passing
    w.run_until(lambda w: w.status.rollout is None, 600)
    assert w.condition("JudgeFeasible") is None  # and goes with it


def test_every_transition_posts_an_event() -> None:
    w = installed(analysis=passing)
    start_rollout(w)
    w.tick()
    w.run_until(lambda w: w.status.rollout is None, 300)
    assert w.events()[1:] == ["RolloutStarted", "StepStarted", "StepStarted", "StepStarted", "StepStarted",
                          "Promoting", "Switched", "Promoted"]
    assert all(e.type == "Normal" for p in w.plans for e in w.emitted(p))
    assert all("rollout 2" in e.message for p in w.plans[1:] for e in w.emitted(p))
