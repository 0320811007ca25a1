"""Impact of one rollout in requests: what the canary served, and how much of it failed.

The post-mortem asks Prometheus for counts over the rollout's window, with the same
arithmetic the analysis uses (``ripcord.analysis.counters``) rather than ``increase()``:

* the canary's pods are new processes, so their series *start* inside the window; PromQL's
  ``increase()`` would drop everything before their first scrape, ``counter_deltas`` counts a
  series that appears as growth from 0;
* after a rollback the canary pods are gone and Prometheus marks their series stale, so an
  instant query at the end finds nothing. ``last_over_time(x[window])`` still returns the
  last real sample of each series (range selectors skip staleness markers).

The canary's requests are those the route sent to its backend (the slot's Service), whether
or not a pod answered, plus those its pods answered (``queries.selectors``): a request
refused, reset, timed out or left without a healthy upstream is a request that failed on
the canary, exactly as the analysis counts it.

Counts are a lower bound when a pod restarted (increments between its last scrape and the
restart are lost), which the report states.

The arithmetic is pure and tested with a fake :class:`QueryClient`; only :func:`measure`
talks to Prometheus, through whatever client it is given.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import math
import re
from typing import Optional, Sequence

from ripcord.analysis.counters import Sample, counter_deltas, error_matcher, request_counts, split
from ripcord.analysis.prometheus import MetricsUnavailable, QueryClient, QueryError
from ripcord.analysis.queries import APP, GATEWAY, SourceProfile, TemplateError, raw_series_query, workload_of
from ripcord.cli.render import Obj, dig, parse_time
from ripcord.contract import deployment_name, other_slot

#: Counters are read a little after the rollout ended, so the last requests are scraped.
SETTLE_S = 5.0
#: How far back the counters' values "before the rollout" may be found.
LOOKBACK_BEFORE_S = 300
_SLOT_IN_MESSAGE = re.compile(r"\bin slot ([ab])\b")


@dataclasses.dataclass(frozen=True)
class SourceImpact:
    """Requests and errors one metric source saw, per version, over the window."""

    source: str
    canary_requests: float
    canary_errors: float
    stable_requests: float
    stable_errors: float
    resets: int = 0

    @property
    def canary_ratio(self) -> Optional[float]:
        return self.canary_errors / self.canary_requests if self.canary_requests > 0 else None

    @property
    def stable_ratio(self) -> Optional[float]:
        return self.stable_errors / self.stable_requests if self.stable_requests > 0 else None

    @property
    def canary_share(self) -> Optional[float]:
        total = self.canary_requests + self.stable_requests
        return self.canary_requests / total if total > 0 else None

    @property
    def excess_errors(self) -> float:
        """Errors beyond what the stable's own error ratio predicts for the canary's requests."""
        base = self.stable_ratio or 0.0
        return max(0.0, self.canary_errors - self.canary_requests * base)


@dataclasses.dataclass(frozen=True)
class Impact:
    start: dt.datetime
    end: dt.datetime
    canary_deployment: str
    stable_deployment: str
    sources: tuple[SourceImpact, ...]
    notes: tuple[str, ...] = ()


def canary_slot(release: Obj, entry: Obj) -> Optional[str]:
    """The slot the rollout's canary ran in.

    History entries do not store it; the ``Started`` timeline entry says ``in slot X``. For the
    latest rollout after it ended, the canary was the slot that is not the stable one.
    """
    for t in entry.get("timeline") or []:
        if t.get("event") == "Started":
            m = _SLOT_IN_MESSAGE.search(t.get("message") or "")
            if m:
                return m.group(1)
    canary = dig(release, "status", "canary", "slot")
    history = dig(release, "status", "history", default=[])
    if canary and history and history[0].get("id") == entry.get("id"):
        return str(canary)
    stable = dig(release, "status", "stable", "slot")
    if stable and history and history[0].get("id") == entry.get("id"):
        return "b" if stable == "a" else "a"
    return None


def window(entry: Obj, now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    start = parse_time(entry.get("startedAt")) or now
    ended = parse_time(entry.get("endedAt"))
    end = min(now, ended + dt.timedelta(seconds=SETTLE_S)) if ended else now
    return start, max(start, end)


def profiles(release: Obj) -> list[SourceProfile]:
    """The app and gateway sources, with any ``metricPrefix`` the Release's metrics override."""
    out = {"app": APP, "gateway": GATEWAY}
    for m in dig(release, "spec", "analysis", "metrics", default=[]):
        src, prefix = m.get("source") or "app", m.get("metricPrefix")
        if prefix and src in out:
            try:
                out[src] = out[src].with_prefix(prefix)
            except TemplateError:
                pass
    return [out["app"], out["gateway"]]


def _lookback(seconds: float) -> str:
    return f"{max(1, math.ceil(seconds))}s"


def source_impact(profile: SourceProfile, before: Sequence[Sample], after: Sequence[Sample],
                  canary: str, stable: str) -> Optional[SourceImpact]:
    """Pure: counter samples before and after the window -> per-version counts (None: no data)."""
    deltas = counter_deltas(before, after)
    per = split(deltas, workload_of(profile, [canary, stable]))
    is_error = error_matcher(profile.code_label, profile.error_codes)
    c = request_counts(per.get(canary, []), is_error=is_error)
    s = request_counts(per.get(stable, []), is_error=is_error)
    if c.requests <= 0 and s.requests <= 0:
        return None
    return SourceImpact(profile.name, c.requests, c.errors, s.requests, s.errors, resets=c.resets + s.resets)


def measure(client: QueryClient, release: Obj, entry: Obj, now: dt.datetime, timeout: float = 10.0) -> Impact:
    """Query each source's request counters at both ends of the rollout's window."""
    ns, name = dig(release, "metadata", "namespace"), dig(release, "metadata", "name")
    slot = canary_slot(release, entry)
    if slot is None:
        raise LookupError(f"cannot tell which slot rollout {entry.get('id')} ran its canary in")
    canary, stable = deployment_name(name, slot), deployment_name(name, other_slot(slot))
    start, end = window(entry, now)
    span = (end - start).total_seconds() + 2 * SETTLE_S
    sources: list[SourceImpact] = []
    notes: list[str] = []
    for profile in profiles(release):
        def raw(lookback_s: float) -> str:
            return raw_series_query(profile.requests_metric, profile, ns, [canary, stable],
                                    lookback=_lookback(lookback_s))
        try:
            before = client.query(raw(LOOKBACK_BEFORE_S), start.timestamp(), timeout=timeout)
            after = client.query(raw(span), end.timestamp(), timeout=timeout)
        except (MetricsUnavailable, QueryError) as exc:
            notes.append(f"{profile.name}: {exc}")
            continue
        got = source_impact(profile, before, after, canary, stable)
        if got is None:
            notes.append(f"{profile.name}: no `{profile.requests_metric}` series for {canary} or {stable} "
                         "in the window")
        else:
            sources.append(got)
    return Impact(start, end, canary, stable, tuple(sources), tuple(notes))
