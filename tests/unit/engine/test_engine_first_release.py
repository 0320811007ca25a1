"""First release: from a template, or by adopting an existing Deployment (workloadRef)."""
from __future__ import annotations

from ripcord.api.template import template_hash
from ripcord.engine.observed import AdoptView
from tests.unit.engine.sim import World, spec, template


def adopting_spec():  # type: ignore[no-untyped-def]
    return spec("1.0.0", template=None, workloadRef={"name": "legacy"})


LEGACY = template("0.9.0", MODE="legacy")


def test_first_release_from_a_template_becomes_stable_directly() -> None:
    w = World(spec=spec("1.0.0"))
    plan = w.tick()

    st = plan.status
    assert st.stable is not None and st.stable.slot == "a" and st.stable.version == "1.0.0"
    assert st.stable.template_hash == w.desired_hash() and st.stable.deployment == "demo-a"
    assert st.rollout is None and st.canary is None
    [entry] = st.history
    assert (entry.id, entry.outcome, entry.version, entry.weight_reached) == (1, "Installed", "1.0.0", 100)
    assert entry.timeline[0].event == "Installed"
    assert st.last_outcome == "Installed" and st.next_rollout_id == 2
    slots = {s.slot: s for s in plan.slots}
    assert slots["a"].replicas == 3 and slots["a"].template == w.spec.template
    assert slots["b"].replicas == 0
    assert plan.traffic is not None and (plan.traffic.stable_slot, plan.traffic.canary_slot, plan.traffic.weight) \
        == ("a", None, 0)
    assert w.events() == ["Installed"]


def test_first_release_is_initializing_until_the_stable_is_ready_then_ready() -> None:
    w = World(spec=spec("1.0.0"), unready={"a"})
    w.tick()
    assert w.status.phase == "Initializing"
    assert w.kstatus() == ("Unknown", "True", "False")
    w.unready.clear()
    w.tick()  # pods come up
    w.tick()
    assert w.status.phase == "Stable"
    assert w.kstatus() == ("True", "False", "False")
    assert w.events() == ["Installed"]  # installed once, not at every tick


def test_adoption_waits_for_the_deployment_to_exist() -> None:
    w = World(spec=adopting_spec())
    w.run_for(3)
    assert w.status.stable is None and w.status.history == []
    assert w.status.phase == "Initializing" and "legacy" in (w.status.message or "")
    assert all(p.slots == () and p.traffic is None for p in w.plans)

    w.adopt = AdoptView(exists=False)
    w.tick()
    assert w.status.stable is None


def test_adoption_uses_the_adopted_template_and_its_hash() -> None:
    w = World(spec=adopting_spec(), adopt=AdoptView(exists=True, template=LEGACY, template_hash=template_hash(LEGACY),
                                                       replicas=3))
    plan = w.tick()
    assert plan.status.stable is not None
    assert plan.status.stable.template_hash == template_hash(LEGACY)
    assert plan.status.stable.version == "1.0.0"
    assert "adopting Deployment legacy" in plan.status.history[0].timeline[0].message
    stable = next(s for s in plan.slots if s.slot == "a")
    assert stable.template == LEGACY and stable.template_hash == template_hash(LEGACY)


def test_adopted_deployment_is_scaled_to_zero_only_once_the_stable_is_ready() -> None:
    w = World(spec=adopting_spec(), adopt=AdoptView(exists=True, template=LEGACY, template_hash=template_hash(LEGACY),
                                                       replicas=3), unready={"a"})
    for _ in range(3):
        assert w.tick().adopt_scale_down is None
    assert w.adopt is not None and w.adopt.replicas == 3

    w.unready.clear()
    w.tick()  # the stable's pods come up
    assert w.tick().adopt_scale_down == "legacy"
    assert w.adopt.replicas == 0
    assert w.tick().adopt_scale_down is None  # already at zero: nothing more to do
    assert w.status.phase == "Stable"


def test_adopted_release_at_rest_starts_nothing() -> None:
    w = World(spec=adopting_spec(), adopt=AdoptView(exists=True, template=LEGACY, template_hash=template_hash(LEGACY),
                                                       replicas=3))
    w.run_for(10)
    assert w.status.rollout is None and len(w.status.history) == 1
    assert w.status.phase == "Stable"


def test_adopted_release_rolls_out_when_a_template_is_given_later() -> None:
    w = World(spec=adopting_spec(), adopt=AdoptView(exists=True, template=LEGACY, template_hash=template_hash(LEGACY),
                                                       replicas=3))
    w.run_for(3)
    w.edit(version="2.0.0", template=template("2.0.0"))
    w.tick()
    assert w.state == "Progressing"
    assert w.status.canary is not None and w.status.canary.slot == "b"
    assert w.status.stable is not None and w.status.stable.template_hash == template_hash(LEGACY)
