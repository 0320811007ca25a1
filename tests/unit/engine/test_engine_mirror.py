"""The mirror phase: the canary judged on mirrored live requests at weight 0 before its first step."""
from __future__ import annotations

from typing import Any

from ripcord.engine.observed import AnalysisResult
from tests.unit.engine.sim import World, failing, gateway_spec, installed, passing, spec, start_rollout


def world(analysis: Any = passing, **mirror: Any) -> World:
    w = installed(spec("1.0.0", traffic={"provider": "gateway-api", "gatewayRef": {"name": "gw"},
                                         "mirror": {"percent": 10, **mirror}}), analysis=analysis)
    start_rollout(w)
    w.tick()
    return w


def intents(w: World) -> list[tuple[int, int]]:
    return [(p.traffic.weight, p.traffic.mirror) for p in w.plans if p.traffic is not None and p.traffic.canary_slot]


def test_the_canary_is_judged_on_mirrored_requests_then_gets_its_first_step() -> None:
    w = world(duration="20s")
    w.run_until(lambda w: w.ro is not None and w.ro.mirror is not None and w.ro.settled_at is not None, 60)
    assert w.route_mirror == 10 and w.ro.weight == 0  # type: ignore[union-attr]
    assert w.status.phase == "Progressing" and w.condition("Ready").reason == "Mirroring"  # type: ignore[union-attr]
    w.run_until(lambda w: w.ro is not None and w.ro.weight > 0, 60)
    mirror_reads = [r for r in w.analysis_reads if r.mirror]
    assert len(mirror_reads) >= 4 and all(r.weight == 0 for r in mirror_reads), "judged at weight 0, every interval"
    assert (10, 10) not in intents(w) and (0, 10) in intents(w) and w.plans[-1].traffic.mirror == 0  # type: ignore[union-attr]
    events = [t.event for t in w.status.history[0].timeline]
    assert events.index("MirrorStarted") < events.index("MirrorPassed") < events.index("StepStarted")
    assert w.status.analysis is not None and w.status.analysis.step is None and w.status.analysis.judge_state is None, \
        "the first step starts from its own evidence"
    w.run_until(lambda w: w.status.rollout is None, 600)
    assert w.status.history[0].outcome == "Promoted"
    after = [r for r in w.analysis_reads if not r.mirror]
    assert after and all(r.mirror is False for r in after), "after the mirror phase, mirrored requests are left out"


def test_a_canary_failing_on_mirrored_requests_is_rolled_back_at_weight_zero() -> None:
    w = world(analysis=failing)
    w.run_until(lambda w: w.status.rollout is None, 120)
    entry = w.status.history[0]
    assert entry.outcome == "RolledBack" and entry.weight_reached == 0
    assert {weight for weight, _ in intents(w)} == {0}, "no user request ever went to the canary"
    assert entry.reason is not None and entry.reason.kind == "Metric"
    assert entry.reason.message.endswith("on 10% mirrored requests (weight 0)")


def test_the_mirror_phase_waits_for_the_route_to_mirror() -> None:
    w = world()
    w.frozen_traffic = True
    w.run_for(30)
    assert w.ro is not None and w.ro.mirror == 10 and w.ro.settled_at is None and w.analyses == 0


def test_an_inconclusive_mirror_phase_still_moves_on_like_a_step() -> None:
    w = world(analysis=lambda w: AnalysisResult(verdict="Inconclusive"))
    w.run_until(lambda w: w.ro is not None and w.ro.weight > 0, 120)
    assert w.ro.mirror_done  # type: ignore[union-attr]


def test_without_mirror_nothing_is_mirrored_and_the_analysis_is_as_always() -> None:
    w = installed(gateway_spec("1.0.0"), analysis=passing)
    start_rollout(w)
    w.run_until(lambda w: w.status.rollout is None and w.status.last_outcome == "Promoted", 600)
    assert all(m == 0 for _, m in intents(w)) and all(r.mirror is None for r in w.analysis_reads)
