"""A rolled-back template stays rolled back (Stalled), across restarts, until the template changes or retry."""
from __future__ import annotations

from ripcord.engine.observed import HealthBreach
from tests.unit.engine.sim import World, installed, passing, start_rollout, template


def rolled_back() -> World:
    w = installed(analysis=passing)
    start_rollout(w)
    w.run_until(lambda w: w.ro is not None and w.ro.step == 1 and w.ro.settled_at is not None, 120)
    w.breach = HealthBreach(gate="CrashLoop", pod="demo-b-1", message="CrashLoopBackOff")
    w.run_until(lambda w: w.status.rollout is None, 10)
    w.breach = None
    return w


def test_a_rolled_back_template_stays_stalled() -> None:
    w = rolled_back()
    w.run_for(120)
    st = w.status
    assert st.rollout is None and st.next_rollout_id == 3 and len(st.history) == 2
    assert st.phase == "RolledBack" and w.kstatus() == ("False", "False", "True")
    cond = w.condition("Stalled")
    assert cond is not None and "CrashLoop" in cond.message and "retry" in cond.message
    assert st.stable is not None and st.stable.version == "1.0.0"


def test_stalled_survives_an_operator_restart() -> None:
    w = rolled_back().restarted()
    before = len(w.events())
    w.run_for(60)
    assert w.status.rollout is None and w.status.next_rollout_id == 3
    assert w.status.phase == "RolledBack" and w.emitted(w.plans[0]) == []
    assert "RolloutStarted" not in w.events()[before:]


def test_reapplying_the_rolled_back_manifest_stays_stalled() -> None:
    w = rolled_back()
    w.edit(version="2.0.0", template=template("2.0.0"))  # the same again, e.g. a GitOps resync
    w.run_for(30)
    assert w.status.rollout is None and w.status.phase == "RolledBack"


def test_a_new_template_ends_the_stall() -> None:
    w = rolled_back()
    start_rollout(w, "2.0.1")
    w.tick()
    assert w.state == "Progressing" and w.status.canary is not None and w.status.canary.version == "2.0.1"
    assert w.kstatus() == ("Unknown", "True", "False")


def test_going_back_to_the_stable_template_ends_the_stall() -> None:
    w = rolled_back()
    w.edit(version="1.0.0", template=template("1.0.0"))
    w.tick()
    assert w.status.rollout is None and w.status.stalled_template_hash is None
    assert w.status.phase == "Stable" and w.kstatus() == ("True", "False", "False")


def test_after_a_newer_release_the_old_rolled_back_template_is_no_longer_stalled() -> None:
    """The stall lasts until the template changes; it is not a permanent ban on that template."""
    w = rolled_back()
    start_rollout(w, "2.0.1")
    w.tick()
    w.run_until(lambda w: w.status.rollout is None, 300)
    assert (w.status.history[0].version, w.status.history[0].outcome) == ("2.0.1", "Promoted")
    start_rollout(w, "2.0.0")
    w.tick()
    assert w.state == "Progressing" and w.status.canary is not None and w.status.canary.version == "2.0.0"
