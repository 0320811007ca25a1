"""Restarts: the engine keeps nothing in memory, so a restarted operator resumes exactly where it was.

One long scenario (promotion, a pod-health rollback, retry, pause/resume, supersede, a stale abort,
a breach in the post-promotion watch, no verdict then a manual promote) is run:
- uninterrupted;
- with a new operator before every decision, rebuilt from the recorded status alone (identical result);
- killed after the status write and before acting, at many points (same outcomes, nothing twice);
- killed before the status write, at many points (same outcomes, nothing twice).
"""
from __future__ import annotations

import datetime as dt
from typing import Any, Callable

import pytest

from ripcord.api.models import MetricResult
from ripcord.engine.decide import decide
from ripcord.engine.observed import AnalysisResult, HealthBreach
from tests.unit.engine.sim import (World, check_recordable, inconclusive, kill_after_status_write, passing,
                                   restart_every_tick, spec, start_rollout, uninterrupted)

Pred = Callable[[World], bool]
Act = Callable[[World], None]


def settled_at(rid: int, step: int) -> Pred:
    return lambda w: w.ro is not None and w.ro.id == rid and w.ro.step == step and w.ro.settled_at is not None


def at_rest_after(version: str) -> Pred:
    return lambda w: w.status.rollout is None and bool(w.status.history) and w.status.history[0].version == version


def failing_latency(w: World) -> AnalysisResult:
    m = MetricResult(name="latency", verdict="Fail", value=2.5, bound="<= 2 x stable")
    return AnalysisResult(verdict="Fail", metrics=(m,), failing=m)


def set_(attr: str, value: Any) -> Act:
    return lambda w: setattr(w, attr, value)


def wait(ticks: int) -> tuple[Pred, Act]:
    box = {"left": ticks}

    def pred(w: World) -> bool:
        box["left"] -= 1
        return box["left"] <= 0
    return pred, lambda w: None


def script() -> list[tuple[Pred, Act]]:
    return [
        (lambda w: w.status.phase == "Stable", lambda w: start_rollout(w, "2.0.0")),
        (at_rest_after("2.0.0"), lambda w: start_rollout(w, "3.0.0")),
        (settled_at(3, 1), set_("breach", HealthBreach(gate="CrashLoop", pod="demo-a-1", message="back-off"))),
        (at_rest_after("3.0.0"), set_("breach", None)),
        wait(10),
        (lambda w: True, lambda w: w.ask("retry", 3, "t1")),
        (settled_at(4, 1), lambda w: w.ask("pause", 4, "p1")),
        wait(20),
        (lambda w: True, lambda w: w.ask("resume", 4, "r1")),
        (settled_at(4, 2), lambda w: start_rollout(w, "5.0.0")),
        (lambda w: w.ro is not None and w.ro.id == 5, lambda w: w.ask("abort", 4, "late")),
        (lambda w: w.state == "Watching", set_("analysis", failing_latency)),
        (at_rest_after("5.0.0"), set_("analysis", inconclusive)),
        wait(5),
        (lambda w: True, lambda w: start_rollout(w, "6.0.0")),
        (lambda w: w.ro is not None and w.ro.id == 6 and w.ro.held, lambda w: w.ask("promote", 6, "go")),
        (at_rest_after("6.0.0"), lambda w: None),
        wait(5),
    ]


def new_world() -> World:
    return World(spec=spec(analysis={"interval": "5s", "stepDuration": "10s", "postPromotionWatch": "20s",
                                     "maxDuration": "3m"}), analysis=passing)


def run(step: Callable[[World, int], World], limit: int = 3000) -> tuple[World, list[str]]:
    """Drive the script; ``step(world, i)`` performs tick ``i`` and returns the world to carry on with."""
    w = new_world()
    events: list[str] = []
    todo = script()
    for i in range(limit):
        if not todo:
            return w, events
        pred, act = todo[0]
        if pred(w):
            act(w)
            todo.pop(0)
        w = step(w, i)
        events.extend(e.reason for e in (w.emitted(w.plans[-1]) if w.plans else ()))
        w.plans.clear()
    raise AssertionError(f"script stuck at step {len(script()) - len(todo)}: {w.status.phase} {w.status.message}")


def kill_before_status_write(every: int, offset: int) -> Callable[[World, int], World]:
    def step(w: World, i: int) -> World:
        if i % every == offset:
            decide(w.observe())  # decided, then killed: nothing recorded, nothing done
            w.now += dt.timedelta(seconds=1)
            return w.restarted()
        w.tick()
        return w
    return step


def summary(w: World) -> list[tuple[Any, ...]]:
    return [(h.id, h.version, h.outcome, h.step_reached, h.weight_reached, h.reason.kind if h.reason else None,
             h.reason.metric if h.reason else None) for h in w.status.history]


EXPECTED = [
    (6, "6.0.0", "Promoted", 4, 100, None, None),
    (5, "5.0.0", "RolledBack", 4, 100, "PostPromotionWatch", "latency"),
    (4, "3.0.0", "Superseded", 3, 25, "Superseded", None),
    (3, "3.0.0", "RolledBack", 2, 10, "PodHealth", "CrashLoop"),
    (2, "2.0.0", "Promoted", 4, 100, None, None),
    (1, "1.0.0", "Installed", 0, 100, None, None),
]


def check_nothing_twice(w: World) -> None:
    ids = [h.id for h in w.status.history]
    assert len(ids) == len(set(ids)), "a history entry was recorded twice"
    for h in w.status.history:
        steps = [int(t.message.split()[1].rstrip(":")) for t in h.timeline if t.event == "StepStarted"]
        assert steps == list(range(1, len(steps) + 1)), f"rollout {h.id}: steps {steps}"
        for once in ("Started", "Promoting", "Switched", "Promoted", "RolledBack", "Superseded", "NoVerdict",
                     "Paused", "Resumed", "RollingBack"):
            assert [t.event for t in h.timeline].count(once) <= 1, f"rollout {h.id}: {once} twice"


@pytest.fixture(scope="module")
def reference() -> tuple[World, list[str]]:
    return run(uninterrupted)


def test_the_scenario_does_what_it_says(reference: tuple[World, list[str]]) -> None:
    w, events = reference
    assert summary(w) == EXPECTED
    check_nothing_twice(w)
    st = w.status
    assert st.stable is not None and st.stable.version == "6.0.0" and st.phase == "Stable"
    assert st.acknowledged.abort == "4/late" and st.acknowledged.promote == "6/go"
    assert events.count("StaleRequest") == 1 and events.count("NoVerdict") == 1


def test_a_new_operator_before_every_decision_changes_nothing(reference: tuple[World, list[str]]) -> None:
    w, events = run(restart_every_tick)
    assert w.status == reference[0].status
    assert events == reference[1]


@pytest.mark.parametrize("offset", [0, 4, 9])
def test_killed_after_the_status_write_resumes_without_doing_anything_twice(offset: int) -> None:
    w, events = run(kill_after_status_write(every=13, offset=offset))
    check_recordable(w.status, w.generation)
    assert summary(w) == EXPECTED
    check_nothing_twice(w)
    assert w.status.phase == "Stable"


@pytest.mark.parametrize("offset", [0, 6])
def test_killed_before_the_status_write_resumes_without_doing_anything_twice(offset: int) -> None:
    w, events = run(kill_before_status_write(every=11, offset=offset))
    assert summary(w) == EXPECTED
    check_nothing_twice(w)


def test_killed_after_every_status_write_at_each_step_of_a_rollout() -> None:
    """Each decision is recorded, then the operator dies before acting; the next one redoes the acting."""
    w = new_world()
    w.run_until(lambda w: w.status.phase == "Stable", 10)
    start_rollout(w, "2.0.0")
    for _ in range(400):
        w.tick(crash=True)
        w = w.restarted()
        w.tick()
        if w.status.rollout is None:
            break
    assert [(h.version, h.outcome) for h in w.status.history] == [("2.0.0", "Promoted"), ("1.0.0", "Installed")]
    check_nothing_twice(w)
