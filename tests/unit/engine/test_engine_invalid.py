"""Bad input: an invalid spec or a template the API server refuses changes nothing in the cluster."""
from __future__ import annotations

from tests.unit.engine.sim import World, installed, passing, spec, start_rollout, template

BAD = "spec.steps: Value error, steps must increase: [10, 5]"


def test_an_invalid_spec_is_stalled_with_one_event_and_acts_on_nothing() -> None:
    w = installed(analysis=passing)
    before = w.status.model_copy(deep=True)
    w.spec_error = BAD
    w.generation += 1
    plans = [w.tick() for _ in range(5)]

    assert all(not p.act for p in plans)
    assert all(p.slots == () and p.traffic is None and w.emitted(p, "Notification") == [] for p in plans)
    assert w.events().count("InvalidSpec") == 1
    [event] = [e for p in plans for e in w.emitted(p)]
    assert event.type == "Warning" and event.message == BAD
    st = w.status
    assert st.phase == "InvalidSpec" and st.message == BAD
    assert w.kstatus() == ("False", "False", "True")
    stalled = w.condition("Stalled")
    assert stalled is not None and stalled.reason == "InvalidSpec" and stalled.message == BAD
    assert st.observed_generation == w.generation
    unchanged = ("stable", "canary", "previous", "rollout", "history", "acknowledged", "next_rollout_id",
                 "stalled_template_hash", "weight", "analysis")
    assert {k: getattr(st, k) for k in unchanged} == {k: getattr(before, k) for k in unchanged}


def test_a_different_invalid_spec_posts_a_new_event() -> None:
    w = installed()
    w.spec_error = BAD
    w.tick()
    w.spec_error = "spec.replicas: Input should be greater than or equal to 1"
    w.tick()
    w.tick()
    assert w.events().count("InvalidSpec") == 2


def test_the_prometheus_allow_list_reason_is_kept() -> None:
    w = installed()
    w.spec_error = "prometheus http://evil:9090 is not allowed by the operator's configuration"
    obs = w.observe()
    from dataclasses import replace

    from ripcord.engine.decide import decide
    plan = decide(replace(obs, spec=w.spec, spec_error_reason="PrometheusNotAllowed"))
    assert not plan.act
    cond = next(c for c in plan.status.conditions if c.type == "Stalled")
    assert cond.status == "True" and cond.reason == "PrometheusNotAllowed"


def test_an_invalid_spec_mid_rollout_freezes_it_and_fixing_it_resumes() -> None:
    w = installed(analysis=passing)
    start_rollout(w)
    w.run_until(lambda w: w.ro is not None and w.ro.step == 1, 60)
    step, slots = w.ro.step, dict(w.slots)
    w.spec_error = BAD
    w.run_for(60)
    assert w.ro.step == step and w.slots == slots and w.status.phase == "InvalidSpec"
    w.spec_error = None
    w.tick()
    assert w.status.phase == "Progressing" and w.kstatus() == ("Unknown", "True", "False")
    w.run_until(lambda w: w.status.rollout is None, 300)
    assert w.status.history[0].outcome == "Promoted"


def test_an_invalid_first_release_creates_nothing() -> None:
    w = World(spec=spec(), spec_error=BAD)
    plan = w.tick()
    assert not plan.act and plan.status.stable is None and plan.status.history == []
    assert w.slots == {} and w.selector is None


def test_a_refused_template_at_rest_starts_nothing() -> None:
    w = installed(analysis=passing)
    w.template_error = 'Deployment.apps "demo-dry-run" is invalid: spec.template.spec.containers[0].image: Required'
    start_rollout(w)
    plans = [w.tick() for _ in range(5)]
    st = w.status
    assert st.rollout is None and st.canary is None and len(st.history) == 1 and st.next_rollout_id == 2
    assert st.phase == "InvalidSpec" and w.kstatus() == ("False", "False", "True")
    cond = w.condition("Stalled")
    assert cond is not None and cond.reason == "InvalidSpec" and "image: Required" in cond.message
    assert w.events().count("InvalidSpec") == 1
    b = [next(s for s in p.slots if s.slot == "b") for p in plans]
    assert all(s.replicas == 0 and s.template is None for s in b)

    w.template_error = None  # fixed: a valid template this time
    start_rollout(w, "2.0.1")
    w.tick()
    assert w.state == "Progressing" and w.kstatus() == ("Unknown", "True", "False")


def test_a_refused_first_template_creates_nothing() -> None:
    w = World(spec=spec(), template_error="spec.template.spec.containers: Required value")
    plan = w.tick()
    assert plan.status.stable is None and plan.slots == () and plan.traffic is None
    assert plan.status.phase == "InvalidSpec" and w.kstatus() == ("False", "False", "True")


def test_a_refused_template_mid_rollout_keeps_the_running_canary() -> None:
    w = installed(analysis=passing)
    start_rollout(w)
    w.run_until(lambda w: w.ro is not None and w.ro.step == 1, 60)
    rid = w.ro.id
    w.template_error = "spec.template.spec.containers[0].image: Required value"
    w.edit(version="3.0.0", template=template("3.0.0"))
    plans = [w.tick() for _ in range(5)]
    assert w.ro.id == rid and w.status.history[0].outcome == "Progressing", "nothing superseded"
    assert w.status.canary is not None and w.status.canary.version != "3.0.0"
    assert w.status.phase == "InvalidSpec" and w.kstatus() == ("False", "False", "True")
    assert w.events().count("InvalidSpec") == 1
    assert all(next(s for s in p.slots if s.slot == "b").template is None for p in plans), \
        "the refused template is not applied"


def test_a_held_canary_behind_a_refused_template_still_rolls_back_on_a_breach() -> None:
    from ripcord.engine.observed import HealthBreach
    w = installed(analysis=passing)
    start_rollout(w)
    w.run_until(lambda w: w.ro is not None and w.ro.step == 1, 60)
    w.template_error = "spec.template.spec.containers[0].image: Required value"
    w.edit(version="3.0.0", template=template("3.0.0"))
    w.run_for(3)
    w.breach = HealthBreach(gate="CrashLoop", pod="demo-b-1", message="CrashLoopBackOff")
    w.tick()
    assert w.state == "RollingBack"


def test_fixing_a_refused_template_mid_rollout_supersedes() -> None:
    w = installed(analysis=passing)
    start_rollout(w)
    w.run_until(lambda w: w.ro is not None and w.ro.step == 1, 60)
    rid = w.ro.id
    w.template_error = "spec.template.spec.containers[0].image: Required value"
    w.edit(version="3.0.0", template=template("3.0.0"))
    w.run_for(3)
    w.template_error = None
    start_rollout(w, "3.0.1")
    w.tick()
    assert w.ro.id == rid + 1 and w.status.canary.version == "3.0.1"  # type: ignore[union-attr]
    assert w.status.history[1].outcome == "Superseded"
    assert w.status.phase == "Progressing"
