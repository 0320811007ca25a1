"""Manual requests through annotations (`<rollout-id>/<nonce>`) and pausing (annotation or spec.paused)."""
from __future__ import annotations

import pytest

from ripcord.engine.observed import HealthBreach
from tests.unit.engine.sim import World, installed, passing, spec, start_rollout


def at_step(w: World, step: int) -> None:
    w.run_until(lambda w: w.ro is not None and w.ro.step == step and w.ro.settled_at is not None, 120)


@pytest.fixture
def rolling() -> World:
    w = installed(analysis=passing)
    start_rollout(w)
    at_step(w, 1)
    return w


# ---------------------------------------------------------------- pause and resume

def test_pause_request_holds_the_weight_and_resume_moves_on(rolling: World) -> None:
    w = rolling
    w.ask("pause", w.ro.id, "p1")
    w.tick()
    assert w.ro.paused and w.status.acknowledged.pause == f"{w.ro.id}/p1"
    assert w.status.phase == "Paused" and w.kstatus() == ("Unknown", "True", "False")
    w.run_for(120)
    assert w.state == "Progressing" and w.ro.step == 1 and w.ro.weight == 10
    assert w.events().count("Paused") == 1

    w.ask("resume", w.ro.id, "r1")
    w.tick()
    assert not w.ro.paused and w.status.acknowledged.resume == f"{w.ro.id}/r1"
    w.run_until(lambda w: w.ro.step == 2, 30)
    assert [t.event for t in w.status.history[0].timeline if t.event in ("Paused", "Resumed")] == \
        ["Paused", "Resumed"]


def test_spec_paused_holds_the_weight_until_unset(rolling: World) -> None:
    w = rolling
    w.edit(paused=True)
    w.run_for(120)
    assert w.state == "Progressing" and w.ro.step == 1 and w.status.phase == "Paused"
    assert w.ro.id == 2 and len(w.status.history) == 2, "pausing is a settings edit, not a new rollout"
    w.edit(paused=False)
    w.run_until(lambda w: w.ro.step == 2, 30)


def test_paused_at_the_last_step_does_not_promote(rolling: World) -> None:
    w = rolling
    at_step(w, 3)
    w.edit(paused=True)
    w.run_for(120)
    assert w.state == "Progressing" and w.ro.step == 3


@pytest.mark.parametrize("how", ["annotation", "spec"])
def test_a_breach_while_paused_still_rolls_back(rolling: World, how: str) -> None:
    w = rolling
    if how == "annotation":
        w.ask("pause", w.ro.id)
    else:
        w.edit(paused=True)
    w.run_for(5)
    w.breach = HealthBreach(gate="CrashLoop", pod="demo-b-1", message="CrashLoopBackOff")
    w.tick()
    assert w.state == "RollingBack"
    w.run_until(lambda w: w.status.rollout is None, 5)
    assert w.status.history[0].outcome == "RolledBack"


def test_paused_before_the_first_step_keeps_weight_zero() -> None:
    w = installed(spec(paused=True), analysis=passing)
    start_rollout(w)
    w.run_for(60)
    assert w.state == "Progressing" and w.ro.weight == 0


# ---------------------------------------------------------------- abort

def test_abort_rolls_back_as_aborted_and_stays_stalled(rolling: World) -> None:
    w = rolling
    rid = w.ro.id
    w.ask("abort", rid, "a1")
    w.tick()
    assert w.state == "RollingBack" and w.ro.reason is not None and w.ro.reason.kind == "Manual"
    assert w.status.acknowledged.abort == f"{rid}/a1"
    w.run_until(lambda w: w.status.rollout is None, 5)
    st = w.status
    assert st.history[0].outcome == "Aborted" and st.last_outcome == "Aborted"
    assert st.phase == "Aborted" and w.kstatus() == ("False", "False", "True")
    assert st.stalled_template_hash == st.history[0].template_hash
    w.run_for(30)
    assert w.status.rollout is None and w.status.next_rollout_id == rid + 1


def test_a_repeated_identical_annotation_does_nothing_more(rolling: World) -> None:
    w = rolling
    rid = w.ro.id
    w.ask("abort", rid, "a1")
    w.run_until(lambda w: w.status.rollout is None, 10)
    w.ask("retry", rid, "t1")
    w.tick()
    assert w.state == "Progressing" and w.ro.id == rid + 1
    events = list(w.events())
    w.run_for(30)  # the abort annotation is still there, unchanged
    assert w.state == "Progressing" and w.ro.id == rid + 1
    assert [e for e in w.events()[len(events):] if e in ("Aborting", "StaleRequest", "RetryRequested")] == []


def test_a_stale_abort_naming_an_older_rollout_does_not_touch_the_current_one() -> None:
    w = installed(analysis=passing)
    start_rollout(w)
    at_step(w, 1)
    old = w.ro.id
    start_rollout(w, "3.0.0")  # rollout `old` is superseded
    w.tick()
    assert w.ro.id == old + 1
    w.ask("abort", old, "late")  # written for the older rollout, arrives now
    w.tick()
    assert w.state == "Progressing" and w.ro.id == old + 1 and w.ro.reason is None
    assert w.status.acknowledged.abort == f"{old}/late"
    [msg] = w.event_messages("StaleRequest")
    assert f"rollout {old}" in msg and f"current one is {old + 1}" in msg
    w.run_until(lambda w: w.status.rollout is None, 300)
    assert w.status.history[0].outcome == "Promoted"


def test_abort_with_a_malformed_value_is_ignored_with_an_event(rolling: World) -> None:
    w = rolling
    w.ask("abort", None, "x")  # "None/x": no rollout id
    w.tick()
    assert w.state == "Progressing" and "InvalidRequest" in w.events()
    assert "<rollout-id>/<nonce>" in w.event_messages("InvalidRequest")[0]


def test_a_request_at_rest_is_acknowledged_and_ignored() -> None:
    w = installed(analysis=passing)
    w.ask("promote", 1, "p")
    w.tick()
    assert w.status.acknowledged.promote == "1/p" and w.status.rollout is None
    assert w.events().count("StaleRequest") == 1
    w.run_for(5)
    assert w.events().count("StaleRequest") == 1


# ---------------------------------------------------------------- promote

def test_promote_request_skips_the_remaining_steps(rolling: World) -> None:
    w = rolling
    w.ask("promote", w.ro.id, "go")
    w.tick()
    assert w.state == "Promoting" and w.ro.promote_requested
    assert w.status.acknowledged.promote == f"{w.ro.id}/go"
    w.run_until(lambda w: w.status.rollout is None, 60)
    entry = w.status.history[0]
    assert entry.outcome == "Promoted" and entry.step_reached == 2
    assert any(t.event == "PromoteRequested" for t in entry.timeline)


def test_promote_before_the_canary_serves_switches_only_once_it_is_ready() -> None:
    w = installed(analysis=None, unready={"b"})
    start_rollout(w)
    w.tick()
    w.ask("promote", w.ro.id)
    w.run_for(10)
    assert w.state == "Promoting", "a manual promote skips the steps, even from a paused step 0"
    w.unready.clear()
    w.run_until(lambda w: w.state == "Watching", 10)


def test_a_stale_promote_does_not_promote_the_next_rollout() -> None:
    w = installed(analysis=None)
    start_rollout(w)
    w.tick()
    first = w.ro.id
    start_rollout(w, "3.0.0")
    w.tick()
    w.ask("promote", first)
    w.run_for(30)
    assert w.state == "Progressing" and not w.ro.promote_requested


# ---------------------------------------------------------------- retry

def test_retry_rolls_the_rolled_back_template_out_again(rolling: World) -> None:
    w = rolling
    w.breach = HealthBreach(gate="CrashLoop", pod="demo-b-1", message="CrashLoopBackOff")
    w.run_until(lambda w: w.status.rollout is None, 10)
    w.breach = None
    rolled_back = w.status.history[0].id
    w.run_for(30)
    assert w.status.rollout is None and w.status.phase == "RolledBack"

    w.ask("retry", rolled_back, "again")
    w.tick()
    assert w.state == "Progressing" and w.ro.id == rolled_back + 1
    assert w.status.acknowledged.retry == f"{rolled_back}/again"
    assert w.status.stalled_template_hash is None
    assert "RetryRequested" in w.events()
    w.run_until(lambda w: w.status.rollout is None, 300)
    assert w.status.history[0].outcome == "Promoted"


def test_retry_naming_another_rollout_is_stale(rolling: World) -> None:
    w = rolling
    w.breach = HealthBreach(gate="CrashLoop", pod="demo-b-1", message="CrashLoopBackOff")
    w.run_until(lambda w: w.status.rollout is None, 10)
    w.breach = None
    w.ask("retry", 1, "wrong")
    w.tick()
    assert w.status.rollout is None and w.status.phase == "RolledBack"
    assert "StaleRequest" in w.events()


def test_retry_while_a_rollout_runs_is_stale(rolling: World) -> None:
    w = rolling
    w.ask("retry", w.ro.id, "t")
    w.tick()
    assert w.state == "Progressing" and w.ro.id == 2 and "StaleRequest" in w.events()


def test_abort_while_promoting_rolls_back() -> None:
    w = installed(spec(replicas=6, traffic={"provider": "gateway-api", "gatewayRef": {"name": "gw"}}),
                  analysis=passing)
    start_rollout(w)
    w.ready_cap["b"] = 3
    w.run_until(lambda w: w.state == "Promoting", 300)
    w.ask("abort", w.ro.id)
    w.tick()
    assert w.state == "RollingBack" and w.status.stable.slot == "a"  # type: ignore[union-attr]
    w.run_until(lambda w: w.status.rollout is None, 5)
    assert w.status.history[0].outcome == "Aborted"


def test_abort_before_any_traffic_is_done_at_once() -> None:
    w = installed(analysis=passing, unready={"b"})
    start_rollout(w)
    w.run_for(3)
    w.ask("abort", w.ro.id)
    w.tick()
    assert w.state == "RollingBack"
    w.tick()
    assert w.status.rollout is None and w.status.history[0].outcome == "Aborted"
