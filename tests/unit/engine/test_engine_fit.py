"""The engine with the features that fit existing clusters: an autoscaled stable (never fought,
the canary sized from it), roles for the HPA and the PDBs, the user's own route (a foreign
edit mid-rollout holds the rollout and the route until resume), testers in the traffic intent."""
from __future__ import annotations

import dataclasses
from typing import Any

from ripcord.engine.decide import decide
from ripcord.engine.world import traffic_intent
from tests.unit.engine.sim import World, gateway_spec, installed, passing, spec, start_rollout, user_route_spec

AUTOSCALING = {"minReplicas": 2, "maxReplicas": 10}


def slot(plan: Any, name: str) -> Any:
    return next(s for s in plan.slots if s.slot == name)


def hpa_scales(w: World, slot_name: str, n: int) -> None:
    """What the HPA controller does: the Deployment's replicas change under Ripcord."""
    old = w.slots[slot_name]
    w.slots[slot_name] = dataclasses.replace(old, replicas=n, ready=n)


# ------------------------------------------------------------------ autoscaling

def test_the_autoscaled_stable_keeps_the_count_the_hpa_gave_it() -> None:
    w = installed(gateway_spec(autoscaling=AUTOSCALING), analysis=passing)
    plan = w.tick()
    stable = slot(plan, "a")
    assert stable.keep_replicas and stable.replicas == 3
    hpa_scales(w, "a", 7)
    plan = w.tick()
    assert slot(plan, "a").keep_replicas and slot(plan, "a").replicas == 7
    assert w.status.phase == "Stable"


def test_without_autoscaling_ripcord_sets_the_stable_s_count() -> None:
    w = installed(gateway_spec(), analysis=passing)
    hpa_scales(w, "a", 7)
    plan = w.tick()
    assert not slot(plan, "a").keep_replicas and slot(plan, "a").replicas == 3


def test_the_canary_is_sized_from_the_stable_s_current_count_and_the_weight() -> None:
    s = spec(autoscaling=AUTOSCALING, steps=[10, 50], traffic={
        "provider": "gateway-api", "gatewayRef": {"name": "gw"}, "canaryReplicas": 2})
    w = installed(s, analysis=passing)
    hpa_scales(w, "a", 8)
    start_rollout(w)
    w.run_until(lambda w: w.ro is not None and w.ro.weight == 10, 60)
    assert slot(w.tick(), "b").replicas == 2, "ceil(8 x 10%) = 1, never below canaryReplicas (2)"
    w.run_until(lambda w: w.ro is not None and w.ro.weight == 50, 120)
    assert slot(w.tick(), "b").replicas == 4, "ceil(8 x 50%)"
    hpa_scales(w, "a", 10)
    plan = w.tick()
    assert slot(plan, "b").replicas == 5 and slot(plan, "a").replicas == 10 and slot(plan, "a").keep_replicas


def test_the_replicas_provider_quantises_against_the_current_stable() -> None:
    w = installed(spec(autoscaling=AUTOSCALING, steps=[25, 50]), analysis=passing)
    hpa_scales(w, "a", 9)
    start_rollout(w)
    w.run_until(lambda w: w.ro is not None and w.ro.weight == 25, 60)
    assert slot(w.tick(), "b").replicas == 3, "3 beside 9 is 25%"


def test_promotion_brings_the_canary_to_the_stable_s_size_and_the_hpa_moves() -> None:
    w = installed(gateway_spec(autoscaling=AUTOSCALING), analysis=passing)
    hpa_scales(w, "a", 6)
    start_rollout(w)
    w.run_until(lambda w: w.state == "Promoting", 300)
    plan = w.plans[-1]  # the decision that started the promotion
    assert slot(plan, "b").replicas == 6 and not slot(plan, "b").keep_replicas
    w.run_until(lambda w: w.state == "Watching", 30)
    plan = w.tick()
    assert plan.roles == {"a": "previous", "b": "stable"}
    assert slot(plan, "b").keep_replicas, "the new stable is the HPA's now"
    assert slot(plan, "a").keep_replicas, "the warm previous stays as it served"
    w.run_until(lambda w: w.status.rollout is None, 60)
    plan = w.tick()
    assert plan.roles == {"a": "idle", "b": "stable"} and slot(plan, "a").replicas == 0


def test_a_rollback_leaves_the_scaled_stable_alone() -> None:
    w = installed(gateway_spec(autoscaling=AUTOSCALING), analysis=passing)
    start_rollout(w)
    w.run_until(lambda w: w.ro is not None and w.ro.weight == 5, 60)
    hpa_scales(w, "a", 9)
    w.ask("abort", w.ro.id)
    w.run_until(lambda w: w.status.rollout is None, 60)
    plan = w.tick()
    assert slot(plan, "a").replicas == 9 and slot(plan, "a").keep_replicas and slot(plan, "b").replicas == 0
    assert plan.roles == {"a": "stable", "b": "idle"}


def test_roles_follow_the_rollout() -> None:
    w = installed(gateway_spec(), analysis=passing)
    assert w.plans[-1].roles == {"a": "stable", "b": "idle"}
    start_rollout(w)
    assert w.tick().roles == {"a": "stable", "b": "canary"}


# ------------------------------------------------------------------ testers

def test_testers_go_to_the_canary_only_while_it_is_the_candidate() -> None:
    w = installed(gateway_spec(), analysis=passing)
    assert not traffic_intent(w.status).testers
    start_rollout(w)
    w.tick()
    assert w.ro.weight == 0 and traffic_intent(w.status).testers, "from the start, at weight 0"
    w.run_until(lambda w: w.state == "Watching", 300)
    assert not traffic_intent(w.status).testers, "in the watch the canary slot is the previous stable"


# ------------------------------------------------------------------ the user's route

def user_world() -> World:
    w = installed(user_route_spec(), analysis=passing, user_rule=[{"name": "demo", "port": 80}])
    return w


def test_ripcord_weights_the_users_rule_and_gives_it_back_at_rest() -> None:
    w = user_world()
    start_rollout(w)
    w.run_until(lambda w: w.ro is not None and w.ro.weight == 5 and w.ro.settled_at is not None, 60)
    assert w.user_rule == [{"name": "demo", "port": 80, "weight": 95}, {"name": "demo-b", "port": 80, "weight": 5}]
    assert w.status.route is not None and w.status.route.backends == "demo:80=95,demo-b:80=5"
    w.run_until(lambda w: w.status.rollout is None, 600)
    assert w.status.last_outcome == "Promoted"
    assert w.user_rule == [{"name": "demo", "port": 80}], "at rest the rule is the stable's backend alone"
    assert "RouteConflict" not in w.events()


def test_a_foreign_edit_mid_rollout_holds_the_rollout_and_the_route_until_resume() -> None:
    w = user_world()
    start_rollout(w)
    w.run_until(lambda w: w.ro is not None and w.ro.weight == 5 and w.ro.settled_at is not None, 60)
    w.user_rule, w.user_route_generation = [{"name": "demo", "port": 80}], w.user_route_generation + 1  # GitOps
    plan = w.tick()
    assert plan.hold_route and w.ro.paused and w.status.phase == "Paused"
    assert w.condition("RouteConflict").status == "True"
    assert "changed by someone else" in w.condition("RouteConflict").message
    assert [i.type for i in w.emitted(plan) if i.reason == "RouteConflict"] == ["Warning"]
    w.run_for(120)
    assert w.user_rule == [{"name": "demo", "port": 80}], "never written over"
    assert w.ro.weight == 5 and w.state == "Progressing" and w.events().count("RouteConflict") == 1
    w.ask("resume", w.ro.id)
    plan = w.tick()
    assert not plan.hold_route and "RouteTakenBack" in w.events()
    weight = w.ro.weight  # (the step may move on in the same decision: its time is long over)
    assert w.user_rule == [{"name": "demo", "port": 80, "weight": 100 - weight},
                           {"name": "demo-b", "port": 80, "weight": weight}]
    w.tick()
    assert w.condition("RouteConflict").status == "False"
    w.run_until(lambda w: w.status.rollout is None, 600)
    assert w.status.last_outcome == "Promoted"


def test_a_rollback_writes_the_rule_even_in_a_conflict() -> None:
    w = user_world()
    start_rollout(w)
    w.run_until(lambda w: w.ro is not None and w.ro.weight == 5 and w.ro.settled_at is not None, 60)
    w.user_rule = [{"name": "demo", "port": 80, "weight": 50}, {"name": "demo-b", "port": 80, "weight": 50}]
    w.user_route_generation += 1
    w.tick()
    assert w.condition("RouteConflict").status == "True"
    w.ask("abort", w.ro.id)
    w.run_until(lambda w: w.status.rollout is None, 60)
    assert w.user_rule == [{"name": "demo", "port": 80}] and w.status.last_outcome == "Aborted"


def test_an_edit_elsewhere_in_the_route_is_reported_and_the_rollout_goes_on() -> None:
    w = user_world()
    start_rollout(w)
    w.run_until(lambda w: w.ro is not None and w.ro.weight == 5 and w.ro.settled_at is not None, 60)
    w.tick()
    w.user_route_generation += 1  # someone added a filter to another rule: this rule is untouched
    w.tick()
    assert "RouteEdited" in w.events() and not w.ro.paused
    assert w.condition("RouteConflict").status == "False"


def test_a_revert_to_the_recorded_weights_after_ripcords_own_write_is_a_conflict() -> None:
    """Ripcord's write landed and someone put the rule back before Ripcord saw its own write: the
    rule holds the weights Ripcord recorded, but the route moved twice since. Not "still pending"."""
    from dataclasses import replace
    w = user_world()
    start_rollout(w)
    w.run_until(lambda w: w.ro is not None and w.ro.weight == 5 and w.ro.settled_at is not None, 60)
    w.tick()
    rec = w.status.route
    assert rec is not None and rec.conflict is None
    obs = w.observe()
    assert obs.route is not None and obs.status.rollout is not None
    # The next weight is decided (10%): Ripcord's write of 90/10 is on its way; the rule as it was recorded.
    wanting = obs.status.model_copy(update={"rollout": obs.status.rollout.model_copy(update={"weight": 10})})
    for moved, conflict in ((0, False), (1, False), (2, True)):
        view = replace(obs.route, generation=rec.generation + moved)
        plan = decide(replace(obs, status=wanting.model_copy(deep=True), route=view))
        held = next(c for c in plan.status.conditions if c.type == "RouteConflict").status == "True"
        assert held is conflict, (moved, plan.status.route)
        if moved == 1:  # a change elsewhere: the pending write is decided again on top of it
            assert plan.status.route is not None and plan.status.route.generation == rec.generation + 1
