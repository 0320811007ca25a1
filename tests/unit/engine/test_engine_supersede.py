"""A template change mid-rollout: supersede, or (back to the stable's template) an immediate revert."""
from __future__ import annotations

from tests.unit.engine.sim import gateway_spec, installed, passing, start_rollout, template


def mid_rollout(step: int = 2, **kw):  # type: ignore[no-untyped-def]
    w = installed(kw.pop("s", None), analysis=passing, **kw)
    start_rollout(w)
    w.run_until(lambda w: w.ro is not None and w.ro.step == step and w.ro.settled_at is not None, 120)
    return w


def test_a_new_template_mid_rollout_supersedes_the_running_canary() -> None:
    w = mid_rollout(step=2)
    old_id = w.ro.id
    w.unready.add("b")  # the new canary's pods take a while
    start_rollout(w, "3.0.0")
    plan = w.tick()

    st = plan.status
    assert st.rollout is not None and st.rollout.id == old_id + 1 and st.rollout.state == "Progressing"
    assert st.rollout.weight == 0 and st.rollout.step == 0
    assert st.canary is not None and st.canary.version == "3.0.0" and st.canary.slot == "b"
    new, old = st.history[0], st.history[1]
    assert (new.id, new.outcome, new.version) == (old_id + 1, "Progressing", "3.0.0")
    assert (old.id, old.outcome, old.version) == (old_id, "Superseded", "2.0.0")
    assert old.ended_at is not None and old.step_reached == 3 and old.weight_reached == 25
    assert old.timeline[-1].event == "Superseded"
    assert st.last_outcome == "Superseded"
    assert plan.traffic is not None and plan.traffic.weight == 0, "no traffic to the slot while its template changes"
    canary = next(s for s in plan.slots if s.slot == "b")
    assert canary.template == w.spec.template and canary.version == "3.0.0"
    assert "Superseded" in w.events() and w.events().count("RolloutStarted") == 2

    w.run_for(30)
    assert w.ro.id == old_id + 1 and w.ro.weight == 0, "weight stays 0 until the new canary is ready"
    w.unready.clear()
    w.run_until(lambda w: w.ro.weight == 5, 5)
    w.run_until(lambda w: w.status.rollout is None, 300)
    assert [(h.version, h.outcome) for h in w.status.history] == \
        [("3.0.0", "Promoted"), ("2.0.0", "Superseded"), ("1.0.0", "Installed")]


def test_a_new_template_while_promoting_supersedes() -> None:
    w = installed(gateway_spec(replicas=6), analysis=passing)
    start_rollout(w)
    w.ready_cap["b"] = 3
    w.run_until(lambda w: w.state == "Promoting", 120)
    start_rollout(w, "3.0.0")
    w.tick()
    assert w.state == "Progressing" and w.ro.id == 3 and w.ro.weight == 0
    assert w.status.history[1].outcome == "Superseded"


def test_template_back_to_the_stables_reverts_at_once_without_a_stall() -> None:
    w = mid_rollout(step=2)
    rid = w.ro.id
    w.edit(version="1.0.0", template=template("1.0.0"))
    plan = w.tick()
    assert w.state == "RollingBack" and w.ro.weight == 0 and w.ro.reason is not None
    assert w.ro.reason.kind == "Reverted"
    assert plan.traffic is not None and plan.traffic.weight == 0

    w.run_until(lambda w: w.status.rollout is None, 5)
    st = w.status
    entry = st.history[0]
    assert (entry.id, entry.outcome) == (rid, "Superseded")
    assert entry.reason is not None and entry.reason.kind == "Reverted"
    assert st.stalled_template_hash is None, "a revert is not a rollback: nothing stays stalled"
    assert st.stable is not None and st.stable.version == "1.0.0" and st.stable.slot == "a"
    assert st.next_rollout_id == rid + 1, "going back to the stable starts no rollout"
    w.tick()
    assert st.phase == "Stable" and w.kstatus() == ("True", "False", "False")
    assert not any(n.reason == "rollback" for p in w.plans for n in w.emitted(p, "Notification"))
    assert "Reverting" in w.events()


def test_revert_takes_no_steps_even_while_paused() -> None:
    w = mid_rollout(step=1)
    w.ask("pause", w.ro.id)
    w.tick()
    w.edit(template=template("1.0.0"))
    w.tick()
    assert w.state == "RollingBack"
    w.run_until(lambda w: w.status.rollout is None, 5)
    assert w.status.history[0].outcome == "Superseded"
