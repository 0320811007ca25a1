"""The judge interface: evidence in, a verdict out, the judge's state kept in status.

A judge never talks to Prometheus or Kubernetes. The analysis layer turns raw counter
deltas into :class:`StepEvidence`; the engine stores :attr:`Judgement.state` in
``status.analysis.judgeState`` and hands it back on the next call, so an operator restart
resumes the test exactly where it was.
"""
from __future__ import annotations

import dataclasses
import enum
from typing import Any, Mapping, Protocol, Sequence


class Verdict(str, enum.Enum):
    PASS = "Pass"
    FAIL = "Fail"
    INCONCLUSIVE = "Inconclusive"


@dataclasses.dataclass(frozen=True)
class Counts:
    """Counter deltas of one workload over one observation interval.

    ``bad`` is errors for an error metric and slow requests (above a latency
    threshold) for a latency metric. ``per_pod`` maps pod name to (requests, bad).
    """

    requests: float
    bad: float
    per_pod: Mapping[str, tuple[float, float]] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class StepEvidence:
    """One metric's counts for canary and stable over one interval of one step."""

    metric: str
    canary: Counts
    stable: Counts
    step: int  # index of the rollout step the interval belongs to
    weight: float  # canary traffic share asked in that step, 0..100
    duration_s: float


@dataclasses.dataclass(frozen=True)
class MetricJudgement:
    metric: str
    verdict: Verdict
    value: float | None  # canary's bad/requests over the rollout so far
    stable_value: float | None
    bound: str  # human-readable bound, e.g. "ratio <= 1.1 (alpha 0.001)"
    message: str = ""
    details: Mapping[str, float] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class Judgement:
    verdict: Verdict
    metrics: Sequence[MetricJudgement]
    state: Mapping[str, Any]  # JSON-serialisable; stored in status and passed back


@dataclasses.dataclass(frozen=True)
class Preflight:
    """What the judge can see with the traffic and pods it will have."""

    min_detectable_ratio: float | None  # None: no regression is detectable at all
    expected_verdict_s: float | None  # expected time to a pass verdict on a healthy canary
    feasible: bool  # a verdict is expected within the allowed time
    message: str


class Judge(Protocol):
    def update(self, state: Mapping[str, Any] | None, evidence: Sequence[StepEvidence]) -> Judgement:
        """Fold new evidence into the judge's state and return the verdict so far."""

    def preflight(self, *, total_rps: float, stable_error_rate: float, canary_pods: int,
                  stable_pods: int, weights: Sequence[float], step_s: float,
                  max_duration_s: float, pod_sigma: float | None = None) -> Preflight:
        """Before the rollout: the smallest ratio this judge can detect, and feasibility."""
