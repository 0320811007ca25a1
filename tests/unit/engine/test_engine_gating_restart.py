"""A restarted operator resumes gates, webhook calls, the mirror phase and pauses exactly where the status says.

The same script runs uninterrupted, with a new operator before every decision, and killed
right after (or right before) some status writes: the history must be the same, and no
question is asked twice that had its answer recorded.
"""
from __future__ import annotations

from collections import Counter
from typing import Any, Callable

import pytest

from ripcord.engine.calls import HookRead, Reply
from ripcord.engine.decide import decide
from tests.unit.engine.sim import (World, installed, kill_after_status_write, passing, restart_every_tick, spec,
                                   start_rollout, uninterrupted)
from tests.unit.engine.test_engine_gate import healthy, like_2_0_0

HOOKS = [{"name": n, "type": t, "url": f"http://hooks.test/{n}", "interval": "3s"} for n, t in (
    ("approve", "confirm-rollout"), ("smoke", "pre-rollout"), ("ramp", "confirm-traffic-increase"),
    ("hey", "load-test"), ("report", "post-rollout"))]


def spec_() -> Any:
    return spec("1.0.0", traffic={"provider": "gateway-api", "gatewayRef": {"name": "gw"},
                                  "mirror": {"percent": 10, "duration": "10s"}},
                gate={"requests": [{"path": "/health"}], "successes": 2, "interval": "2s"},
                webhooks=HOOKS, steps=[20, "pause 15s", 50], requireApproval=True)


def new_world(approve_at: dict[str, float]) -> World:
    """``approve_at``: when the confirm-rollout hook starts saying yes (a closure survives restarts)."""
    def answer(w: World, h: HookRead) -> Reply:
        return Reply(status=403) if h.name == "approve" and w.now.timestamp() < approve_at["t"] else Reply(status=200)
    return installed(spec_(), analysis=passing, hook_reply=answer, gate_reply=healthy)


def gate_reply(w: World, r: Any) -> Reply:
    return like_2_0_0(w, r) if w.spec.version == "2.0.0" else healthy(w, r)


def run(step: Callable[[World, int], World], limit: int = 2000) -> World:
    approve_at = {"t": 0.0}
    w = new_world(approve_at)
    w.gate_reply = gate_reply
    start_rollout(w, "2.0.0")  # rolled back by the gate
    phase = "bad"
    for i in range(limit):
        if phase == "bad" and w.status.rollout is None and w.status.last_outcome == "RolledBack":
            approve_at["t"] = w.now.timestamp() + 8
            start_rollout(w, "2.0.1")
            phase = "good"
        if phase == "good" and w.ro is not None and w.ro.awaiting_approval and "promote" not in w.requests:
            w.ask("promote", w.ro.id, "ok")
        if phase == "good" and w.status.rollout is None and w.status.last_outcome == "Promoted" and \
                not any(c.result in ("Pending", "Waiting") for c in w.status.webhooks):
            return w
        w = step(w, i)
    raise AssertionError(f"stuck: {w.status.phase} {w.status.message}")


def kill_before_status_write(every: int, offset: int) -> Callable[[World, int], World]:
    def step(w: World, i: int) -> World:
        if i % every == offset:
            decide(w.observe())  # decided, then killed: its calls went out, nothing was recorded
            return w.restarted()
        w.tick()
        return w
    return step


def summary(w: World) -> list[tuple[Any, ...]]:
    return [(h.id, h.version, h.outcome, h.weight_reached, h.reason.kind if h.reason else None)
            for h in w.status.history]


def events_once(w: World) -> None:
    for h in w.status.history:
        counts = Counter(t.event for t in h.timeline)
        for once in ("GateStarted", "GatePassed", "MirrorStarted", "MirrorPassed", "AwaitingApproval", "Promoted",
                     "RolledBack"):
            assert counts[once] <= 1, f"rollout {h.id}: {once} {counts[once]} times"
        assert counts["PauseStarted"] <= 1 and counts["PauseEnded"] <= 1
        passed = [t.message for t in h.timeline if t.event == "WebhookPassed"]
        assert len(passed) == len(set(passed)), f"rollout {h.id}: a webhook passed twice: {passed}"


EXPECTED = [(3, "2.0.1", "Promoted", 100, None), (2, "2.0.0", "RolledBack", 0, "Gate"),
            (1, "1.0.0", "Installed", 100, None)]


@pytest.fixture(scope="module")
def reference() -> World:
    return run(uninterrupted)


def test_the_gated_scenario_does_what_it_says(reference: World) -> None:
    w = reference
    assert summary(w) == EXPECTED
    events_once(w)
    good = w.status.history[0]
    order = [t.event for t in good.timeline if t.event in ("GateStarted", "GatePassed", "MirrorStarted", "MirrorPassed",
                                                           "StepStarted", "PauseStarted", "AwaitingApproval",
                                                           "Promoted")]
    assert order == ["GateStarted", "GatePassed", "MirrorStarted", "MirrorPassed", "StepStarted", "PauseStarted",
                     "StepStarted", "AwaitingApproval", "Promoted"]
    asked = Counter((c.rollout_id, c.name, c.key) for c in w.hook_calls)
    assert asked[(3, "smoke", "pre-rollout")] == 1 and asked[(3, "report", "post-rollout")] == 1
    assert asked[(2, "report", "post-rollout")] == 1, "told of the rollback too"
    assert asked[(3, "approve", "confirm-rollout")] >= 3, "asked again while it said no"


def test_a_new_operator_before_every_decision_changes_nothing(reference: World) -> None:
    w = run(restart_every_tick)
    assert w.status == reference.status
    assert [(c.name, c.key, c.attempt) for c in w.hook_calls] == \
        [(c.name, c.key, c.attempt) for c in reference.hook_calls], "the same questions, none twice"
    assert [(g.rollout_id, g.round) for g in w.gate_rounds] == [(g.rollout_id, g.round) for g in reference.gate_rounds]


@pytest.mark.parametrize("offset", [0, 3, 7])
def test_killed_after_the_status_write_resumes_without_asking_anything_twice(offset: int) -> None:
    w = run(kill_after_status_write(every=9, offset=offset))
    assert summary(w) == EXPECTED
    events_once(w)
    answered = Counter((c.rollout_id, c.name, c.key) for c in w.hook_calls if c.name in ("smoke", "report"))
    assert set(answered.values()) == {1}, f"a recorded answer was asked for again: {answered}"


@pytest.mark.parametrize("offset", [0, 5])
def test_killed_before_the_status_write_asks_again_only_what_was_never_recorded(offset: int) -> None:
    w = run(kill_before_status_write(every=7, offset=offset))
    assert summary(w) == EXPECTED
    events_once(w)
