"""Counter arithmetic: raw cumulative samples at two instants -> exact per-interval counts.

Pure functions, no I/O. The analysis reads every matching series *raw* (no ``rate()``,
no ``increase()``, no ``sum``) at two aligned timestamps and does the arithmetic here,
because the usual PromQL shortcuts lie in exactly the cases a canary hits:

* ``sum(rate(x[1m]))`` sums *before* reset handling is visible to us and extrapolates, so
  a canary pod that restarts, or a pod that appears mid-window, skews the count.
* An error series does not exist until the first error: ``errors / requests`` in PromQL
  is then an empty vector (no data) although the truth is 0 errors.
* Deltas of instant samples telescope: the evidence of successive intervals adds up to
  exactly the counter's growth, each request counted once.

Rules (per series, identified by its full label set):

* present at both instants: ``now - prev``; if ``now < prev`` the counter was reset
  (process restart) and the delta is ``now`` (the increments before the reset that were
  never scraped are unknowable and lost, as in Prometheus' own ``increase``);
* present only now: the series started inside the interval (a new pod, or the first
  error of a code), so it grew from 0: the delta is ``now``;
* present only before: the target went away; it adds nothing;
* a reset is a property of a process, not of one series: when any series of a scrape
  target (same ``job``/``instance``/``pod``) went down, every series of that target is
  treated as reset, which also catches series whose new value happens to exceed the old.
"""
from __future__ import annotations

import dataclasses
import math
import re
from typing import Callable, Iterable, Mapping, Sequence

Labels = Mapping[str, str]
LabelKey = tuple[tuple[str, str], ...]

#: Labels that identify one scrape target (one process whose counters reset together).
RESET_GROUP_LABELS: tuple[str, ...] = ("job", "instance", "pod")

#: Pod label values that name no pod: a request the data plane could not deliver (refused,
#: timed out, no healthy upstream) has an empty pod label, or Istio's ``"unknown"``. Such
#: series count in a workload's totals but never as a pod of their own.
NO_POD: frozenset[str] = frozenset({"", "unknown"})


def pod_of(labels: Labels, pod_label: str | None) -> str | None:
    """The pod a series was served by, or None (no pod label, or a value in :data:`NO_POD`)."""
    if not pod_label:
        return None
    pod = labels.get(pod_label, "")
    return None if pod in NO_POD else pod


def label_key(labels: Labels) -> LabelKey:
    return tuple(sorted(labels.items()))


@dataclasses.dataclass(frozen=True)
class Sample:
    """One series' cumulative value at one instant."""

    labels: Labels
    value: float


@dataclasses.dataclass(frozen=True)
class Delta:
    """One series' growth over the interval."""

    labels: Labels
    value: float
    reset: bool = False


def _usable(v: float) -> bool:
    return not math.isnan(v) and not math.isinf(v) and v >= 0


def _group(labels: Labels, group_labels: Sequence[str]) -> tuple[str, ...] | None:
    present = tuple(labels.get(name, "") for name in group_labels)
    return present if any(present) else None


def counter_deltas(prev: Iterable[Sample], now: Iterable[Sample], *,
                   group_labels: Sequence[str] = RESET_GROUP_LABELS) -> list[Delta]:
    """Per-series growth from ``prev`` to ``now`` with per-series and per-target resets.

    NaN, infinite and negative values are not counter values and are ignored (the series
    is treated as absent at that instant).
    """
    before: dict[LabelKey, float] = {label_key(s.labels): s.value for s in prev if _usable(s.value)}
    after = [(label_key(s.labels), s) for s in now if _usable(s.value)]

    reset_groups: set[tuple[str, ...]] = set()
    for key, s in after:
        if key in before and s.value < before[key]:
            group = _group(s.labels, group_labels)
            if group is not None:
                reset_groups.add(group)

    out: list[Delta] = []
    for key, s in after:
        if key not in before:
            out.append(Delta(s.labels, s.value))
            continue
        reset = s.value < before[key] or _group(s.labels, group_labels) in reset_groups
        out.append(Delta(s.labels, s.value if reset else s.value - before[key], reset))
    return out


def split(deltas: Iterable[Delta], owner: Callable[[Labels], str | None]) -> dict[str, list[Delta]]:
    """Group deltas by the workload ``owner`` assigns each series to (None: dropped)."""
    out: dict[str, list[Delta]] = {}
    for d in deltas:
        name = owner(d.labels)
        if name is not None:
            out.setdefault(name, []).append(d)
    return out


# ------------------------------------------------------------------------- requests

@dataclasses.dataclass(frozen=True)
class RequestCounts:
    """Requests and errors of one workload over one interval.

    ``requests == 0`` means *no data*: nothing can be said about the error rate. Errors
    with no error series at all are 0, not missing.
    """

    requests: float
    errors: float
    per_pod: Mapping[str, tuple[float, float]] = dataclasses.field(default_factory=dict)
    resets: int = 0

    @property
    def has_data(self) -> bool:
        return self.requests > 0

    @property
    def error_ratio(self) -> float | None:
        return self.errors / self.requests if self.requests > 0 else None


def error_matcher(code_label: str, error_codes: str) -> Callable[[Labels], bool]:
    """A predicate: is this series an error series (its code label fully matches)."""
    pattern = re.compile(error_codes)
    return lambda labels: bool(pattern.fullmatch(labels.get(code_label, "")))


def request_counts(deltas: Iterable[Delta], *, is_error: Callable[[Labels], bool],
                   pod_label: str | None = None) -> RequestCounts:
    """Sum a workload's request deltas, counting those of error series as errors.

    Every delta counts in the totals; ``per_pod`` holds only series naming a real pod, so a
    request no pod answered never makes up a pod (whose spread the judge would then model).
    """
    requests = errors = 0.0
    resets = 0
    per_pod: dict[str, list[float]] = {}
    for d in deltas:
        bad = d.value if is_error(d.labels) else 0.0
        requests += d.value
        errors += bad
        resets += d.reset
        pod = pod_of(d.labels, pod_label)
        if pod is not None:
            acc = per_pod.setdefault(pod, [0.0, 0.0])
            acc[0] += d.value
            acc[1] += bad
    return RequestCounts(requests, errors, {p: (r, e) for p, (r, e) in sorted(per_pod.items())}, resets)


# ------------------------------------------------------------------------ histograms

@dataclasses.dataclass(frozen=True)
class Histogram:
    """Cumulative bucket counts of one interval, ``(upper bound, count)`` sorted by bound.

    The last bucket is ``+Inf`` (the total count) when the source exports it.
    """

    buckets: tuple[tuple[float, float], ...]

    @property
    def count(self) -> float:
        return self.buckets[-1][1] if self.buckets else 0.0

    @property
    def has_data(self) -> bool:
        return self.count > 0


def _parse_le(text: str) -> float | None:
    try:
        return float(text)  # float() reads "+Inf" too
    except (TypeError, ValueError):
        return None


def histogram(deltas: Iterable[Delta], *, le_label: str = "le", scale: float = 1.0) -> Histogram:
    """Sum bucket deltas by bound; ``scale`` converts the bound's unit to seconds.

    Buckets are made monotonic (a bucket never counts less than a lower one), as
    Prometheus' ``histogram_quantile`` does, since a reset seen in one bucket series but
    not another can leave them inconsistent.
    """
    by_le: dict[float, float] = {}
    for d in deltas:
        le = _parse_le(d.labels.get(le_label, ""))
        if le is None:
            continue
        bound = le if math.isinf(le) else le * scale
        by_le[bound] = by_le.get(bound, 0.0) + d.value
    buckets: list[tuple[float, float]] = []
    running = 0.0
    for bound in sorted(by_le):
        running = max(running, by_le[bound])
        buckets.append((bound, running))
    return Histogram(tuple(buckets))


def per_pod_histograms(deltas: Iterable[Delta], *, pod_label: str, le_label: str = "le",
                       scale: float = 1.0) -> dict[str, Histogram]:
    groups: dict[str, list[Delta]] = {}
    for d in deltas:
        pod = pod_of(d.labels, pod_label)
        if pod is not None:
            groups.setdefault(pod, []).append(d)
    return {pod: histogram(ds, le_label=le_label, scale=scale) for pod, ds in sorted(groups.items())}


def count_at_most(h: Histogram, threshold: float) -> tuple[float, bool]:
    """Requests no slower than ``threshold`` seconds, and whether that is exact.

    Exact when ``threshold`` is a bucket bound; otherwise linearly interpolated inside its
    bucket (the same assumption ``histogram_quantile`` makes). Above the largest finite
    bound nothing more is known, so only that bound's count is taken (slow is then
    over-, never under-estimated).
    """
    lower_bound, lower_count = 0.0, 0.0
    for bound, cum in h.buckets:
        if math.isclose(bound, threshold, rel_tol=1e-9, abs_tol=1e-12):
            return cum, True
        if threshold < bound:
            if math.isinf(bound):
                return lower_count, False
            frac = (threshold - lower_bound) / (bound - lower_bound) if bound > lower_bound else 1.0
            return lower_count + (cum - lower_count) * frac, False
        lower_bound, lower_count = bound, cum
    return lower_count, False


def slow_count(h: Histogram, threshold: float) -> float:
    """Requests slower than ``threshold`` seconds (see :func:`count_at_most`)."""
    fast, _ = count_at_most(h, threshold)
    return max(0.0, h.count - fast)


def quantile(h: Histogram, q: float) -> float | None:
    """The ``q``-quantile, estimated like Prometheus' ``histogram_quantile``; None if empty.

    If the rank falls in the ``+Inf`` bucket the largest finite bound is returned (the
    histogram cannot say more): a bound on the quantile from below.
    """
    if not 0 <= q <= 1:
        raise ValueError(f"quantile must be in [0, 1]: {q}")
    if not h.buckets or h.count <= 0:
        return None
    rank = q * h.count
    lower_bound, lower_count = 0.0, 0.0
    for i, (bound, cum) in enumerate(h.buckets):
        if cum >= rank and cum > 0:
            if math.isinf(bound):
                return h.buckets[i - 1][0] if i > 0 else None
            if i == 0 and bound <= 0:
                return bound
            in_bucket = cum - lower_count
            if in_bucket <= 0:
                return bound
            return lower_bound + (bound - lower_bound) * (rank - lower_count) / in_bucket
        lower_bound, lower_count = bound, cum
    # no +Inf bucket and rank beyond the last bucket
    return h.buckets[-1][0]
