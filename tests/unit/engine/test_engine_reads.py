"""What the engine asks to read, and when it asks to be woken: the read plan and the schedule."""
from __future__ import annotations

import datetime as dt
from typing import Any, Callable

import pytest

from ripcord.engine.reads import plan_reads
from ripcord.engine.schedule import ROLLOUT_HEARTBEAT_S
from tests.unit.engine.sim import World, installed, passing, spec, start_rollout, unavailable


def reads(w: World):  # type: ignore[no-untyped-def]
    return plan_reads(w.status, w.spec, w.now, "demo")


def test_at_rest_only_the_template_is_hashed_and_nothing_else_is_read() -> None:
    w = installed(analysis=passing)
    r = reads(w)
    assert r.template and r.new_template_unless == frozenset({w.status.stable.template_hash})  # type: ignore[union-attr]
    assert (r.traffic, r.health, r.analysis, r.adopt) == (None, None, None, None)
    assert w.plans[-1].next_due is None  # nothing timed at rest: only the resync wakes it


def _recording(inner: Callable[[World], Any], into: list[tuple[float, float, int, float]]) -> Callable[[World], Any]:
    """The analysis ``inner``, recording (when it ran, the end of its evidence, the step, when the
    step's weight was served) each time."""
    def run(w: World) -> Any:
        r = reads(w)
        assert r.analysis is not None and w.ro is not None and w.ro.settled_at is not None
        served = dt.datetime.fromisoformat(w.ro.settled_at.replace("Z", "+00:00")).timestamp()
        into.append((w.now.timestamp(), r.analysis.until, w.ro.step, served))
        return inner(w)
    return run


def _long_steps() -> Any:
    return spec("1.0.0", analysis={"interval": "5s", "stepDuration": "60s", "maxDuration": "10m"})


def test_a_rollout_reads_the_data_plane_and_the_canary_pods_and_analyses_once_per_interval() -> None:
    seen: list[tuple[float, float, int, float]] = []
    w = installed(_long_steps(), analysis=_recording(passing, seen))
    start_rollout(w)
    w.run_until(lambda w: w.ro is not None and w.ro.settled_at is not None, 60)
    r = reads(w)
    assert r.traffic is not None and r.traffic.canary_slot == "b"
    assert r.health is not None and r.health.slot == "b"
    w.run_for(40, every=0.5)
    gaps = [b[0] - a[0] for a, b in zip(seen, seen[1:])]
    assert len(seen) in (7, 8) and all(2.5 <= g <= 7.5 for g in gaps), seen  # interval 5s: not once per tick


def test_a_hung_prometheus_is_asked_once_per_interval_not_on_every_tick() -> None:
    seen: list[tuple[float, float, int, float]] = []
    w = installed(_long_steps(), analysis=_recording(passing, seen))
    start_rollout(w)
    w.run_until(lambda w: w.ro is not None and w.ro.settled_at is not None, 60)
    w.analysis = _recording(unavailable, seen)
    w.run_for(40, every=0.5)
    gaps = [b[0] - a[0] for a, b in zip(seen, seen[1:])]
    assert len(seen) in (7, 8) and all(2.5 <= g <= 7.5 for g in gaps), seen
    assert w.condition("MetricsUnavailable").status == "True"  # type: ignore[union-attr]


def test_the_next_wake_is_the_rollouts_own_clock() -> None:
    w = installed(analysis=passing)
    start_rollout(w)
    w.run_until(lambda w: w.ro is not None and w.ro.settled_at is not None, 60)
    plan = w.plans[-1]
    assert plan.next_due is not None
    an = w.status.analysis
    assert an is not None and an.last_sample_at is not None
    due = dt.datetime.fromtimestamp(an.last_sample_at + 5, dt.timezone.utc)  # the next analysis
    assert plan.next_due <= due
    assert plan.next_due <= w.now + dt.timedelta(seconds=ROLLOUT_HEARTBEAT_S)


def test_a_new_template_is_checked_once_and_a_known_one_never() -> None:
    w = installed(analysis=passing)
    start_rollout(w)
    r = reads(w)
    assert w.desired_hash() not in r.new_template_unless  # type: ignore[operator]
    w.tick()
    assert w.desired_hash() in reads(w).new_template_unless  # type: ignore[operator]


def test_an_adopted_deployment_is_read_until_it_is_scaled_down_then_never() -> None:
    from ripcord.api.template import template_hash
    from ripcord.engine.observed import AdoptView
    from tests.unit.engine.sim import template
    legacy = template("1.0.0")
    s = spec("1.0.0", template=None, workloadRef={"name": "legacy"})
    w = World(spec=s, adopt=AdoptView(exists=True, template=legacy, template_hash=template_hash(legacy), replicas=3))
    assert reads(w).adopt == "legacy"
    w.run_until(lambda w: w.status.phase == "Stable", 60)
    w.run_for(3)
    assert w.adopt is not None and w.adopt.replicas == 0
    assert w.status.adopted == "legacy" and reads(w).adopt is None


def test_analyses_end_on_multiples_of_the_interval_so_releases_share_their_queries() -> None:
    """A step's first analysis comes one interval after its weight was served; the next ones end on
    multiples of the interval; the step's end is judged too, so a step passes on all its evidence."""
    seen: list[tuple[float, float, int, float]] = []
    w = installed(spec("1.0.0", analysis={"interval": "5s", "stepDuration": "22s", "maxDuration": "10m"}),
                  analysis=_recording(passing, seen))
    start_rollout(w)
    w.run_until(lambda w: w.ro is not None and w.ro.step == 1, 120, every=0.7)
    step0 = [until for _, until, step, _ in seen if step == 0]
    served = seen[0][3]
    assert step0[0] == pytest.approx(served + 5, abs=0.7), (served, step0)  # one interval of evidence, at once
    assert step0[-1] == pytest.approx(served + 22, abs=0.7) and step0[-1] % 5 != 0, (served, step0)  # the end
    assert step0[1:-1] and all(u % 5 == 0 for u in step0[1:-1]), step0  # in between, on the grid
