"""Built-in and custom metrics: Prometheus samples -> evidence for the judges.

For ``error-rate`` and ``latency`` the raw cumulative series of canary *and* stable are
read in one query at each end of the interval (two queries per metric), and
:mod:`ripcord.analysis.counters` turns them into exact counts. Both ends are evaluated a
*settling lag* in the past: a sample carries its scrape's start time but is written when
the scrape ends, so a query at "now" could miss a sample that later appears with an
earlier timestamp, and that interval's increments would be counted by no interval. With
the lag, the engine can hand this interval's end back as the next one's start and the
evidence telescopes exactly.

Custom metrics are PromQL templates giving one value per workload, evaluated once for the
canary and once for the stable at the end of the interval, with a ``{{window}}`` that
covers the interval but never fewer than 4 scrape intervals. A rendered custom query is
sent only if every selector pins the Release's namespace (:mod:`.scope`), unless the
operator's configuration lets this namespace query across namespaces.
"""
from __future__ import annotations

import dataclasses
import math
import re
from typing import Callable, Hashable, Mapping, Optional

from ..api.models import MetricSpec
from . import counters, queries, scope
from .counters import Labels, Sample
from .judge.base import Counts
from .judge.threshold import ValueEvidence, fmt
from .prometheus import Deadline, QueryClient, QueryError
from .sharing import SharedQueries
from .queries import SourceProfile


@dataclasses.dataclass(frozen=True)
class Target:
    """The workloads of one Release being compared."""

    namespace: str
    release: str
    canary: str  # canary Deployment name
    stable: str  # stable Deployment name
    # The canary's ReplicaSet, as its pods' name prefix ("web-b-5d8f9c-"): pods of an older template
    # still in the slot (a rolled-back version's last requests, scraped late) are not the canary's.
    canary_pods: Optional[str] = None


@dataclasses.dataclass(frozen=True)
class Window:
    """One interval of evidence: Prometheus evaluation times (already lagged) and context."""

    t_prev: float
    t_now: float
    step: int
    weight: float
    scrape_interval_s: float

    @property
    def duration_s(self) -> float:
        return self.t_now - self.t_prev


@dataclasses.dataclass(frozen=True)
class Measurement:
    """One metric over one window.

    ``problem`` is set when the metric cannot be measured at all because of its
    configuration (bad PromQL, a query returning several series): it is then never a Pass.
    """

    metric: str
    evidence: ValueEvidence | None
    message: str = ""
    problem: str | None = None
    histograms: tuple[counters.Histogram, counters.Histogram] | None = None  # latency: canary, stable


def _attribution(profile: SourceProfile, target: Target) -> Callable[[Labels], Optional[str]]:
    """Which workload a series is (canary, stable, None); with ``target.canary_pods``, a pod-labelled
    series of the canary's slot from another ReplicaSet is neither."""
    of = queries.workload_of(profile, [target.canary, target.stable])
    prefix = target.canary_pods
    if not prefix:
        return of
    pod_label = profile.pod_label or "pod"
    slot_pod = re.compile(queries.pod_regex(target.canary))

    def current(labels: Labels) -> Optional[str]:
        workload = of(labels)
        pod = labels.get(pod_label) or ""
        # only a pod of the slot's Deployment that is not the canary's ReplicaSet; a failure that
        # reached no pod ("unknown", or no pod label) stays the canary's
        if workload == target.canary and slot_pod.fullmatch(pod) and not pod.startswith(prefix):
            return None
        return workload
    return current


class MetricReader:
    """Reads the metrics of one analysis through one client, under one deadline.

    Identical queries at the same instant are asked once (error rate and a custom metric
    may share them; the preflight reuses them).
    """

    def __init__(self, client: QueryClient, sources: Mapping[str, SourceProfile], *, deadline: Deadline,
                 query_timeout_s: float, pin_namespace: bool = True, shared: Optional[SharedQueries] = None,
                 prometheus: Hashable = None, keep_s: float = 60.0,
                 shares: Callable[[float], bool] = lambda at: True):
        self.client = client
        self.sources = sources
        self.deadline = deadline
        self.query_timeout_s = query_timeout_s
        self.pin_namespace = pin_namespace  # custom queries must select the target's namespace only
        self.shared = shared  # built-in series asked once for every Release judged at the same instant
        self.prometheus = prometheus  # which Prometheus (an answer is shared only within one)
        self.keep_s = keep_s
        self.shares = shares  # the instants other Releases are judged at too (aligned to the interval)
        self._cache: dict[tuple[str, float], list[Sample]] = {}
        self.exclude_mirrored = False  # leave out a source's mirrored requests (after a mirror phase)

    def _query(self, promql: str, at: float) -> list[Sample]:
        key = (promql, round(at, 3))
        if key not in self._cache:
            self._cache[key] = self.client.query(promql, at, timeout=self.deadline.timeout(self.query_timeout_s))
        return self._cache[key]

    def _series(self, profile: SourceProfile, metric: str, target: Target, at: float) -> list[Sample]:
        """The raw series of ``metric`` of the target's canary and stable at ``at``."""
        names = [target.canary, target.stable]
        if self.shared is None:
            return self._query(queries.raw_series_query(metric, profile, target.namespace, names), at)
        if not self.shares(at):
            # an instant of this Release alone (a step's first or last analysis): no union to share
            promql = queries.raw_series_query(metric, profile, target.namespace, names)
            return self.shared.own(lambda: self._query(promql, at), (self.prometheus, promql, round(at, 3)),
                                   keep_s=self.keep_s)
        return self.shared.samples(
            lambda promql, t: self.client.query(promql, t, timeout=self.deadline.timeout(self.query_timeout_s)),
            (self.prometheus, profile, metric), target.namespace, names, at, keep_s=self.keep_s,
            wait_s=max(0.05, self.deadline.remaining()))

    def profile(self, spec: MetricSpec) -> SourceProfile:
        base = self.sources.get(spec.source) or (queries.APP if spec.source == "app" else queries.GATEWAY)
        profile = base.with_prefix(spec.metric_prefix) if spec.metric_prefix else base
        return queries.without_mirrored(profile) if self.exclude_mirrored else profile

    def measure(self, spec: MetricSpec, target: Target, window: Window) -> Measurement:
        """Raises MetricsUnavailable when Prometheus does not answer in time."""
        try:
            if spec.type == "error-rate":
                return self._error_rate(spec, target, window)
            if spec.type == "latency":
                return self._latency(spec, target, window)
            return self._custom(spec, target, window)
        except (QueryError, queries.TemplateError) as e:
            return Measurement(spec.name, None, problem=str(e))

    # ----------------------------------------------------------------- built-ins

    def _deltas(self, profile: SourceProfile, metric: str, target: Target, window: Window) -> list[counters.Delta]:
        prev = self._series(profile, metric, target, window.t_prev)
        now = self._series(profile, metric, target, window.t_now)
        return counters.counter_deltas(prev, now)

    def _error_rate(self, spec: MetricSpec, target: Target, window: Window) -> Measurement:
        profile = self.profile(spec)
        deltas = self._deltas(profile, profile.requests_metric, target, window)
        groups = counters.split(deltas, _attribution(profile, target))
        is_error = counters.error_matcher(profile.code_label, profile.error_codes)
        c = counters.request_counts(groups.get(target.canary, []), is_error=is_error, pod_label=profile.pod_label)
        s = counters.request_counts(groups.get(target.stable, []), is_error=is_error, pod_label=profile.pod_label)
        evidence = ValueEvidence(
            metric=spec.name, canary=Counts(c.requests, c.errors, c.per_pod), stable=Counts(s.requests, s.errors, s.per_pod),
            step=window.step, weight=window.weight, duration_s=window.duration_s,
            canary_value=c.error_ratio, stable_value=s.error_ratio, counted=True,
            note=_resets(c.resets + s.resets))
        msg = (f"{profile.name} metrics over {window.duration_s:.0f}s: canary {c.errors:.0f}/{c.requests:.0f} errors"
               f" ({_pct(c.error_ratio)}), stable {s.errors:.0f}/{s.requests:.0f} ({_pct(s.error_ratio)})")
        return Measurement(spec.name, evidence, msg)

    def _latency(self, spec: MetricSpec, target: Target, window: Window) -> Measurement:
        profile = self.profile(spec)
        names = [target.canary, target.stable]
        deltas = self._deltas(profile, profile.duration_metric, target, window)
        groups = counters.split(deltas, _attribution(profile, target))
        hists: dict[str, counters.Histogram] = {}
        counts: dict[str, Counts] = {}
        for name in names:
            ds = groups.get(name, [])
            h = counters.histogram(ds, le_label=profile.le_label, scale=profile.duration_unit_s)
            per_pod: dict[str, tuple[float, float]] = {}
            if profile.pod_label:
                for pod, ph in counters.per_pod_histograms(ds, pod_label=profile.pod_label, le_label=profile.le_label,
                                                          scale=profile.duration_unit_s).items():
                    per_pod[pod] = (ph.count, counters.slow_count(ph, spec.threshold_seconds))
            hists[name] = h
            counts[name] = Counts(h.count, counters.slow_count(h, spec.threshold_seconds), per_pod)
        ch, sh = hists[target.canary], hists[target.stable]
        cq, sq = counters.quantile(ch, spec.quantile), counters.quantile(sh, spec.quantile)
        _, exact = counters.count_at_most(ch if ch.buckets else sh, spec.threshold_seconds)
        resets = sum(d.reset for d in deltas)
        note = "; ".join(x for x in (
            "" if exact or not (ch.buckets or sh.buckets) else
            f"threshold {spec.threshold_seconds:g}s is not a bucket bound: slow counts interpolated",
            _resets(resets)) if x)
        evidence = ValueEvidence(
            metric=spec.name, canary=counts[target.canary], stable=counts[target.stable],
            step=window.step, weight=window.weight, duration_s=window.duration_s,
            canary_value=cq, stable_value=sq, counted=True, note=note)
        q = f"p{spec.quantile * 100:g}"
        c, s = counts[target.canary], counts[target.stable]
        msg = (f"{profile.name} metrics over {window.duration_s:.0f}s: {q} canary {fmt(cq, 's')}, stable {fmt(sq, 's')}; "
               f"slower than {spec.threshold_seconds:g}s: canary {c.bad:.0f}/{c.requests:.0f}, "
               f"stable {s.bad:.0f}/{s.requests:.0f}")
        return Measurement(spec.name, evidence, msg, histograms=(ch, sh))

    # -------------------------------------------------------------------- custom

    def _custom(self, spec: MetricSpec, target: Target, window: Window) -> Measurement:
        if not spec.query:
            return Measurement(spec.name, None, problem="custom metric needs a query")
        win = queries.window(window.duration_s, window.scrape_interval_s)
        values: dict[str, float | None] = {}
        for name in (target.canary, target.stable):
            promql = queries.render(spec.query, queries.variables(
                namespace=target.namespace, release=target.release, workload=name, canary=target.canary,
                stable=target.stable, window_=win))
            if self.pin_namespace:
                scope.check_scoped(promql, self.profile(spec).namespace_label, target.namespace)
            samples = self._query(promql, window.t_now)
            if len(samples) > 1:
                return Measurement(spec.name, None, problem=(
                    f"query for {name} returned {len(samples)} series; it must give one value "
                    f"(aggregate it, e.g. sum(...))"))
            v = samples[0].value if samples else None
            values[name] = None if v is None or math.isnan(v) else v
        evidence = ValueEvidence(
            metric=spec.name, canary=Counts(0, 0), stable=Counts(0, 0), step=window.step, weight=window.weight,
            duration_s=window.duration_s, canary_value=values[target.canary], stable_value=values[target.stable],
            counted=False)
        msg = f"custom over [{win}]: canary {fmt(values[target.canary])}, stable {fmt(values[target.stable])}"
        return Measurement(spec.name, evidence, msg)


def _pct(ratio: float | None) -> str:
    return "no data" if ratio is None else f"{ratio * 100:.3g}%"


def _resets(n: int) -> str:
    return f"{n} counter series reset (handled)" if n else ""


# ------------------------------------------------------------- step accumulation

def _hist_json(h: counters.Histogram) -> list[list[float | str]]:
    return [["+Inf" if math.isinf(le) else le, c] for le, c in h.buckets]


def _hist_load(data: object) -> counters.Histogram:
    if not isinstance(data, list):
        return counters.Histogram(())
    return counters.Histogram(tuple((float(le), float(c)) for le, c in data))


def _hist_add(a: counters.Histogram, b: counters.Histogram) -> counters.Histogram:
    if not a.buckets:
        return b
    if not b.buckets:
        return a
    return counters.histogram([counters.Delta({"le": repr(le)}, c) for le, c in a.buckets + b.buckets])


def fold_step(state: Mapping[str, object] | None, spec: MetricSpec, meas: Measurement,
              step: int) -> tuple[dict[str, object], float | None, float | None]:
    """Add this interval to the current step's totals; the step's canary and stable values.

    Fixed bounds are checked against the whole step so far rather than one interval: a
    p99 of one 2-second interval is the slowest of a dozen requests, and one slow request
    (a GC pause, a busy node) would fail a healthy canary. Error rates are summed as
    counts, latencies as histograms (quantiles do not add). A new step starts afresh, so a
    regression is never diluted by more than one step's history.
    """
    e = meas.evidence
    fresh = not state or state.get("step") != step
    if e is None or spec.type == "custom":
        return dict(state or {}), (e.canary_value if e else None), (e.stable_value if e else None)
    if spec.type == "error-rate":
        c = [0.0, 0.0] if fresh else list(state.get("c", [0.0, 0.0]))  # type: ignore[union-attr, arg-type]
        s_ = [0.0, 0.0] if fresh else list(state.get("s", [0.0, 0.0]))  # type: ignore[union-attr, arg-type]
        c = [c[0] + e.canary.requests, c[1] + e.canary.bad]
        s_ = [s_[0] + e.stable.requests, s_[1] + e.stable.bad]
        new = {"step": step, "c": c, "s": s_}
        return new, (c[1] / c[0] if c[0] > 0 else None), (s_[1] / s_[0] if s_[0] > 0 else None)
    if meas.histograms is None:
        return dict(state or {}), e.canary_value, e.stable_value
    ch = meas.histograms[0] if fresh else _hist_add(_hist_load(state.get("c")), meas.histograms[0])  # type: ignore[union-attr]
    sh = meas.histograms[1] if fresh else _hist_add(_hist_load(state.get("s")), meas.histograms[1])  # type: ignore[union-attr]
    new = {"step": step, "c": _hist_json(ch), "s": _hist_json(sh)}
    return new, counters.quantile(ch, spec.quantile), counters.quantile(sh, spec.quantile)

