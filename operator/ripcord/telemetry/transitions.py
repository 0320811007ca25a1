"""What happened between two statuses of one Release: the pure half of the metrics.

The engine records every transition in ``status`` before acting, so comparing the status
before a reconcile with the status it writes tells exactly what that reconcile decided:
a rollback (with its reason and how long the canary ran before it was caught), a
promotion, a rollout that ended, a round of analysis verdicts. Counting from status
changes (rather than from code paths in the engine) keeps the counting testable without
a cluster, and an operator restart never counts a past event twice: the restarted
process sees the stored status as "before", so history already there is not new.

Statuses are taken in their wire form (``ReleaseStatus.wire()``, or the dict Kopf hands
over) and read leniently: telemetry must never fail a reconcile over a field it does not
know.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Mapping, Optional, Union

from ripcord.api import times

Status = Mapping[str, Any]

# Reasons that are a person's decision, not a detection by the operator.
MANUAL_REASONS = frozenset({"Manual", "Reverted"})
ENDED_OUTCOMES = frozenset({"Promoted", "RolledBack", "Superseded", "Aborted", "Failed"})


@dataclasses.dataclass(frozen=True)
class RollbackDecided:
    """The engine pulled traffic back from a canary (status.rollout.state became RollingBack)."""

    rollout_id: int
    reason: str  # RollbackReason.kind: Metric, PodHealth, Manual, MetricsUnavailable, PostPromotionWatch, Reverted
    detection_seconds: Optional[float]  # rollout start -> the rollback decision; None for manual reasons
    metric: Optional[str] = None


@dataclasses.dataclass(frozen=True)
class Promoted:
    rollout_id: int
    version: str


@dataclasses.dataclass(frozen=True)
class RolloutEnded:
    rollout_id: int
    outcome: str  # HistoryEntry.outcome
    duration_seconds: Optional[float]


@dataclasses.dataclass(frozen=True)
class Verdict:
    metric: str
    verdict: str  # Pass, Fail, Inconclusive, Unavailable


@dataclasses.dataclass(frozen=True)
class Counted:
    """One analysis interval's counts of a metric: requests sent to each side (answered or
    not: a gateway's refused, reset, timed-out and no-upstream failures included), and of
    those the errors (or slow requests)."""

    metric: str
    canary_requests: float
    canary_bad: float
    stable_requests: float
    stable_bad: float


Happening = Union[RollbackDecided, Promoted, RolloutEnded, Verdict, Counted]


def _count(value: Any) -> Optional[float]:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0 else None


@dataclasses.dataclass(frozen=True)
class Snapshot:
    """The gauges' view of one status."""

    phase: Optional[str]
    weight: int
    effective_weight: Optional[float]
    conditions: Mapping[str, str]  # type -> "True" | "False" | "Unknown"
    rollout_started_at: Optional[float]  # unix seconds; None at rest


def parse_time(text: Any) -> Optional[float]:
    """RFC 3339 (``2026-11-28T08:00:00.12Z``) to unix seconds; None when absent or unreadable."""
    t = times.parse_time(text) if isinstance(text, str) else None
    return t.timestamp() if t is not None else None


def _map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Mapping[str, Any]]:
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []


def _span(start: Any, end: Any) -> Optional[float]:
    a, b = parse_time(start), parse_time(end)
    return None if a is None or b is None else max(0.0, b - a)


def _rolled_back(status: Status) -> dict[int, tuple[Mapping[str, Any], Any]]:
    """Rollout ids this status shows as rolled back (or rolling back): id -> (reason, start)."""
    out: dict[int, tuple[Mapping[str, Any], Any]] = {}
    for entry in _list(status.get("history")):
        reason = _map(entry.get("reason"))
        if reason and entry.get("outcome") in ENDED_OUTCOMES - {"Promoted"} and isinstance(entry.get("id"), int):
            out[entry["id"]] = (reason, entry.get("startedAt"))
    ro = _map(status.get("rollout"))
    if ro.get("state") == "RollingBack" and isinstance(ro.get("id"), int):
        out[ro["id"]] = (_map(ro.get("reason")), ro.get("startedAt"))
    return out


def _history(status: Status) -> dict[int, Mapping[str, Any]]:
    return {e["id"]: e for e in _list(status.get("history")) if isinstance(e.get("id"), int)}


def transitions(old: Optional[Status], new: Status) -> list[Happening]:
    """Everything ``new`` records that ``old`` did not, in a stable order.

    ``old=None`` means "not known" (e.g. the first sight of a Release after a restart
    without its previous status): nothing is derived, so nothing already in history is
    counted again. An empty mapping means an empty status (a new Release).
    """
    if old is None:
        return []
    out: list[Happening] = []

    before = _rolled_back(old)
    for rid, (reason, started) in sorted(_rolled_back(new).items()):
        if rid in before:
            continue
        kind = str(reason.get("kind") or "Unknown")
        detection = None if kind in MANUAL_REASONS else _span(started, reason.get("at"))
        metric = reason.get("metric") if isinstance(reason.get("metric"), str) else None
        out.append(RollbackDecided(rid, kind, detection, metric))

    old_hist, new_hist = _history(old), _history(new)
    for rid, entry in sorted(new_hist.items()):
        prev = old_hist.get(rid, {})
        if entry.get("outcome") == "Promoted" and prev.get("outcome") != "Promoted":
            out.append(Promoted(rid, str(entry.get("version", ""))))
        if entry.get("endedAt") and not prev.get("endedAt"):
            out.append(RolloutEnded(rid, str(entry.get("outcome", "Unknown")),
                                    _span(entry.get("startedAt"), entry.get("endedAt"))))

    new_an, old_an = _map(new.get("analysis")), _map(old.get("analysis"))
    if new_an.get("at") and new_an.get("at") != old_an.get("at"):
        for m in _list(new_an.get("metrics")):
            if m.get("name") and m.get("verdict"):
                out.append(Verdict(str(m["name"]), str(m["verdict"])))
        for m in _list(new_an.get("metrics")):
            counts = [_count(m.get(k)) for k in ("canaryRequests", "canaryBad", "stableRequests", "stableBad")]
            if m.get("name") and all(c is not None for c in counts):
                cr, cb, sr, sb = (c or 0.0 for c in counts)
                out.append(Counted(str(m["name"]), cr, min(cb, cr), sr, min(sb, sr)))
    return out


def snapshot(status: Status) -> Snapshot:
    ro = _map(status.get("rollout"))
    eff = status.get("effectiveWeight")
    weight = status.get("weight")
    return Snapshot(
        phase=status.get("phase") if isinstance(status.get("phase"), str) else None,
        weight=int(weight) if isinstance(weight, (int, float)) else 0,
        effective_weight=float(eff) if isinstance(eff, (int, float)) else None,
        conditions={str(c["type"]): str(c.get("status", "Unknown"))
                    for c in _list(status.get("conditions")) if c.get("type")},
        rollout_started_at=parse_time(ro.get("startedAt")) if ro else None,
    )
