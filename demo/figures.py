"""The demo's figures, from the gateway stand-in's record: pure functions, no I/O.

A record row is one second of what the clients of a load saw (``sandbox.gateway.record``)::

    {"t": 1764318000, "total": 50, "ok": 48, "failed": 2,
     "by_version": {"1.0.0": 48, "2.0.0": 2}, "failed_by_version": {"2.0.0": 2}, ...}

A row's ``t`` is the second ``[t, t+1)`` in which its requests *completed*. For one run
(Ripcord's, or the plain rolling update's) the figures are, over a fixed window that starts
when the faulty version was released:

* ``detect_s``: from the second that saw the faulty version's first answer to the detection
  (Ripcord: the rollback decision, ``history[].reason.at``; baseline: the rollout undo);
* ``restore_s``: from that same second to the first second after which every request of the
  window was answered by the stable version;
* ``failed_fraction``: requests that failed (status >= 500, the gateway's own 503/504
  included) over all requests of the window;
* ``canary_failed``: requests that failed on the canary's backend (Ripcord's run): those
  the faulty version answered with an error *and* those no pod answered (refused, reset,
  timed out, no healthy upstream) that were meant for the canary's Deployment
  (``failed_by_backend`` of the record). What the canary's clients saw, as the analysis
  and the post-mortem count it.

The third run (Ripcord with the pre-traffic gate) is measured the same way; its detection is
timed from the canary's Ready (``gated_detect_s``: the rollout's ``GateStarted``, the moment
the operator saw the canary Ready, to its rollback decision), because no user request ever
reached the faulty version: there is no first answer to count from.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Any, Iterable, Mapping, Optional, Sequence

Row = Mapping[str, Any]


@dataclasses.dataclass(frozen=True)
class Window:
    """``[start, end)`` in unix seconds; a row belongs to it if its second starts inside."""

    start: float
    end: float

    @property
    def length(self) -> float:
        return self.end - self.start

    def rows(self, rows: Iterable[Row]) -> list[Row]:
        first = math.floor(self.start)
        return [r for r in rows if first <= r["t"] < self.end]


@dataclasses.dataclass(frozen=True)
class RunFigures:
    """One run's figures (times in unix seconds, durations in seconds; None: did not happen)."""

    window: Window
    total: int
    failed: int
    faulty_answered: int  # requests the faulty version answered in the window
    faulty_failed: int
    first_faulty_t: Optional[float]  # the second that saw the faulty version's first answer
    detected_at: Optional[float]
    restored_t: Optional[float]  # first second from which every request is on the stable version
    canary_failed: Optional[int] = None  # failed on the canary's backend, answered or not (None: no such backend)

    @property
    def failed_fraction(self) -> Optional[float]:
        return self.failed / self.total if self.total else None

    @property
    def detect_s(self) -> Optional[float]:
        if self.first_faulty_t is None or self.detected_at is None:
            return None
        return self.detected_at - self.first_faulty_t

    @property
    def restore_s(self) -> Optional[float]:
        if self.first_faulty_t is None or self.restored_t is None:
            return None
        return self.restored_t - self.first_faulty_t


def window_length(offsets: Sequence[Optional[float]], tail_s: float) -> float:
    """One length for every run: the latest detection after its own release, plus ``tail_s``."""
    known = [o for o in offsets if o is not None]
    return (max(known) if known else 0.0) + tail_s


def first_answer_t(rows: Iterable[Row], version: str) -> Optional[float]:
    """The first second in which ``version`` answered a request."""
    for r in rows:
        if (r.get("by_version") or {}).get(version, 0) > 0:
            return float(r["t"])
    return None


def all_on(row: Row, version: str) -> bool:
    """Every request of the row was answered by ``version`` (an empty second counts as such)."""
    return (row.get("by_version") or {}).get(version, 0) == row["total"]


def restored_t(rows: Sequence[Row], stable: str, after: float) -> Optional[float]:
    """The first second ``>= after`` from which every request of ``rows`` is on ``stable``.

    None when the last row is still not on the stable version (not restored in the window)
    or when there are no rows from ``after`` on.
    """
    tail = [r for r in rows if r["t"] >= after]
    if not tail or not all_on(tail[-1], stable):
        return None
    t = float(tail[-1]["t"])
    for r in reversed(tail):
        if not all_on(r, stable):
            break
        t = float(r["t"])
    return t


def backend_failed(rows: Iterable[Row], backend: str) -> int:
    """Requests that failed on ``backend`` (a Deployment), whether or not a pod answered."""
    return sum(int((r.get("failed_by_backend") or {}).get(backend, 0)) for r in rows)


def run_figures(rows: Iterable[Row], window: Window, *, stable: str, faulty: str,
                detected_at: Optional[float], canary_backend: Optional[str] = None) -> RunFigures:
    """``canary_backend``: the canary's Deployment, for a run that has one (Ripcord's)."""
    inside = sorted(window.rows(rows), key=lambda r: r["t"])
    first = first_answer_t(inside, faulty)
    return RunFigures(
        window=window,
        total=sum(int(r["total"]) for r in inside),
        failed=sum(int(r["failed"]) for r in inside),
        faulty_answered=sum(int((r.get("by_version") or {}).get(faulty, 0)) for r in inside),
        faulty_failed=sum(int((r.get("failed_by_version") or {}).get(faulty, 0)) for r in inside),
        first_faulty_t=first,
        detected_at=detected_at,
        restored_t=restored_t(inside, stable, first) if first is not None else None,
        canary_failed=backend_failed(inside, canary_backend) if canary_backend else None,
    )


@dataclasses.dataclass(frozen=True)
class Point:
    """One second of a run for the chart: ``x`` seconds after the faulty release."""

    x: float
    faulty_share: float  # percent of the second's requests answered by the faulty version
    error_rate: float  # percent of the second's requests that failed


def series(rows: Iterable[Row], released_at: float, faulty: str, start: float, end: float) -> list[Point]:
    """Per-second points between ``start`` and ``end`` seconds from ``released_at`` (empty seconds skipped)."""
    out = []
    for r in sorted(rows, key=lambda r: r["t"]):
        x = r["t"] - released_at
        if not start <= x < end or not r["total"]:
            continue
        total = float(r["total"])
        out.append(Point(x, 100.0 * (r.get("by_version") or {}).get(faulty, 0) / total,
                         100.0 * r["failed"] / total))
    return out


def ready_to_decision_s(entry: Mapping[str, Any]) -> Optional[float]:
    """From the canary seen Ready (the gate's start) to the rollback decision, in a history entry."""
    from .timeline import parse_time
    started = next((t for t in entry.get("timeline") or [] if t.get("event") == "GateStarted"), None)
    reason = entry.get("reason") or {}
    if started is None or not reason.get("at"):
        return None
    return parse_time(reason["at"]) - parse_time(started["at"])


def summary_json(ripcord: RunFigures, baseline: RunFigures, *, promoted_version: Optional[str],
                 provider: str, gated: Optional[RunFigures] = None,
                 gated_detect_s: Optional[float] = None) -> dict[str, Any]:
    """The demo's last line, as a dict (rounded: 0.1 s, the gate's decision 0.01 s, fractions to 5 decimals)."""
    def s(v: Optional[float]) -> Optional[float]:
        return None if v is None else round(v, 1)

    def f(v: Optional[float]) -> Optional[float]:
        return None if v is None else round(v, 5)

    return {
        "ripcord_detect_s": s(ripcord.detect_s), "ripcord_restore_s": s(ripcord.restore_s),
        "ripcord_failed_fraction": f(ripcord.failed_fraction),
        "baseline_detect_s": s(baseline.detect_s), "baseline_restore_s": s(baseline.restore_s),
        "baseline_failed_fraction": f(baseline.failed_fraction),
        "gated_detect_s": None if gated_detect_s is None else round(gated_detect_s, 2), "gated_failed_fraction": f(gated.failed_fraction) if gated else None,
        "promoted_version": promoted_version, "provider": provider,
    }


SUMMARY_KEYS = ("ripcord_detect_s", "ripcord_restore_s", "ripcord_failed_fraction", "baseline_detect_s",
                "baseline_restore_s", "baseline_failed_fraction", "gated_detect_s", "gated_failed_fraction",
                "promoted_version", "provider")


@dataclasses.dataclass(frozen=True)
class Goal:
    name: str
    limit: float
    value: Optional[float]
    unit: str

    @property
    def met(self) -> bool:
        return self.value is not None and self.value <= self.limit


def goals(ripcord: RunFigures) -> list[Goal]:
    """The issue's goals for the Ripcord run: detection <= 10 s, restore <= 15 s, <= 1% failed."""
    frac = ripcord.failed_fraction
    return [Goal("detection", 10.0, ripcord.detect_s, "s"),
            Goal("restore", 15.0, ripcord.restore_s, "s"),
            Goal("failed requests", 1.0, None if frac is None else 100.0 * frac, "%")]


def gated_goals(gated: RunFigures, detect_s: Optional[float]) -> list[Goal]:
    """Issue 14's goals for the gated run: 0 failed user requests, the decision within 3 s of Ready."""
    return [Goal("failed user requests", 0.0, float(gated.failed) if gated.total else None, ""),
            Goal("detection from Ready", 3.0, detect_s, "s")]
