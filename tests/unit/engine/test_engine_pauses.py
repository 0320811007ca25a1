"""Pause steps (until resumed or for a duration) and approval before promotion."""
from __future__ import annotations

import datetime as dt
from typing import Any

from ripcord.engine.reads import plan_reads
from tests.unit.engine.sim import World, failing, installed, passing, spec, start_rollout


def world(steps: list[Any], **over: Any) -> World:
    w = installed(spec("1.0.0", steps=steps, **over), analysis=passing)
    start_rollout(w)
    w.tick()
    return w


def events(w: World) -> list[str]:
    return [t.event for t in w.status.history[0].timeline]


def test_a_pause_step_holds_after_the_step_it_follows_until_resumed() -> None:
    w = world([20, "pause", 50])
    w.run_until(lambda w: w.ro is not None and w.ro.pause is not None, 120)
    assert w.ro.weight == 20 and w.ro.pause.after_step == 0 and w.ro.pause.until is None  # type: ignore[union-attr]
    assert w.status.phase == "Paused" and w.condition("Ready").reason == "PauseStep"  # type: ignore[union-attr]
    assert w.status.activity == "2.0.0 at 20% paused", "kubectl get's NOW column"
    assert "until resumed (kubectl ripcord resume demo" in (w.status.message or "")
    analysed = w.analyses
    w.run_for(300)
    assert w.ro.weight == 20 and w.status.phase == "Paused", "held for as long as nobody resumes"  # type: ignore[union-attr]
    assert w.analyses > analysed, "the analysis keeps judging the canary while it is paused"
    w.ask("resume", w.ro.id)  # type: ignore[union-attr]
    w.run_until(lambda w: w.ro is not None and w.ro.weight == 50, 10)
    assert events(w).count("PauseStarted") == 1 and "PauseEnded" in events(w)
    w.run_until(lambda w: w.status.rollout is None, 300)
    assert w.status.history[0].outcome == "Promoted"
    assert events(w).count("PauseStarted") == 1, "a pause step passed once is not taken again"


def test_a_timed_pause_ends_by_itself() -> None:
    w = world([20, "pause 30s", 50])
    w.run_until(lambda w: w.ro is not None and w.ro.pause is not None, 120)
    started = w.now
    assert w.ro.pause.until is not None  # type: ignore[union-attr]
    assert w.plans[-1].next_due is not None and w.plans[-1].next_due <= started + dt.timedelta(seconds=30)
    w.run_until(lambda w: w.ro is not None and w.ro.weight == 50, 60)
    assert 29 <= (w.now - started).total_seconds() <= 32
    assert any("its 30s are over" in t.message for t in w.status.history[0].timeline if t.event == "PauseEnded")


def test_a_leading_pause_holds_the_canary_at_weight_zero() -> None:
    w = world(["pause", 20, 50])
    w.run_until(lambda w: w.ro is not None and w.ro.pause is not None, 60)
    assert w.ro.weight == 0 and w.ro.pause.after_step == -1 and w.status.phase == "Paused"  # type: ignore[union-attr]
    w.run_for(30)
    assert w.ro.weight == 0  # type: ignore[union-attr]
    w.ask("resume", w.ro.id)  # type: ignore[union-attr]
    w.run_until(lambda w: w.ro is not None and w.ro.weight == 20, 10)


def test_promote_ends_a_pause_step_with_a_promotion() -> None:
    w = world([20, "pause", 50])
    w.run_until(lambda w: w.ro is not None and w.ro.pause is not None, 120)
    w.ask("promote", w.ro.id)  # type: ignore[union-attr]
    w.run_until(lambda w: w.state == "Promoting", 10)


def test_a_failing_metric_rolls_back_a_paused_rollout() -> None:
    w = world([20, "pause", 50])
    w.run_until(lambda w: w.ro is not None and w.ro.pause is not None, 120)
    w.analysis = failing
    w.run_until(lambda w: w.status.rollout is None, 60)
    assert w.status.history[0].outcome == "RolledBack"


def test_existing_weight_lists_keep_working_without_pauses() -> None:
    w = world([5, 10, 25, 50])
    w.run_until(lambda w: w.status.rollout is None, 600)
    assert w.status.history[0].outcome == "Promoted" and "PauseStarted" not in events(w)


def test_approval_holds_promotion_until_promote() -> None:
    w = world([20, 50], requireApproval=True)
    w.run_until(lambda w: w.ro is not None and w.ro.awaiting_approval, 200)
    assert w.ro.weight == 50 and w.status.phase == "AwaitingApproval"  # type: ignore[union-attr]
    assert w.status.activity == "2.0.0 at 50% needs approval", "kubectl get's NOW column"
    assert w.condition("Ready").reason == "AwaitingApproval"  # type: ignore[union-attr]
    assert "kubectl ripcord promote demo" in (w.status.message or "")
    w.run_for(4000)
    assert w.state == "Progressing" and w.status.phase == "AwaitingApproval", \
        "waits for as long as it takes: a passed rollout waiting for approval is never held as NoVerdict"
    assert w.condition("NoVerdict").status == "False"  # type: ignore[union-attr]
    assert "AwaitingApproval" in w.events()
    w.ask("resume", w.ro.id)  # type: ignore[union-attr]
    w.run_for(5)
    assert w.status.phase == "AwaitingApproval", "resume ends pauses; approval needs promote"
    w.ask("promote", w.ro.id, nonce="n2")  # type: ignore[union-attr]
    w.run_until(lambda w: w.status.rollout is None, 120)
    assert w.status.history[0].outcome == "Promoted"


def test_pause_state_survives_a_restart() -> None:
    w = world([20, "pause 60s", 50])
    w.run_until(lambda w: w.ro is not None and w.ro.pause is not None, 120)
    started = w.now
    w2 = w.restarted()
    w2.run_until(lambda w: w.ro is not None and w.ro.weight == 50, 90)
    assert 59 <= (w2.now - started).total_seconds() <= 62, "the pause's end is in the status, not in memory"
    assert plan_reads(w2.status, w2.spec, w2.now, "demo").gate is None
