"""The operator's Prometheus metrics, and the server that exposes them at ``/metrics``.

Names follow the Prometheus naming guide: one ``ripcord_`` prefix, base units
(``_seconds``), counters ending in ``_total`` (prometheus_client adds the suffix),
low-cardinality labels (namespace and release name, never a pod or a template hash).
Weights are in percent, the unit of ``spec.steps``.

The engine edge calls three things:

- ``observe(namespace, name, old_status, new_status)`` after it has written a status:
  gauges follow ``new_status``, counters and histograms follow what changed
  (``transitions.transitions``). Never raises: telemetry must not fail a reconcile.
- ``reconciling(namespace, name)``: a context manager timing one reconcile and counting
  the exceptions that escape it.
- ``forget(namespace, name)`` when a Release is gone, and ``set_leader(bool)``.

Every series a Release can have is created at 0 the first time the Release is seen, so
``increase(ripcord_rollbacks_total[10m])`` sees the first rollback too (a series that
appears already at 1 has no increase).
"""
from __future__ import annotations

import contextlib
import logging
import threading
import time
from typing import Any, Iterator, Mapping, Optional

from prometheus_client import (CollectorRegistry, Counter, Gauge, GCCollector, Histogram, PlatformCollector,
                               ProcessCollector, start_http_server)

from ripcord.telemetry import transitions as tr

log = logging.getLogger(__name__)

ROLLBACK_REASONS = ("Metric", "PodHealth", "MetricsUnavailable", "PostPromotionWatch", "Manual", "Reverted")
CONDITION_TYPES = ("Ready", "Reconciling", "Stalled", "NoVerdict", "MetricsUnavailable", "WeightQuantised")
CONDITION_STATUSES = ("True", "False", "Unknown")
# Rollouts take minutes to an hour; detection should take seconds to minutes.
ROLLOUT_BUCKETS = (30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400)
DETECTION_BUCKETS = (1, 2, 5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300, 600)
RECONCILE_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
LATENESS_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60)

METRIC_NAMES = (
    "ripcord_build_info", "ripcord_leader", "ripcord_releases", "ripcord_release_weight",
    "ripcord_release_effective_weight", "ripcord_release_status_condition",
    "ripcord_release_rollout_start_time_seconds", "ripcord_analysis_verdicts_total",
    "ripcord_analysis_requests_total", "ripcord_rollbacks_total",
    "ripcord_promotions_total", "ripcord_rollout_duration_seconds", "ripcord_detection_seconds",
    "ripcord_reconcile_errors_total", "ripcord_reconcile_duration_seconds", "ripcord_notifications_total",
)


def _wire(status: Any) -> Optional[Mapping[str, Any]]:
    """A status in wire form: a mapping as is, a pydantic model through ``wire()``."""
    if status is None or isinstance(status, Mapping):
        return status
    wire = getattr(status, "wire", None)
    return wire() if callable(wire) else None


class OperatorMetrics:
    """All of Ripcord's series, in one registry (a fresh one per instance, so tests are isolated)."""

    def __init__(self, registry: Optional[CollectorRegistry] = None, *, process_collectors: bool = True,
                 version: str = "") -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        if process_collectors and registry is None:
            ProcessCollector(registry=self.registry)
            PlatformCollector(registry=self.registry)
            GCCollector(registry=self.registry)
        r = self.registry
        self.build_info = Gauge("ripcord_build_info", "Ripcord's version; always 1.", ["version"], registry=r)
        self.leader = Gauge("ripcord_leader", "1 while this replica holds the leader Lease and acts, else 0.",
                            registry=r)
        self.releases = Gauge("ripcord_releases", "Releases by status.phase.", ["phase"], registry=r)
        self.weight = Gauge("ripcord_release_weight", "Canary weight asked, percent.",
                            ["namespace", "release"], registry=r)
        self.effective_weight = Gauge(
            "ripcord_release_effective_weight",
            "Canary weight the data plane serves, percent (replicas provider: share of ready pods).",
            ["namespace", "release"], registry=r)
        self.condition = Gauge("ripcord_release_status_condition",
                               "1 for the current status of each condition, 0 for the others.",
                               ["namespace", "release", "type", "status"], registry=r)
        self.rollout_start = Gauge("ripcord_release_rollout_start_time_seconds",
                                   "Unix time the rollout in flight started; absent at rest.",
                                   ["namespace", "release"], registry=r)
        self.verdicts = Counter("ripcord_analysis_verdicts", "Analysis verdicts per metric.",
                                ["namespace", "release", "metric", "verdict"], registry=r)
        self.requests = Counter(
            "ripcord_analysis_requests",
            "Requests the analysis counted per metric: sent to the canary or the stable (answered or not: a "
            "gateway's refused, reset, timed-out and no-upstream failures included), good or bad.",
            ["namespace", "release", "metric", "workload", "outcome"], registry=r)
        self.rollbacks = Counter("ripcord_rollbacks", "Rollbacks decided, by RollbackReason kind.",
                                 ["namespace", "release", "reason"], registry=r)
        self.promotions = Counter("ripcord_promotions", "Rollouts promoted.", ["namespace", "release"], registry=r)
        self.rollout_duration = Histogram("ripcord_rollout_duration_seconds", "Rollout start to end, by outcome.",
                                          ["outcome"], buckets=ROLLOUT_BUCKETS, registry=r)
        self.detection = Histogram("ripcord_detection_seconds",
                                   "Canary start to the automatic rollback decision, by reason.",
                                   ["reason"], buckets=DETECTION_BUCKETS, registry=r)
        self.reconcile_errors = Counter("ripcord_reconcile_errors", "Reconciles that raised.",
                                        ["namespace", "release"], registry=r)
        self.reconcile_duration = Histogram("ripcord_reconcile_duration_seconds", "Time one reconcile takes.",
                                            buckets=RECONCILE_BUCKETS, registry=r)
        self.notifications = Counter("ripcord_notifications", "Webhook deliveries by final result.",
                                     ["event", "type", "result"], registry=r)
        self.reconcile_lateness = Histogram(
            "ripcord_reconcile_lateness_seconds", "From the time a reconcile fell due (woken, or timed) to its start.",
            buckets=LATENESS_BUCKETS, registry=r)
        self.build_info.labels(version=version or _version()).set(1)
        self.leader.set(0)
        self._lock = threading.Lock()
        self._phases: dict[tuple[str, str], str] = {}
        self._seen: set[tuple[str, str]] = set()

    # ------------------------------------------------------------------ the edge's calls

    def observe(self, namespace: str, name: str, old: Any, new: Any) -> list[tr.Happening]:
        """Record a status change; returns what was counted. Logs and swallows any error."""
        try:
            return self._observe(namespace, name, _wire(old), _wire(new) or {})
        except Exception:  # noqa: BLE001 - telemetry must never fail a reconcile
            log.exception("metrics: could not observe %s/%s", namespace, name)
            return []

    def on_transition(self, body: Mapping[str, Any], old: Any, new: Any) -> None:
        """The reconciler's transition hook: ``(release body, old status, new status)``."""
        meta = body.get("metadata") or {}
        self.observe(str(meta.get("namespace", "")), str(meta.get("name", "")), old, new)

    @contextlib.contextmanager
    def reconciling(self, namespace: str, name: str) -> Iterator[None]:
        started = time.monotonic()
        try:
            yield
        except BaseException as exc:
            if not isinstance(exc, (GeneratorExit, KeyboardInterrupt, SystemExit)):
                self.reconcile_errors.labels(namespace, name).inc()
            raise
        finally:
            self.reconcile_duration.observe(time.monotonic() - started)

    def forget(self, namespace: str, name: str) -> None:
        """Drop a deleted Release's series (counters included: the Release is gone)."""
        key = (namespace, name)
        with self._lock:
            self._seen.discard(key)
            self._phases.pop(key, None)
            self._publish_phases()
        for metric in (self.weight, self.effective_weight, self.rollout_start, self.condition, self.verdicts,
                       self.requests, self.rollbacks, self.promotions, self.reconcile_errors):
            _remove_release(metric, namespace, name)

    def set_leader(self, leading: bool) -> None:
        self.leader.set(1 if leading else 0)

    def notification_result(self, event: str, type_: str, result: str) -> None:
        """result: sent, failed, refused (URL not allowed), dropped (queue full)."""
        self.notifications.labels(event, type_, result).inc()

    # ------------------------------------------------------------------ internals

    def _observe(self, namespace: str, name: str, old: Optional[Mapping[str, Any]],
                 new: Mapping[str, Any]) -> list[tr.Happening]:
        key = (namespace, name)
        self._first_sight(namespace, name)
        snap = tr.snapshot(new)
        with self._lock:
            if snap.phase:
                self._phases[key] = snap.phase
            self._publish_phases()
        self.weight.labels(namespace, name).set(snap.weight)
        if snap.effective_weight is None:
            _remove(self.effective_weight, namespace, name)
        else:
            self.effective_weight.labels(namespace, name).set(snap.effective_weight)
        if snap.rollout_started_at is None:
            _remove(self.rollout_start, namespace, name)
        else:
            self.rollout_start.labels(namespace, name).set(snap.rollout_started_at)
        for ctype in set(CONDITION_TYPES) | set(snap.conditions):
            current = snap.conditions.get(ctype)
            for cstatus in CONDITION_STATUSES:
                if current is None:
                    _remove(self.condition, namespace, name, ctype, cstatus)
                else:
                    self.condition.labels(namespace, name, ctype, cstatus).set(1 if current == cstatus else 0)

        happened = tr.transitions(old, new)
        for h in happened:
            if isinstance(h, tr.RollbackDecided):
                self.rollbacks.labels(namespace, name, h.reason).inc()
                if h.detection_seconds is not None:
                    self.detection.labels(h.reason).observe(h.detection_seconds)
            elif isinstance(h, tr.Promoted):
                self.promotions.labels(namespace, name).inc()
            elif isinstance(h, tr.RolloutEnded):
                if h.duration_seconds is not None:
                    self.rollout_duration.labels(h.outcome).observe(h.duration_seconds)
            elif isinstance(h, tr.Verdict):
                self.verdicts.labels(namespace, name, h.metric, h.verdict).inc()
            elif isinstance(h, tr.Counted):
                for workload, total, bad in (("canary", h.canary_requests, h.canary_bad),
                                             ("stable", h.stable_requests, h.stable_bad)):
                    if bad > 0:
                        self.requests.labels(namespace, name, h.metric, workload, "bad").inc(bad)
                    if total - bad > 0:
                        self.requests.labels(namespace, name, h.metric, workload, "good").inc(total - bad)
        return happened

    def _first_sight(self, namespace: str, name: str) -> None:
        with self._lock:
            if (namespace, name) in self._seen:
                return
            self._seen.add((namespace, name))
        for reason in ROLLBACK_REASONS:
            self.rollbacks.labels(namespace, name, reason)
        self.promotions.labels(namespace, name)
        self.reconcile_errors.labels(namespace, name)

    def _publish_phases(self) -> None:
        counts: dict[str, int] = {}
        for phase in self._phases.values():
            counts[phase] = counts.get(phase, 0) + 1
        for labels in _label_sets(self.releases):
            if labels[0] not in counts:
                self.releases.labels(*labels).set(0)
        for phase, n in counts.items():
            self.releases.labels(phase).set(n)


def _label_sets(metric: Any) -> list[tuple[str, ...]]:
    with metric._lock:  # prometheus_client has no public way to list a metric's children
        return list(metric._metrics)


def _remove(metric: Any, *labels: str) -> None:
    try:
        metric.remove(*labels)
    except KeyError:
        pass


def _remove_release(metric: Any, namespace: str, name: str) -> None:
    for labels in _label_sets(metric):
        if labels[:2] == (namespace, name):
            _remove(metric, *labels)


def _version() -> str:
    try:
        from importlib.metadata import version
        return version("ripcord")
    except Exception:  # noqa: BLE001
        return "unknown"


_default: Optional[OperatorMetrics] = None
_default_lock = threading.Lock()


def default_metrics() -> OperatorMetrics:
    """The process's metrics (one registry per process, created on first use)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = OperatorMetrics()
        return _default


def start_metrics_server(port: int, addr: str = "0.0.0.0", metrics: Optional[OperatorMetrics] = None) -> Any:
    """Serve ``/metrics`` in a daemon thread; returns the HTTP server (``.shutdown()`` stops it).

    Port 0 picks a free port: read it from ``server.server_port``.
    """
    m = metrics or default_metrics()
    started = start_http_server(port, addr=addr, registry=m.registry)
    server = started[0] if isinstance(started, tuple) else started
    return server
