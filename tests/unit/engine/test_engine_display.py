"""The printer columns' words: NOW says what is happening (the canary's weight only while there is
one), LAST how the last rollout ended and why; both short enough for an 80-column terminal."""
from __future__ import annotations

from ripcord.api.models import MetricResult
from ripcord.engine.observed import AnalysisResult, HealthBreach
from ripcord.engine.summary import ACTIVITY_MAX, LAST_MAX
from tests.unit.engine.sim import installed, passing, start_rollout, template

FAIL = MetricResult(name="error-rate", verdict="Fail", value=0.21, stable_value=0.01, bound="<= 2 x stable")


def test_at_rest_now_is_empty_and_last_says_the_install() -> None:
    w = installed(analysis=passing)
    st = w.status
    assert (st.activity, st.last, st.canary_weight) == (None, "installed 1.0.0", None)


def test_during_a_rollout_now_names_the_canary_and_its_weight() -> None:
    w = installed(analysis=passing)
    start_rollout(w)
    w.run_until(lambda w: w.ro is not None and w.ro.weight == 10, 120)
    assert w.status.activity == "2.0.0 at 10%" and w.status.canary_weight == 10
    w.run_until(lambda w: w.state == "Watching", 300)
    assert w.status.activity == "watching 2.0.0" and w.status.canary_weight is None
    w.run_until(lambda w: w.status.rollout is None, 120)
    assert (w.status.activity, w.status.last, w.status.canary_weight) == (None, "promoted 2.0.0", None)


def test_a_rollback_says_why_in_a_few_words() -> None:
    w = installed(analysis=passing)
    start_rollout(w)
    w.run_until(lambda w: w.ro is not None and w.ro.settled_at is not None, 60)
    w.analysis = lambda w: AnalysisResult(verdict="Fail", metrics=(FAIL,), failing=FAIL)
    w.run_until(lambda w: w.status.rollout is None, 60)
    assert w.status.last == "rolled back 2.0.0: error-rate 21%"
    assert w.status.activity == "stalled: retry or change"


def test_a_pod_health_rollback_names_the_gate_and_everything_stays_short() -> None:
    w = installed(analysis=passing)
    w.edit(version="2.0.0-a-very-long-prerelease-label+build.20260129.1430", template=template("2.0.0"))
    w.tick()
    w.breach = HealthBreach(gate="CrashLoop", pod="demo-b-1", message="crash looping")
    w.run_until(lambda w: w.status.rollout is None, 60)
    assert w.status.last is not None and w.status.last.startswith("rolled back 2.0.0-a-very")
    assert len(w.status.last) <= LAST_MAX and len(w.status.activity or "") <= ACTIVITY_MAX
