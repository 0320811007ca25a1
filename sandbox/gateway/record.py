"""What every client saw, second by second: the record the demo and benchmarks read.

A request is counted in the second it *completed* (when its client saw the outcome), so
a second's row is final as soon as that second is over and can be written at once; a
timed-out request therefore lands ``timeout_s`` after it was sent. One JSON object per
line, one line per second of the load's life (empty seconds included, so gaps show)::

    {"t": 1764318000, "total": 100, "ok": 95, "failed": 5,
     "by_code": {"200": 95, "500": 5}, "by_flags": {},
     "by_version": {"1.0.0": 95, "2.0.0": 5}, "by_workload": {"web-a": 95, "web-b": 5},
     "by_service": {"web-a": 95, "web-b": 5}, "failed_by_version": {"2.0.0": 5},
     "failed_by_service": {"web-b": 5}, "latency_ms_p50": 1.2, "latency_ms_p99": 4.8}

``failed`` counts status >= 500, which includes the gateway's own 503s (UF refused, UC
reset, UH no healthy upstream, UO overflow) and 504 (UT: timeout). ``by_version`` is the
``X-App-Version`` header, or ``"none"`` when no app answered; ``by_workload`` the
Deployment of the pod the request was sent to, or ``"none"`` when none was; ``by_service``
the Service the route (or the load) sent it to, answered or not, or ``"none"`` (no route).
``failed_by_service`` is what each backend's clients saw fail, including the requests no
pod answered. ``by_backend``/``failed_by_backend`` key each request by the Deployment it was
meant for: the pod's, or, when no pod could be picked, the Service the route chose (Ripcord
names a slot's Service like its Deployment), else ``"none"``: a canary's share of what
clients saw fail, whichever provider routed it. Latency percentiles cover every request of the second (nearest rank,
milliseconds), ``null`` for an empty second.
"""

from __future__ import annotations

import json
import math
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

MAX_GAP_S = 3600  # after a long stall (e.g. a suspended machine) emit at most this many empty rows


@dataclass(frozen=True)
class Outcome:
    t: float  # unix time the outcome was seen
    code: int
    latency_ms: float
    flags: str = ""
    version: str = "none"
    workload: str = "none"
    service: str = "none"

    @property
    def backend(self) -> str:
        """The Deployment the request was meant for (see the module docstring)."""
        return self.workload if self.workload != "none" else self.service


@dataclass
class _Second:
    by_code: Counter = field(default_factory=Counter)
    by_flags: Counter = field(default_factory=Counter)
    by_version: Counter = field(default_factory=Counter)
    by_workload: Counter = field(default_factory=Counter)
    by_service: Counter = field(default_factory=Counter)
    by_backend: Counter = field(default_factory=Counter)
    failed_by_version: Counter = field(default_factory=Counter)
    failed_by_service: Counter = field(default_factory=Counter)
    failed_by_backend: Counter = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    failed: int = 0

    def add(self, o: Outcome) -> None:
        self.by_code[str(o.code)] += 1
        if o.flags:
            self.by_flags[o.flags] += 1
        self.by_version[o.version] += 1
        self.by_workload[o.workload] += 1
        self.by_service[o.service] += 1
        self.by_backend[o.backend] += 1
        if o.code >= 500:
            self.failed += 1
            self.failed_by_version[o.version] += 1
            self.failed_by_service[o.service] += 1
            self.failed_by_backend[o.backend] += 1
        self.latencies.append(o.latency_ms)

    def row(self, t: int) -> dict[str, Any]:
        total = len(self.latencies)
        lat = sorted(self.latencies)
        return {
            "t": t, "total": total, "ok": total - self.failed, "failed": self.failed,
            "by_code": dict(self.by_code), "by_flags": dict(self.by_flags),
            "by_version": dict(self.by_version), "by_workload": dict(self.by_workload),
            "by_service": dict(self.by_service), "by_backend": dict(self.by_backend),
            "failed_by_version": dict(self.failed_by_version), "failed_by_service": dict(self.failed_by_service),
            "failed_by_backend": dict(self.failed_by_backend),
            "latency_ms_p50": percentile(lat, 50), "latency_ms_p99": percentile(lat, 99),
        }


def percentile(sorted_values: list[float], p: float) -> float | None:
    """Nearest-rank percentile of already sorted values, rounded to 0.01 ms."""
    if not sorted_values:
        return None
    i = max(0, math.ceil(p / 100.0 * len(sorted_values)) - 1)
    return round(sorted_values[i], 2)


class Aggregator:
    """Accumulates outcomes per second and hands out the rows of finished seconds."""

    def __init__(self, start: float) -> None:
        self.next_t = int(start)  # the first second not yet handed out
        self.open: dict[int, _Second] = {}

    def add(self, o: Outcome) -> None:
        s = max(int(o.t), self.next_t)  # a clock step backwards must not reopen a closed row
        sec = self.open.get(s)
        if sec is None:
            sec = self.open[s] = _Second()
        sec.add(o)

    def close_until(self, now: float, include_current: bool = False) -> list[dict[str, Any]]:
        """Rows of every second before ``now`` (and of ``now``'s own second if asked)."""
        end = int(now) + (1 if include_current else 0)
        if end - self.next_t > MAX_GAP_S:
            self.next_t = end - MAX_GAP_S
            self.open = {t: s for t, s in self.open.items() if t >= self.next_t}
        rows = []
        for t in range(self.next_t, end):
            rows.append((self.open.pop(t, None) or _Second()).row(t))
        self.next_t = max(self.next_t, end)
        return rows


class RecordFile:
    """Appends rows to ``<dir>/<load>.jsonl`` and flushes them, so readers see them live."""

    def __init__(self, path: Path, truncate: bool) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._f = open(path, "w" if truncate else "a", encoding="utf-8")

    def write(self, rows: Iterable[dict[str, Any]]) -> None:
        lines = "".join(json.dumps(r, separators=(",", ":"), sort_keys=True) + "\n" for r in rows)
        if lines:
            self._f.write(lines)
            self._f.flush()

    def close(self) -> None:
        self._f.close()


def read_rows(path: Path | str, since: int | None = None, limit: int | None = None) -> list[dict[str, Any]]:
    """Rows of a record file with ``t >= since`` (the last ``limit`` of them if given).

    A line still being written (no newline yet) is skipped.
    """
    if not os.path.exists(path):
        return []
    rows = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if not line.endswith("\n"):
                break
            row = json.loads(line)
            if since is None or row["t"] >= since:
                rows.append(row)
    return rows[-limit:] if limit else rows


def summarize(rows: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Add rows up: totals and merged per-key counts (for tests, the demo, reports)."""
    out: dict[str, Any] = {"seconds": 0, "total": 0, "ok": 0, "failed": 0}
    merged: dict[str, Counter] = {k: Counter() for k in
                                  ("by_code", "by_flags", "by_version", "by_workload", "by_service",
                                   "by_backend", "failed_by_version", "failed_by_service", "failed_by_backend")}
    for r in rows:
        out["seconds"] += 1
        for k in ("total", "ok", "failed"):
            out[k] += r[k]
        for k, c in merged.items():
            c.update(r.get(k) or {})
    out.update({k: dict(c) for k, c in merged.items()})
    return out
