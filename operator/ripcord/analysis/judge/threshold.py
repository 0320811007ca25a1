"""The fixed-bound judge: each check compares this interval's value with a bound.

Bounds are absolute (``max``: the canary's value may not exceed it, whatever the stable
does, which is what lets a fix be promoted while the stable itself is broken) and/or
relative (``maxRatio``: canary <= maxRatio x stable over the same interval). A check that
breaches a bound is a *failed check*; ``failureThreshold`` failed checks in a row fail the
rollout. The count is shared by all threshold metrics, as one check looks at all of them.

It never passes on thin evidence: a metric passes only when its value is within bounds
*and* the canary served at least ``minRequests`` requests during the current step. Nor does
it fail on a thin *comparison*: a relative bound is judged only once the step has those
``minRequests`` (an absolute bound is judged from the first request).
No canary requests in an interval is *no data*: Inconclusive, neither a failure nor a
success (Flagger counts it as a failure and halts healthy low-traffic canaries).

Fixed bounds carry no error guarantee (see ``reference/judge-study.md``: a Flagger-style
rule rolls back up to 86% of healthy canaries at a 1% baseline); the sequential judge is
the default for error rates. This judge is for latency quantiles, custom values, and
absolute guard rails.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Any, Mapping, Sequence

from .base import Judgement, MetricJudgement, Preflight, StepEvidence, Verdict


@dataclasses.dataclass(frozen=True)
class Bound:
    """The fixed bounds of one metric."""

    max: float | None = None
    max_ratio: float | None = None
    unit: str = ""  # shown after values: "" for ratios, "s" for latencies
    counted: bool = True  # False: the value has no request count (custom); minRequests does not apply

    def describe(self, stable_value: float | None = None) -> str:
        parts = []
        if self.max is not None:
            parts.append(f"<= {fmt(self.max, self.unit)}")
        if self.max_ratio is not None:
            ref = f" ({fmt(self.max_ratio * stable_value, self.unit)})" if stable_value is not None else ""
            parts.append(f"<= {self.max_ratio:g} x stable{ref}")
        return " and ".join(parts) if parts else "no bound"


def fmt(value: float | None, unit: str = "") -> str:
    if value is None:
        return "n/a"
    if math.isinf(value):
        return "inf"
    return f"{value:.4g}{unit}"


@dataclasses.dataclass(frozen=True)
class ValueEvidence(StepEvidence):
    """Evidence with the values a fixed bound is checked against.

    For an error rate the values are ``bad / requests`` and could be derived from the
    counts; for a latency quantile or a custom query they cannot, so the analysis layer
    computes them and passes them here. ``counted=False`` marks a value without request
    counts (``canary.requests`` is then meaningless).
    """

    canary_value: float | None = None
    stable_value: float | None = None
    counted: bool = True
    note: str = ""


def _values(e: StepEvidence) -> tuple[float | None, float | None, bool]:
    if isinstance(e, ValueEvidence):
        return e.canary_value, e.stable_value, e.counted
    c = e.canary.bad / e.canary.requests if e.canary.requests > 0 else None
    s = e.stable.bad / e.stable.requests if e.stable.requests > 0 else None
    return c, s, True


@dataclasses.dataclass(frozen=True)
class _Check:
    outcome: str  # "ok" | "breach" | "nodata" | "nobound"
    message: str


class ThresholdJudge:
    """Fixed bounds with consecutive failed checks; implements the Judge protocol."""

    def __init__(self, bounds: Mapping[str, Bound], *, failure_threshold: int = 1, min_requests: int = 0):
        if failure_threshold < 1:
            raise ValueError("failure_threshold must be >= 1")
        self.bounds = dict(bounds)
        self.failure_threshold = failure_threshold
        self.min_requests = min_requests

    # ------------------------------------------------------------------ checks

    def _check(self, bound: Bound, canary: float | None, stable: float | None, counted: bool,
               canary_requests: float, step_requests: float) -> _Check:
        if bound.max is None and bound.max_ratio is None:
            return _Check("nobound", "no bound set (give max or maxRatio)")
        if counted and canary_requests <= 0:
            return _Check("nodata", "no canary requests in this interval")
        if canary is None or math.isnan(canary):
            return _Check("nodata", "no canary value in this interval")
        breaches: list[str] = []
        notes: list[str] = []
        if bound.max is not None and canary > bound.max:
            breaches.append(f"canary {fmt(canary, bound.unit)} > {fmt(bound.max, bound.unit)}")
        if bound.max_ratio is not None:
            if counted and step_requests < self.min_requests:
                # A comparison on a handful of requests is noise (a p99 of 10 requests is
                # their maximum): judge the ratio once the step has its minimum evidence.
                if bound.max is None:
                    return _Check("nodata", f"comparing with stable after {self.min_requests} canary requests "
                                            f"in the step ({step_requests:.0f} so far)")
                notes.append(f"ratio judged after {self.min_requests} requests")
            elif stable is None or math.isnan(stable):
                if bound.max is None:
                    return _Check("nodata", "no stable value to compare with in this interval")
                notes.append("stable has no data; absolute bound only")
            elif canary > bound.max_ratio * stable:
                breaches.append(f"canary {fmt(canary, bound.unit)} > {bound.max_ratio:g} x stable "
                                f"{fmt(stable, bound.unit)}")
        if breaches:
            return _Check("breach", "; ".join(breaches))
        return _Check("ok", "; ".join(notes))

    def update(self, state: Mapping[str, Any] | None, evidence: Sequence[StepEvidence]) -> Judgement:
        state = dict(state or {})
        failed = int(state.get("failedChecks", 0))
        step_requests: dict[str, float] = dict(state.get("stepRequests") or {})
        step = evidence[0].step if evidence else state.get("step")
        if step != state.get("step"):
            step_requests = {}

        checks: list[tuple[StepEvidence, _Check, float | None, float | None]] = []
        for e in evidence:
            bound = self.bounds.get(e.metric, Bound())
            canary, stable, counted = _values(e)
            counted = counted and bound.counted
            if counted:
                step_requests[e.metric] = step_requests.get(e.metric, 0.0) + max(0.0, e.canary.requests)
            checks.append((e, self._check(bound, canary, stable, counted, e.canary.requests,
                                          step_requests.get(e.metric, 0.0)), canary, stable))

        any_breach = any(c.outcome == "breach" for _, c, _, _ in checks)
        any_ok = any(c.outcome == "ok" for _, c, _, _ in checks)
        if any_breach:
            failed += 1
        elif any_ok:
            failed = 0
        failing = any_breach and failed >= self.failure_threshold

        results: list[MetricJudgement] = []
        for e, check, canary, stable in checks:
            bound = self.bounds.get(e.metric, Bound())
            counted = _values(e)[2] and bound.counted
            seen = step_requests.get(e.metric, 0.0)
            note = e.note if isinstance(e, ValueEvidence) and e.note else ""
            if check.outcome == "breach":
                verdict = Verdict.FAIL if failing else Verdict.INCONCLUSIVE
                msg = f"{check.message} (failed check {failed} of {self.failure_threshold})"
            elif check.outcome == "ok":
                if counted and seen < self.min_requests:
                    verdict = Verdict.INCONCLUSIVE
                    msg = f"within bounds; {seen:.0f} of {self.min_requests} canary requests needed at this step"
                else:
                    verdict = Verdict.PASS
                    msg = "within bounds" + (f"; {check.message}" if check.message else "")
            else:
                verdict = Verdict.INCONCLUSIVE
                msg = check.message
            if note:
                msg = f"{msg}; {note}"
            results.append(MetricJudgement(
                metric=e.metric, verdict=verdict, value=canary, stable_value=stable,
                bound=bound.describe(stable), message=msg,
                details={"failedChecks": float(failed), "stepRequests": seen}))

        verdicts = [r.verdict for r in results]
        if any(v is Verdict.FAIL for v in verdicts):
            overall = Verdict.FAIL
        elif verdicts and all(v is Verdict.PASS for v in verdicts):
            overall = Verdict.PASS
        else:
            overall = Verdict.INCONCLUSIVE
        new_state = {"failedChecks": failed, "step": step, "stepRequests": step_requests}
        return Judgement(verdict=overall, metrics=results, state=new_state)

    # --------------------------------------------------------------- preflight

    def preflight(self, *, total_rps: float, stable_error_rate: float, canary_pods: int,
                  stable_pods: int, weights: Sequence[float], step_s: float,
                  max_duration_s: float, pod_sigma: float | None = None) -> Preflight:
        """Fixed bounds detect no *ratio* with any guarantee; check the evidence is reachable."""
        ratios = [b.max_ratio for b in self.bounds.values() if b.max_ratio is not None]
        first = min(weights) if weights else 0.0
        per_step = total_rps * first / 100.0 * step_s
        feasible = per_step >= self.min_requests or self.min_requests == 0
        if feasible:
            msg = (f"fixed bounds: about {per_step:.0f} canary requests in the first {step_s:g}s step "
                   f"(minRequests {self.min_requests})")
        else:
            need = self.min_requests / (total_rps * first / 100.0) if total_rps > 0 and first > 0 else math.inf
            msg = (f"fixed bounds: about {per_step:.0f} canary requests per {step_s:g}s step at {first:g}%, "
                   f"fewer than minRequests {self.min_requests}; each step will need about "
                   f"{fmt(need, 's')}")
            feasible = need * max(1, len(weights)) <= max_duration_s
        return Preflight(min_detectable_ratio=min(ratios) if ratios else None, expected_verdict_s=None,
                         feasible=feasible, message=msg)
