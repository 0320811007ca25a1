"""Settings of the sequential judge, with the defaults documented in ``docs/judge.md``.

A Release overrides them under ``spec.analysis.judge``; the API layer passes that
mapping to :meth:`SequentialSettings.from_mapping` (camelCase or snake_case keys).
"""
from __future__ import annotations

import dataclasses
import math
import re
from typing import Any, Mapping

#: metric names judged as latency (share of slow requests) unless overridden
_LATENCY_NAME = re.compile(r"latency|slow|duration", re.IGNORECASE)


@dataclasses.dataclass(frozen=True)
class MetricSettings:
    """What differs between metrics: the tolerances, the circuit breaker and the floor."""

    r0: float  # fail when the canary's rate is more than r0 times the stable's
    r1: float  # pass only once the canary's rate is shown below r1 times the stable's
    circuit_breaker: float | None  # bad share of the canary that fails at once
    p_max: float | None  # promotion floor: canary bad share shown below this
    p_clean: float | None  # with no bad event on either side: canary share shown below this


@dataclasses.dataclass(frozen=True)
class SequentialSettings:
    """Defaults, and why.

    - ``alpha = 0.05``: bound on the chance of rolling back a canary that is within
      tolerance, over the whole rollout however often the judge looks. A false rollback is
      the safe mistake, so it can be the larger one.
    - ``beta = 0.05``: bound on the chance of promoting a canary worse than ``r1``.
    - ``r0 = 1.1`` (errors) and ``r0_latency = 1.2`` (slow-request share): the tolerance;
      a canary up to this much worse than stable is "healthy".
    - ``r1 = 2.0``: a canary shown better than twice the stable's rate may be promoted.
    - ``fail_grid``/``pass_grid``: alternatives mixed with equal weights; grid points on
      the wrong side of r0 / r1 are dropped.
    - ``dispersion_quantile = 0.1``, ``warm_intervals = 5``, ``warm_information = 20``:
      tempering by the test's own residuals read at their 10% quantile, once 5 informative
      intervals (judge-study.md) holding about 20 canary-side events exist.
    - ``warm_phi``/``warm_excess_per_event``/``pod_sigma``: warm start from the stable's
      history (``dispersion.warm_start_from_history``); when unknown the judge assumes
      ``default_warm_phi = 2``, ``default_warm_excess_per_event = 0.2`` (negative-binomial
      k of about 10 on each side) and ``default_pod_sigma = 0.5`` (large), and estimates the
      pod spread from the stable's per-pod counters as they arrive.
    - ``pod_sigma_quantile = 0.1``: the pod spread is taken at its 90% upper bound;
      ``pod_sigma_max = 1.0`` caps it.
    - ``circuit_breaker = 0.2`` with ``circuit_breaker_min_requests = 20`` and
      ``circuit_breaker_min_bad = 20``: an error share above 20% fails at once (error
      metrics only), unless the stable is at least half as bad in the same interval (an
      outage of a shared dependency is left to the comparison).
    - ``p_max = 0.05``: minimum clean evidence before a pass: the canary's error share must
      be shown below 5% (about 120 clean requests; error metrics only).
    - ``p_clean = 0.005``: with no bad event on either side the ratio test has nothing to
      compare; a clean canary then passes once its share is shown below 0.5% (about 1200
      clean requests, more when tempered). A canary at 0.5% or worse passes this way with
      probability at most beta; below that, the relative guarantee does not cover it.
    - ``metrics``: the metric names judged (Bonferroni over their number); None judges
      every metric the evidence carries, M being the number seen so far.
    """

    alpha: float = 0.05
    beta: float = 0.05
    r0: float = 1.1
    r0_latency: float = 1.2
    r1: float = 2.0
    fail_grid: tuple[float, ...] = (1.25, 1.5, 2.0, 3.0, 5.0, 10.0)
    pass_grid: tuple[float, ...] = (0.5, 0.75, 1.0, 1.25, 1.5)
    dispersion_quantile: float = 0.1
    warm_intervals: int = 5
    warm_information: float = 20.0  # canary-side events (sum E pi (1-pi)) before the switch
    warm_phi: float | None = None
    warm_excess_per_event: float | None = None
    default_warm_phi: float = 2.0
    default_warm_excess_per_event: float = 0.2
    pod_sigma: float | None = None
    default_pod_sigma: float = 0.5
    pod_sigma_quantile: float = 0.1
    pod_sigma_max: float = 1.0
    min_pod_events: float = 5.0  # mean stable bad events per pod before the in-run sigma is used
    canary_pods: int | None = None  # used only when the evidence has no per-pod counts
    stable_pods: int | None = None
    circuit_breaker: float | None = 0.2
    circuit_breaker_min_requests: float = 20.0
    circuit_breaker_min_bad: float = 20.0
    p_max: float | None = 0.05
    p_clean: float | None = 0.005
    metrics: tuple[str, ...] | None = None
    latency_metrics: tuple[str, ...] | None = None  # names judged as latency; None: by name
    max_pods: int = 64  # per-pod counters kept in state per side

    def __post_init__(self) -> None:
        for name in ("alpha", "beta", "dispersion_quantile", "pod_sigma_quantile"):
            v = getattr(self, name)
            if not 0.0 < v < 1.0:
                raise ValueError(f"{name} must be in (0, 1), got {v}")
        if not 1.0 <= self.r0 < self.r1 or not 1.0 <= self.r0_latency < self.r1:
            raise ValueError("need 1 <= r0 < r1 and 1 <= r0_latency < r1")
        if not any(g > self.r0 for g in self.fail_grid) or not any(g > self.r0_latency for g in self.fail_grid):
            raise ValueError("fail_grid needs ratios above r0")
        if not any(0 < g < self.r1 for g in self.pass_grid):
            raise ValueError("pass_grid needs ratios below r1")
        if self.circuit_breaker is not None and not 0 < self.circuit_breaker <= 1:
            raise ValueError("circuit_breaker must be in (0, 1]")
        if self.p_max is not None and not 0 < self.p_max < 1:
            raise ValueError("p_max must be in (0, 1)")
        if self.p_clean is not None and not 0 < self.p_clean < 1:
            raise ValueError("p_clean must be in (0, 1)")
        if self.warm_information < 0:
            raise ValueError("warm_information must be >= 0")
        if self.warm_intervals < 1:
            raise ValueError("warm_intervals must be >= 1")
        for name in ("pod_sigma", "warm_phi", "warm_excess_per_event"):
            v = getattr(self, name)
            if v is not None and (v < 0 or not math.isfinite(v)):
                raise ValueError(f"{name} must be a finite number >= 0")

    # ------------------------------------------------------------------ per metric

    def is_latency(self, metric: str) -> bool:
        if self.latency_metrics is not None:
            return metric in self.latency_metrics
        return bool(_LATENCY_NAME.search(metric))

    def for_metric(self, metric: str) -> MetricSettings:
        if self.is_latency(metric):
            return MetricSettings(r0=self.r0_latency, r1=self.r1, circuit_breaker=None, p_max=None, p_clean=None)
        return MetricSettings(r0=self.r0, r1=self.r1, circuit_breaker=self.circuit_breaker, p_max=self.p_max,
                              p_clean=self.p_clean)

    # ------------------------------------------------------------------ mapping

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None) -> "SequentialSettings":
        """Build from ``spec.analysis.judge`` (camelCase or snake_case); unknown keys fail."""
        if not data:
            return cls()
        fields = {f.name: f for f in dataclasses.fields(cls)}
        kwargs: dict[str, Any] = {}
        for key, value in data.items():
            name = _snake(key)
            if name not in fields:
                raise ValueError(f"unknown judge setting {key!r}; known: {sorted(fields)}")
            if name in ("fail_grid", "pass_grid"):
                value = tuple(float(v) for v in value)
            elif name in ("metrics", "latency_metrics"):
                value = None if value is None else tuple(str(v) for v in value)
            elif name in ("warm_intervals", "max_pods", "canary_pods", "stable_pods"):
                value = None if value is None else int(value)
            elif value is not None:
                value = float(value)
            kwargs[name] = value
        return cls(**kwargs)

    def to_mapping(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            out[f.name] = list(v) if isinstance(v, tuple) else v
        return out


def _snake(key: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", key).lower()
