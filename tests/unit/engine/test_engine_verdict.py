"""Promotion needs evidence: every step is judged, Inconclusive never promotes, NoVerdict holds."""
from __future__ import annotations

from ripcord.engine.observed import AnalysisResult
from tests.unit.engine.sim import World, inconclusive, installed, passing, spec, start_rollout


def last_step_settled(w: World) -> bool:
    return w.ro is not None and w.ro.step == 3 and w.ro.settled_at is not None


def test_inconclusive_at_the_last_step_never_promotes_and_holds_with_no_verdict() -> None:
    w = installed(spec(analysis={"interval": "5s", "stepDuration": "10s", "maxDuration": "5m"}), analysis=inconclusive)
    start_rollout(w)
    w.run_until(last_step_settled, 120)
    w.run_for(200, every=5)
    assert w.state == "Progressing" and w.ro.weight == 50 and not w.ro.held
    assert w.status.phase == "Progressing"

    w.run_until(lambda w: w.ro.held, 200, every=5)
    assert w.state == "Progressing" and w.ro.weight == 50
    assert w.status.phase == "Holding"
    cond = w.condition("NoVerdict")
    assert cond is not None and cond.status == "True" and cond.reason == "MaxDurationReached"
    assert w.kstatus() == ("Unknown", "True", "False")
    assert w.events().count("NoVerdict") == 1
    assert [n.reason for p in w.plans for n in w.emitted(p, "Notification")].count("stall") == 1

    w.run_for(600, every=5)
    assert w.state == "Progressing" and w.ro.weight == 50, "never promotes without evidence"
    assert w.events().count("NoVerdict") == 1, "the event is posted once"
    assert w.status.history[0].outcome == "Progressing"
    assert any(t.event == "NoVerdict" for t in w.status.history[0].timeline)


def test_manual_promote_still_works_after_no_verdict() -> None:
    w = installed(spec(analysis={"interval": "5s", "stepDuration": "10s", "maxDuration": "2m"}), analysis=inconclusive)
    start_rollout(w)
    w.run_until(lambda w: w.ro is not None and w.ro.held, 400, every=5)
    w.ask("promote", w.ro.id)
    w.tick()
    assert w.state == "Promoting"
    w.run_until(lambda w: w.status.rollout is None, 120)  # a 60s watch
    assert w.status.history[0].outcome == "Promoted"
    cond = w.condition("NoVerdict")
    assert cond is not None and cond.status == "False"


def test_a_late_pass_promotes_a_held_rollout() -> None:
    w = installed(spec(analysis={"interval": "5s", "stepDuration": "10s", "maxDuration": "2m"}), analysis=inconclusive)
    start_rollout(w)
    w.run_until(lambda w: w.ro is not None and w.ro.held, 400, every=5)
    w.analysis = passing
    w.run_until(lambda w: w.status.rollout is None, 120)  # a 60s watch
    assert w.status.history[0].outcome == "Promoted"


def test_inconclusive_at_an_earlier_step_moves_on_but_promotion_needs_pass() -> None:
    verdicts = {0: "Inconclusive", 1: "Inconclusive", 2: "Pass", 3: "Inconclusive"}
    w = installed(analysis=lambda w: AnalysisResult(verdict=verdicts[w.ro.step]))  # type: ignore[arg-type]
    start_rollout(w)
    w.run_until(last_step_settled, 120)
    w.run_for(60)
    assert w.state == "Progressing"
    verdicts[3] = "Pass"
    w.run_until(lambda w: w.state == "Promoting", 20)


def test_every_step_waits_for_a_verdict_of_its_own() -> None:
    """A step shorter than the analysis interval must not pass on the previous step's verdict."""
    w = installed(spec(analysis={"interval": "30s", "stepDuration": "10s"}), analysis=passing)
    start_rollout(w)
    w.run_until(lambda w: w.ro is not None and w.ro.step == 1 and w.ro.settled_at is not None, 120)
    settled = w.now
    analyses = w.analyses
    w.run_until(lambda w: w.ro.step == 2, 120)
    assert w.analyses > analyses, "step 2 was analysed before it passed"
    assert (w.now - settled).total_seconds() >= 30


def test_the_last_step_is_judged_before_promotion() -> None:
    w = installed(spec(analysis={"interval": "30s", "stepDuration": "10s"}), analysis=passing)
    start_rollout(w)
    w.run_until(last_step_settled, 300)
    analyses = w.analyses
    w.run_until(lambda w: w.state == "Promoting", 120)
    assert w.analyses > analyses


def test_no_analysis_result_at_all_never_promotes() -> None:
    w = installed(analysis=None)
    start_rollout(w)
    w.run_for(1200, every=10)
    assert w.state == "Progressing" and w.ro.step == 0
