"""Rollback drills: the stable's own template to the first step, rolled back on purpose, the time to
restore measured; the version, the last outcome and the stalled state never change."""
from __future__ import annotations

from tests.unit.engine.sim import World, installed, passing, start_rollout


def drill(w: World, nonce: str = "d1") -> None:
    w.ask("drill", w.status.history[0].id, nonce)


def test_a_drill_goes_to_the_first_step_rolls_back_and_records_the_time_to_restore() -> None:
    w = installed(analysis=passing)
    stable_hash = w.status.stable.template_hash  # type: ignore[union-attr]
    drill(w)
    w.tick()
    assert w.state == "Progressing" and w.ro is not None and w.ro.drill
    assert w.status.canary is not None and w.status.canary.template_hash == stable_hash
    w.run_until(lambda w: w.status.rollout is None, 120)
    entry = w.status.history[0]
    assert entry.drill and entry.outcome == "Drilled" and entry.weight_reached == 5
    assert entry.reason is not None and entry.reason.kind == "Drill"
    assert entry.restore_seconds is not None and 0 <= entry.restore_seconds <= 5
    assert [e for e in w.events() if e.startswith("Drill")] == ["DrillStarted", "DrillRollingBack", "Drilled"]
    assert w.notifications() == [] and w.status.stalled_template_hash is None
    assert w.status.last_outcome == "Installed" and w.status.phase == "Stable"
    assert w.status.stable.template_hash == stable_hash  # type: ignore[union-attr]


def test_a_drill_is_refused_while_a_rollout_runs_or_a_template_change_waits() -> None:
    w = installed(analysis=passing)
    start_rollout(w)
    w.tick()
    drill(w)
    w.tick()
    assert w.ro is not None and not w.ro.drill
    assert "rollout 2 is in flight" in w.event_messages("DrillRefused")[0]

