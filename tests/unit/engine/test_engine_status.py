"""What the status says: kstatus conditions per phase, observedGeneration, bounded history and timeline."""
from __future__ import annotations

from typing import Callable

import pytest

from ripcord.api.models import ReleaseStatus
from ripcord.engine.decide import HISTORY_LIMIT, TIMELINE_LIMIT
from ripcord.engine.observed import HealthBreach
from tests.unit.engine.sim import World, gateway_spec, inconclusive, installed, passing, spec, start_rollout, template

# phase -> (Ready, Reconciling, Stalled), as kstatus reads them (reference/ecosystem.md §1):
# Reconciling=True -> InProgress, Stalled=True -> Failed, Ready=True -> Current.
KSTATUS = {
    "Initializing": ("Unknown", "True", "False"),
    "Stable": ("True", "False", "False"),
    "Progressing": ("Unknown", "True", "False"),
    "Paused": ("Unknown", "True", "False"),
    "Holding": ("Unknown", "True", "False"),
    "Promoting": ("Unknown", "True", "False"),
    "Watching": ("Unknown", "True", "False"),
    "RollingBack": ("Unknown", "True", "False"),
    "RolledBack": ("False", "False", "True"),
    "Aborted": ("False", "False", "True"),
    "InvalidSpec": ("False", "False", "True"),
}


def record(w: World, seen: dict[str, tuple[str, str, str]], ticks: int = 1) -> None:
    for _ in range(ticks):
        w.tick()
        phase = w.status.phase or "?"
        ks = w.kstatus()
        assert seen.setdefault(phase, ks) == ks, f"{phase}: conditions changed within the phase"
        for c in w.status.conditions:
            assert c.observed_generation == w.generation


def scenario_promoted(seen: dict[str, tuple[str, str, str]]) -> None:
    w = World(spec=spec(analysis={"interval": "5s", "stepDuration": "10s", "postPromotionWatch": "20s",
                                  "maxDuration": "1m"}), analysis=passing, unready={"a"})
    record(w, seen, 3)
    w.unready.clear()
    record(w, seen, 3)
    start_rollout(w)
    record(w, seen, 15)
    w.ask("pause", w.ro.id)
    record(w, seen, 5)
    w.ask("resume", w.ro.id, "r")
    w.analysis = inconclusive
    record(w, seen, 90)
    assert w.ro.held
    w.analysis = passing
    record(w, seen, 60)
    assert w.status.rollout is None


def scenario_rolled_back(seen: dict[str, tuple[str, str, str]]) -> None:
    w = installed(analysis=passing)
    start_rollout(w)
    record(w, seen, 15)
    w.breach = HealthBreach(gate="CrashLoop", pod="demo-b-1", message="CrashLoopBackOff")
    w.frozen_traffic = True
    record(w, seen, 3)
    w.frozen_traffic = False
    record(w, seen, 5)
    w.spec_error = "spec.version: Field required"
    record(w, seen, 2)


def scenario_aborted(seen: dict[str, tuple[str, str, str]]) -> None:
    w = installed(analysis=passing)
    start_rollout(w)
    record(w, seen, 15)
    w.ask("abort", w.ro.id)
    record(w, seen, 5)


def test_conditions_follow_kstatus_in_every_phase() -> None:
    seen: dict[str, tuple[str, str, str]] = {}
    scenario_promoted(seen)
    scenario_rolled_back(seen)
    scenario_aborted(seen)
    assert seen == KSTATUS


def test_observed_generation_is_written_at_every_decision() -> None:
    w = World(spec=spec())
    assert ReleaseStatus().observed_generation == -1
    for gen in (1, 2, 5):
        w.generation = gen
        plan = w.tick()
        assert plan.status.observed_generation == gen
    w.spec_error = "bad"
    w.generation = 6
    assert w.tick().status.observed_generation == 6


def test_condition_transition_time_moves_only_when_the_status_changes() -> None:
    w = installed(analysis=passing)
    ready = w.condition("Ready")
    assert ready is not None and ready.status == "True"
    w.run_for(30)
    assert w.condition("Ready").last_transition_time == ready.last_transition_time  # type: ignore[union-attr]
    start_rollout(w)
    w.tick()
    assert w.condition("Ready").last_transition_time != ready.last_transition_time  # type: ignore[union-attr]


def test_conditions_are_unique_by_type() -> None:
    w = installed(analysis=passing)
    start_rollout(w)
    w.tick()
    w.run_until(lambda w: w.status.rollout is None, 300)
    types = [c.type for c in w.status.conditions]
    assert len(types) == len(set(types))
    assert {"Ready", "Reconciling", "Stalled"} <= set(types)


def test_history_is_bounded_newest_first() -> None:
    w = installed(analysis=passing)
    for i in range(HISTORY_LIMIT + 5):
        start_rollout(w, f"2.0.{i}")  # each supersedes the one before
        w.tick()
    st = w.status
    assert len(st.history) == HISTORY_LIMIT
    ids = [h.id for h in st.history]
    assert ids == sorted(ids, reverse=True) and ids[0] == st.rollout.id  # type: ignore[union-attr]
    assert st.history[0].outcome == "Progressing" and all(h.outcome == "Superseded" for h in st.history[1:])
    ReleaseStatus.model_validate(st.wire())


def test_timeline_is_bounded_and_keeps_the_latest() -> None:
    w = installed(spec(steps=list(range(2, 100, 2)), analysis={"interval": "1s", "stepDuration": "1s"}),
                  analysis=passing)
    start_rollout(w)
    w.tick()
    w.run_until(lambda w: w.status.rollout is None, 600)
    timeline = w.status.history[0].timeline
    assert len(timeline) == TIMELINE_LIMIT
    assert timeline[-1].event == "Promoted"
    assert w.status.history[0].step_reached == 49


def test_weight_and_printer_fields() -> None:
    w = installed(analysis=passing)
    assert (w.status.weight, w.status.effective_weight) == (0, None)
    start_rollout(w)
    w.run_until(lambda w: w.ro is not None and w.ro.step == 2 and w.ro.settled_at is not None, 120)
    w.tick()
    assert w.status.weight == 25 and w.status.effective_weight == 25.0
    assert w.status.canary is not None and w.status.canary.deployment == "demo-b"
    assert w.status.stable is not None and w.status.stable.deployment == "demo-a"
    w.run_until(lambda w: w.state == "Watching", 120)
    w.tick()
    assert w.status.weight == 0 and w.status.previous.deployment == "demo-a"  # type: ignore[union-attr]


@pytest.mark.parametrize("scenario", [scenario_promoted, scenario_rolled_back, scenario_aborted])
def test_every_status_recorded_is_valid_on_the_wire(scenario: Callable[[dict], None]) -> None:  # type: ignore[type-arg]
    """The sim checks every status it records (sim.check_recordable); this runs long scenarios through it."""
    scenario({})


def test_a_template_back_to_stable_with_stalled_template_elsewhere_is_stable() -> None:
    w = installed(analysis=passing)
    start_rollout(w)
    w.run_until(lambda w: w.ro is not None and w.ro.step == 1, 60)
    w.ask("abort", w.ro.id)
    w.run_until(lambda w: w.status.rollout is None, 10)
    w.edit(version="1.0.0", template=template("1.0.0"))
    w.tick()
    assert w.status.phase == "Stable"


def test_a_weight_the_data_plane_never_serves_is_reported_once() -> None:
    w = installed(gateway_spec(analysis={"podHealth": {"readyDeadline": "30s"}}), analysis=passing)
    w.frozen_traffic = True  # e.g. an HTTPRoute the Gateway never accepts
    start_rollout(w)
    w.run_until(lambda w: w.ro is not None and w.ro.weight > 0, 30)
    w.run_for(20)
    assert w.condition("TrafficNotServed").status == "False"
    w.run_for(20)
    cond = w.condition("TrafficNotServed")
    assert cond.status == "True" and "HTTPRoute accepted" in cond.message
    w.run_for(30)
    assert w.events().count("TrafficNotServed") == 1
    assert w.state == "Progressing" and w.ro.settled_at is None
