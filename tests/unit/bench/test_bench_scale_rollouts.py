"""bench-scale: what a Release's status says about a rollout (outcome, first step, lateness)."""
from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from bench.scale.rollouts import AnalysisMark, analysis_lateness, first_step_delay, mark, outcome
from bench.scale.scenario import is_bad, manifest

T0 = dt.datetime(2026, 6, 1, 12, 0, 0, tzinfo=dt.timezone.utc).timestamp()


def iso(t: float) -> str:
    return dt.datetime.fromtimestamp(t, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")[:-5] + "Z"


def status(**kw: Any) -> dict[str, Any]:
    return {"history": [
        {"id": 3, "outcome": kw.get("outcome", "Progressing"), "timeline": [
            {"at": iso(T0 + 0.5), "event": "Started"}, {"at": iso(T0 + 2.25), "event": "StepStarted"},
            {"at": iso(T0 + 30), "event": "StepStarted"}]},
        {"id": 2, "outcome": "Promoted", "timeline": []}]}


def test_outcome_and_first_step() -> None:
    assert outcome(status(), 3) is None
    assert outcome(status(outcome="RolledBack"), 3) == "RolledBack"
    assert outcome(status(), 2) == "Promoted"
    assert outcome(status(), 9) is None
    assert first_step_delay(status(), 3, T0) == pytest.approx(2.25, abs=0.01)
    assert first_step_delay(status(), 2, T0) is None


def _st(rid: int, last: float, at: float | None, verdict: str | None = "Pass") -> dict[str, Any]:
    an: dict[str, Any] = {"lastSampleAt": iso(last), "verdict": verdict}
    if at is not None:
        an["at"] = iso(at)
    return {"rollout": {"id": rid}, "analysis": an}


def test_mark_tells_an_analysis_run_from_a_step_settling() -> None:
    assert mark({"analysis": {"lastSampleAt": T0}}) is None  # at rest
    assert mark(_st(3, T0, None)) == AnalysisMark(3, T0, False)  # weight settled: the clock starts
    assert mark(_st(3, T0 + 10.5, T0 + 10.5)) == AnalysisMark(3, T0 + 10.5, True)
    assert mark(_st(3, T0 + 10.5, T0 + 3.0)) == AnalysisMark(3, T0 + 10.5, False)  # `at` of an older run
    assert mark(_st(3, T0 + 10.5, T0 + 10.5, verdict="Unavailable")) == AnalysisMark(3, T0 + 10.5, False)
    older = {"rollout": {"id": 3}, "analysis": {"lastSampleAt": T0 + 10.5, "at": iso(T0 + 10.5), "verdict": "Pass"}}
    assert mark(older) == AnalysisMark(3, T0 + 10.5, True)  # unix seconds, as older operators wrote it


def test_lateness_of_each_analysis_against_its_due_time() -> None:
    marks = [AnalysisMark(3, T0, False),  # settled at T0: due at T0 + 10
             AnalysisMark(3, T0 + 10.4, True),  # 0.4 s late
             AnalysisMark(3, T0 + 10.4, True),  # the same analysis seen again
             AnalysisMark(3, T0 + 21.0, True),  # 0.6 s late
             AnalysisMark(3, T0 + 25.0, False),  # next step settled
             AnalysisMark(3, T0 + 35.0, True),  # on time
             AnalysisMark(4, T0 + 50.0, True)]  # another rollout: no due time known
    assert analysis_lateness(marks, 10.0) == pytest.approx([0.4, 0.6, 0.0])


def test_scenario_manifest_and_bad_share() -> None:
    body = manifest("r0001", "2.0.0", 3)
    c = body["spec"]["template"]["spec"]["containers"][0]
    assert c["image"] == "ripcord/virtual-app:2.0.0"
    assert {"name": "BENCH_ROUND", "value": "3"} in c["env"]
    assert body["metadata"]["labels"] == {"bench.ripcord.dev/scale": "true"}
    assert body["spec"]["analysis"]["interval"] == "10s"
    assert [is_bad(i, 5) for i in range(10)].count(True) == 2
