"""The post-promotion watch: a breach moves traffic straight back to the warm previous stable."""
from __future__ import annotations

import pytest

from ripcord.api.models import MetricResult
from ripcord.engine.observed import AnalysisResult, HealthBreach
from tests.unit.engine.sim import World, gateway_spec, installed, passing, spec, start_rollout, template


def watching(make_spec=spec) -> World:  # type: ignore[no-untyped-def]
    w = installed(make_spec(), analysis=passing)
    start_rollout(w)
    w.run_until(lambda w: w.state == "Watching", 300)
    w.tick()
    return w


def slot(plan, name):  # type: ignore[no-untyped-def]
    return next(s for s in plan.slots if s.slot == name)


def breach(w: World) -> None:
    w.breach = HealthBreach(gate="Restarts", pod="demo-b-1", message="4 restarts")


def fail(w: World) -> None:
    m = MetricResult(name="latency", verdict="Fail", value=1.8, bound="<= 0.5s", message="p99")
    w.analysis = lambda w: AnalysisResult(verdict="Fail", metrics=(m,), failing=m)


@pytest.mark.parametrize("make_spec", [spec, gateway_spec], ids=["replicas", "gateway-api"])
@pytest.mark.parametrize("cause", [breach, fail], ids=["pod-health", "analysis"])
def test_a_breach_in_the_watch_moves_traffic_straight_back_to_the_previous_stable(make_spec, cause) -> None:  # type: ignore[no-untyped-def]
    w = watching(make_spec)
    assert w.status.stable.slot == "b" and w.status.previous.slot == "a"  # type: ignore[union-attr]
    cause(w)
    w.run_until(lambda w: w.state == "RollingBack", 10)
    plan = w.plans[-1]
    st = plan.status
    assert st.stable is not None and st.stable.slot == "a" and st.stable.version == "1.0.0", \
        "the warm previous stable is the stable again"
    assert st.canary is not None and st.canary.slot == "b" and st.previous is None
    assert plan.traffic is not None and (plan.traffic.stable_slot, plan.traffic.weight) == ("a", 0)
    assert slot(plan, "a").replicas == 3, "no rollback waits for cold pods"
    assert slot(plan, "b").replicas == 3, "the failing version keeps its pods until traffic is off it"
    assert st.rollout is not None and st.rollout.reason is not None
    assert st.rollout.reason.kind == "PostPromotionWatch" and st.rollout.reason.weight == 100

    w.run_until(lambda w: w.status.rollout is None, 5)
    st = w.status
    entry = st.history[0]
    assert (entry.version, entry.outcome) == ("2.0.0", "RolledBack")
    assert entry.reason is not None and entry.reason.kind == "PostPromotionWatch"
    assert st.last_outcome == "RolledBack" and st.phase == "RolledBack"
    assert st.stalled_template_hash == entry.template_hash
    plan = w.tick()
    assert slot(plan, "b").replicas == 0 and slot(plan, "a").replicas == 3


def test_watch_rollback_reason_names_the_metric() -> None:
    w = watching()
    fail(w)
    w.run_until(lambda w: w.state == "RollingBack", 10)
    r = w.ro.reason
    assert r is not None and (r.metric, r.value, r.bound) == ("latency", 1.8, "<= 0.5s")


@pytest.mark.parametrize("make_spec", [spec, gateway_spec], ids=["replicas", "gateway-api"])
def test_abort_in_the_watch_is_done_only_once_the_data_plane_has_moved(make_spec) -> None:  # type: ignore[no-untyped-def]
    w = watching(make_spec)
    w.ask("abort", w.ro.id)
    w.tick()
    assert w.state == "RollingBack", "the data plane still sends everything to 2.0.0: not rolled back yet"
    assert w.status.stable.slot == "a"  # type: ignore[union-attr]
    w.run_until(lambda w: w.status.rollout is None, 5)
    assert w.status.history[0].outcome == "Aborted"


def test_abort_in_the_watch_holds_while_the_data_plane_lags() -> None:
    w = watching(gateway_spec)
    w.frozen_traffic = True
    w.ask("abort", w.ro.id)
    w.run_for(20)
    assert w.state == "RollingBack" and w.ro.effective_weight == 100.0
    w.frozen_traffic = False
    w.run_until(lambda w: w.status.rollout is None, 5)
    assert w.status.history[0].outcome == "Aborted"


def test_metrics_unavailable_in_the_watch_do_not_roll_back() -> None:
    w = watching()
    w.analysis = lambda w: AnalysisResult(verdict="Unavailable", error="down")
    w.run_until(lambda w: w.status.rollout is None, 60)
    assert w.status.history[0].outcome == "Promoted"


def test_a_new_template_during_the_watch_promotes_and_starts_the_next_rollout() -> None:
    w = watching()
    start_rollout(w, "3.0.0")
    w.tick()
    st = w.status
    assert [(h.version, h.outcome) for h in st.history[:2]] == [("3.0.0", "Progressing"), ("2.0.0", "Promoted")]
    assert st.stable is not None and st.stable.version == "2.0.0" and st.stable.slot == "b"
    assert st.canary is not None and st.canary.slot == "a" and st.previous is None


def test_reverting_the_template_during_the_watch_rolls_out_the_old_version_again() -> None:
    w = watching()
    w.edit(version="1.0.0", template=template("1.0.0"))
    w.tick()
    assert w.state == "Progressing" and w.status.canary is not None and w.status.canary.version == "1.0.0"
    assert w.status.history[1].outcome == "Promoted"


@pytest.mark.parametrize("make_spec", [spec, gateway_spec], ids=["replicas", "gateway-api"])
def test_the_previous_stable_keeps_its_pods_while_the_data_plane_still_sends_it_traffic(make_spec) -> None:  # type: ignore[no-untyped-def]
    w = installed(make_spec(), analysis=passing)
    start_rollout(w)
    w.run_until(lambda w: w.state == "Promoting", 300)
    w.frozen_traffic = True  # the switch to the new stable does not reach the data plane
    w.run_for(120)
    assert w.status.previous is not None, "the watch does not end while the previous stable serves traffic"
    assert all(slot(p, "a").replicas == 3 for p in w.plans[-120:]), "never scaled to zero while it serves"
    assert w.status.history[0].outcome == "Progressing"
    w.frozen_traffic = False
    w.run_until(lambda w: w.status.rollout is None, 10)
    assert w.status.history[0].outcome == "Promoted"
    assert slot(w.tick(), "a").replicas == 0


def test_a_new_template_does_not_cut_the_watch_short_while_the_previous_stable_serves() -> None:
    w = installed(gateway_spec(), analysis=passing)
    start_rollout(w)
    w.run_until(lambda w: w.state == "Promoting", 300)
    w.frozen_traffic = True
    w.run_for(3)
    start_rollout(w, "3.0.0")
    w.run_for(10)
    assert w.state == "Watching" and w.status.previous is not None
    assert all(slot(p, "a").template is None and slot(p, "a").replicas == 3 for p in w.plans[-10:])
    w.frozen_traffic = False
    w.run_until(lambda w: w.ro is not None and w.ro.id == 3, 10)
