"""What a status change counts as: the pure half of the operator metrics."""
from __future__ import annotations

import copy
from typing import Any

from ripcord.telemetry.transitions import (Counted, Promoted, RollbackDecided, RolloutEnded, Verdict, parse_time,
                                          snapshot, transitions)

T0 = "2026-11-28T08:00:00Z"


def progressing(rid: int = 3, weight: int = 5) -> dict[str, Any]:
    return {
        "phase": "Progressing", "weight": weight, "effectiveWeight": 6.25,
        "rollout": {"id": rid, "state": "Progressing", "step": 0, "weight": weight,
                    "startedAt": T0, "stepStartedAt": T0},
        "history": [{"id": rid, "version": "2.0.0", "templateHash": "h2", "outcome": "Progressing",
                     "startedAt": T0}],
        "conditions": [{"type": "Ready", "status": "Unknown", "reason": "Progressing",
                        "lastTransitionTime": T0}],
    }


def rolling_back(rid: int = 3, kind: str = "Metric", at: str = "2026-11-28T08:00:12.5Z") -> dict[str, Any]:
    st = progressing(rid)
    st["phase"] = "RollingBack"
    st["rollout"].update(state="RollingBack", weight=0,
                         reason={"kind": kind, "message": "error-rate 0.2 > 0.02", "metric": "error-rate",
                                 "value": 0.2, "bound": "<= 0.02", "weight": 5, "at": at})
    return st


def rolled_back(rid: int = 3) -> dict[str, Any]:
    st = rolling_back(rid)
    reason = st["rollout"]["reason"]
    st.update(phase="RolledBack", rollout=None, weight=0, effectiveWeight=None)
    st["history"][0].update(outcome="RolledBack", endedAt="2026-11-28T08:00:20Z", reason=reason)
    return st


def test_unknown_old_counts_nothing_already_in_history() -> None:
    assert transitions(None, rolled_back()) == []


def test_rollback_decision_counts_once_with_detection_time() -> None:
    assert transitions(progressing(), rolling_back()) == [RollbackDecided(3, "Metric", 12.5, "error-rate")]
    # Finishing the rollback (the data plane drained) is not a second rollback, but it ends the rollout.
    assert transitions(rolling_back(), rolled_back()) == [RolloutEnded(3, "RolledBack", 20.0)]
    # The same status written twice (a retried reconcile) counts nothing.
    assert transitions(rolling_back(), rolling_back()) == []


def test_rollback_seen_only_in_history_still_counts() -> None:
    """Decided and drained within one reconcile: the history entry alone carries it."""
    assert transitions(progressing(), rolled_back()) == [RollbackDecided(3, "Metric", 12.5, "error-rate"),
                                                         RolloutEnded(3, "RolledBack", 20.0)]


def test_manual_abort_is_a_rollback_without_detection_time() -> None:
    assert transitions(progressing(), rolling_back(kind="Manual")) == [RollbackDecided(3, "Manual", None,
                                                                                       "error-rate")]


def test_promotion_and_end() -> None:
    before = progressing()
    after = copy.deepcopy(before)
    after.update(rollout=None, phase="Stable")
    after["history"][0].update(outcome="Promoted", endedAt="2026-11-28T08:05:00Z")
    assert transitions(before, after) == [Promoted(3, "2.0.0"), RolloutEnded(3, "Promoted", 300.0)]


def test_new_release_first_promotion() -> None:
    first = {"phase": "Stable", "history": [{"id": 1, "version": "1.0.0", "templateHash": "h1",
                                             "outcome": "Promoted", "startedAt": T0, "endedAt": T0}]}
    assert transitions({}, first) == [Promoted(1, "1.0.0"), RolloutEnded(1, "Promoted", 0.0)]


def test_verdicts_count_per_analysis_round() -> None:
    a = progressing()
    b = copy.deepcopy(a)
    b["analysis"] = {"at": "2026-11-28T08:00:10Z", "verdict": "Inconclusive",
                     "metrics": [{"name": "error-rate", "verdict": "Inconclusive"},
                                 {"name": "latency", "verdict": "Pass"}]}
    assert transitions(a, b) == [Verdict("error-rate", "Inconclusive"), Verdict("latency", "Pass")]
    assert transitions(b, b) == []  # same round


def analysed(at: str = "2026-11-28T08:00:10Z") -> dict[str, Any]:
    """An analysis round where the gateway saw the canary's refused connections (503 UF)."""
    st = progressing()
    st["analysis"] = {"at": at, "verdict": "Fail", "metrics": [
        {"name": "gateway-errors", "verdict": "Fail", "canaryRequests": 120.0, "canaryBad": 95.0,
         "stableRequests": 880.0, "stableBad": 2.0},
        {"name": "custom", "verdict": "Pass"}]}  # a custom metric has no counts
    return st


def test_counts_of_each_analysis_round() -> None:
    assert transitions(progressing(), analysed()) == [Verdict("gateway-errors", "Fail"), Verdict("custom", "Pass"),
                                                      Counted("gateway-errors", 120.0, 95.0, 880.0, 2.0)]
    assert transitions(analysed(), analysed()) == []  # the same round written twice counts once
    bad = analysed()
    bad["analysis"]["metrics"][0].update(canaryBad=500.0, stableRequests=-1)
    assert [h for h in transitions(progressing(), bad) if isinstance(h, Counted)] == []  # not counts


def test_lenient_reading() -> None:
    junk = {"history": "nope", "rollout": 5, "analysis": {"at": 1, "metrics": [None, {"name": "x"}]},
            "conditions": [{"status": "True"}], "weight": "high"}
    assert transitions({}, junk) == []
    snap = snapshot(junk)
    assert snap.weight == 0 and snap.conditions == {} and snap.rollout_started_at is None


def test_snapshot() -> None:
    snap = snapshot(progressing())
    assert (snap.phase, snap.weight, snap.effective_weight) == ("Progressing", 5, 6.25)
    assert snap.conditions == {"Ready": "Unknown"}
    assert snap.rollout_started_at == parse_time(T0)


def test_parse_time() -> None:
    assert parse_time("1970-01-01T00:01:00Z") == 60.0
    assert parse_time("1970-01-01T00:01:00.25+00:00") == 60.25
    assert parse_time("1970-01-01T00:01:00") == 60.0  # naive means UTC
    assert parse_time("yesterday") is None and parse_time(None) is None
