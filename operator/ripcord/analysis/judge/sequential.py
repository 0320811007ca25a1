"""Ripcord's default judge: an anytime-valid comparison of the canary with the stable.

For each metric (errors, or slow requests for latency) and each interval, the canary's
share of the bad events seen by both workloads is binomial given their total, with a
probability fixed by the two request counts and the ratio r = p_canary / p_stable. Two
e-processes run on it (``docs/judge.md``):

- **fail**: H0 "r <= r0"; a mixture over ratios above r0. Reaching M/alpha (M metrics)
  rolls back. However often the judge looks, a canary within tolerance is rolled back
  with probability at most alpha (Ville's inequality), up to the approximations the doc
  lists for overdispersed data and pod spread.
- **pass**: H0' "r >= r1"; a mixture over ratios below r1. Every metric reaching M/beta
  (and the promotion floor) passes; a canary worse than r1 passes with probability at
  most beta.

Both are tempered by the data's own dispersion and integrate a pod random effect
(``dispersion.py``); the arithmetic lives in ``core.py`` and ``evalues.py`` and is shared
with the benchmark's batch path. The state returned in ``Judgement.state`` is a few
hundred numbers per metric, JSON, and lets a restarted operator resume the test.
"""
from __future__ import annotations

import math
from collections import OrderedDict
from typing import Any, Mapping, Sequence

import numpy as np

from . import core
from .core import FloatArray
from .dispersion import sigma_effective
from .base import Counts, Judgement, MetricJudgement, Preflight, StepEvidence, Verdict
from .preflight import preflight as _preflight
from .settings import MetricSettings, SequentialSettings

STATE_VERSION = 1


class SequentialJudge:
    """Implements :class:`~ripcord.analysis.judge.base.Judge`."""

    def __init__(self, settings: SequentialSettings | None = None) -> None:
        self.settings = settings or SequentialSettings()

    # ------------------------------------------------------------------ update

    def update(self, state: Mapping[str, Any] | None, evidence: Sequence[StepEvidence]) -> Judgement:
        s = self.settings
        metrics = _load(state)
        for item in evidence:
            if s.metrics is not None and item.metric not in s.metrics:
                continue
            entry = metrics.setdefault(item.metric, _new_metric())
            ms = s.for_metric(item.metric)
            arrays: core.MetricArrays = entry["arrays"]
            core.fold_interval(
                arrays,
                np.array([float(item.canary.requests)]), np.array([float(item.canary.bad)]),
                np.array([float(item.stable.requests)]), np.array([float(item.stable.bad)]),
                ms, core.Tempering.from_settings(s))
            _add_pods(entry["pods"]["canary"], item.canary, s.max_pods)
            _add_pods(entry["pods"]["stable"], item.stable, s.max_pods)
            reason = _breaker(ms, s, item.canary.requests, item.canary.bad, item.stable.requests, item.stable.bad)
            if reason and not entry.get("tripped"):
                entry["tripped"] = f"{reason} in an interval of step {item.step}"

        m_total = len(s.metrics) if s.metrics is not None else max(len(metrics), 1)
        judged = [self._judge_metric(name, entry, m_total) for name, entry in metrics.items()]
        verdict = _combine(judged, s, metrics)
        new_state = {
            "version": STATE_VERSION,
            "metrics": {name: _dump_metric(entry) for name, entry in metrics.items()},
        }
        return Judgement(verdict=verdict, metrics=judged, state=new_state)

    def _judge_metric(self, name: str, entry: dict[str, Any], m_total: int) -> MetricJudgement:
        s = self.settings
        ms = s.for_metric(name)
        st: core.MetricArrays = entry["arrays"]
        canary_n, _ = _pod_arrays(entry["pods"]["canary"])
        stable_n, stable_e = _pod_arrays(entry["pods"]["stable"])
        sigma = core.pod_sigma(s, 1, stable_n, stable_e)
        m_c, m_s = core.pod_counts(s, 1, canary_n, stable_n)
        s_eff = sigma_effective(sigma, m_c, m_s)
        log_fail, log_pass = core.evaluate(st, core.Grids.build(s, ms), s_eff)
        lf, lp, floor = float(log_fail[0]), float(log_pass[0]), float(st.floor[0])
        fail_at = math.log(m_total / s.alpha)
        pass_at = math.log(m_total / s.beta)
        n_c, e_c, n_s, e_s = (float(st.n_c[0]), float(st.e_c[0]), float(st.n_s[0]), float(st.e_s[0]))
        tripped = entry.get("tripped") or _breaker(ms, s, n_c, e_c, n_s, e_s)
        if tripped:
            entry["tripped"] = tripped  # a tripped breaker stays tripped
        floor_ok = ms.p_max is None or floor >= pass_at
        if tripped:
            verdict, msg = Verdict.FAIL, f"circuit breaker: {tripped}"
        elif lf >= fail_at:
            verdict, msg = Verdict.FAIL, (f"canary worse than {ms.r0:g}x stable: e-value "
                                          f"{math.exp(min(lf, 700)):.3g} >= {m_total / s.alpha:g}")
        elif lp >= pass_at and floor_ok:
            verdict, msg = Verdict.PASS, (f"canary within {ms.r1:g}x stable: e-value "
                                          f"{math.exp(min(lp, 700)):.3g} >= {m_total / s.beta:g}")
        elif core.clean_pass(st, ms, pass_at)[0]:
            # No bad event on either side: the relative test has nothing to compare, and the
            # canary's bad share has been shown below p_clean.
            clean = float(st.floor_clean[0])
            verdict, msg = Verdict.PASS, (f"no bad events on either side; canary's share shown below "
                                          f"{ms.p_clean:g} (e-value {math.exp(min(clean, 700)):.3g} >= "
                                          f"{m_total / s.beta:g})")
        elif n_c <= 0:
            verdict, msg = Verdict.INCONCLUSIVE, "no canary requests yet"
        elif e_c + e_s <= 0:
            verdict, msg = Verdict.INCONCLUSIVE, "no bad events on either side yet: nothing to compare"
        elif lp >= pass_at:
            verdict, msg = Verdict.INCONCLUSIVE, (f"relative evidence is enough, but the canary's "
                                                  f"share is not yet shown below {ms.p_max:g}")
        else:
            verdict, msg = Verdict.INCONCLUSIVE, "not enough evidence yet"
        ratio = (e_c / n_c) / (e_s / n_s) if n_c > 0 and n_s > 0 and e_s > 0 else float("nan")
        details = {
            "log_e_fail": lf, "log_e_pass": lp, "log_e_floor": floor,
            "log_e_floor_clean": float(st.floor_clean[0]),
            "log_fail_threshold": fail_at, "log_pass_threshold": pass_at,
            "phi": float(st.phi[0]), "sigma": float(sigma[0]), "sigma_effective": float(s_eff[0]),
            "canary_pods": float(m_c[0]), "stable_pods": float(m_s[0]),
            "ratio": ratio, "informative_intervals": float(st.df[0]),
            "canary_requests": n_c, "stable_requests": n_s,
        }
        return MetricJudgement(
            metric=name, verdict=verdict,
            value=e_c / n_c if n_c > 0 else None,
            stable_value=e_s / n_s if n_s > 0 else None,
            bound=(f"ratio <= {ms.r0:g} (alpha {s.alpha:g}); promote below {ms.r1:g} "
                   f"(beta {s.beta:g}), M={m_total}"),
            message=msg, details=details)

    # ------------------------------------------------------------------ preflight

    def preflight(self, *, total_rps: float, stable_error_rate: float, canary_pods: int,
                  stable_pods: int, weights: Sequence[float], step_s: float,
                  max_duration_s: float, pod_sigma: float | None = None,
                  metrics: int | None = None, metric: str = "error-rate") -> Preflight:
        return _preflight(self.settings, total_rps=total_rps, stable_error_rate=stable_error_rate,
                          canary_pods=canary_pods, stable_pods=stable_pods, weights=weights,
                          step_s=step_s, max_duration_s=max_duration_s, pod_sigma=pod_sigma,
                          metrics=metrics, metric=metric)


# ---------------------------------------------------------------------- helpers


def _breaker(ms: MetricSettings, s: SequentialSettings, requests: float, bad: float,
             stable_requests: float, stable_bad: float) -> str | None:
    def one(v: float) -> FloatArray:
        return np.array([float(v)])

    if not core.breaker(ms, one(requests), one(bad), s.circuit_breaker_min_requests, one(stable_requests),
                        one(stable_bad), s.circuit_breaker_min_bad)[0]:
        return None
    return f"canary bad share {bad / requests:.1%} > {ms.circuit_breaker:.0%} over {requests:g} requests"


def _combine(judged: Sequence[MetricJudgement], s: SequentialSettings,
             metrics: Mapping[str, Any]) -> Verdict:
    if any(m.verdict is Verdict.FAIL for m in judged):
        return Verdict.FAIL
    if not judged:
        return Verdict.INCONCLUSIVE
    if s.metrics is not None and any(name not in metrics for name in s.metrics):
        return Verdict.INCONCLUSIVE  # a metric that must be judged has no evidence yet
    if all(m.verdict is Verdict.PASS for m in judged):
        return Verdict.PASS
    return Verdict.INCONCLUSIVE


def _new_metric() -> dict[str, Any]:
    return {"arrays": core.MetricArrays.zeros(1), "pods": {"canary": OrderedDict(), "stable": OrderedDict()}}


def _load(state: Mapping[str, Any] | None) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    if not state:
        return out
    if state.get("version") != STATE_VERSION:
        raise ValueError(f"unknown judge state version {state.get('version')!r}")
    for name, data in state.get("metrics", {}).items():
        pods = data.get("pods", {})
        out[name] = {
            "arrays": core.MetricArrays.from_json(data),
            "pods": {side: OrderedDict((k, [float(v[0]), float(v[1])]) for k, v in pods.get(side, {}).items())
                     for side in ("canary", "stable")},
            "tripped": data.get("tripped"),
        }
    return out


def _dump_metric(entry: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = entry["arrays"].to_json()
    out["pods"] = {side: {k: [v[0], v[1]] for k, v in entry["pods"][side].items()}
                   for side in ("canary", "stable")}
    if entry.get("tripped"):
        out["tripped"] = entry["tripped"]
    return out


def _add_pods(store: "OrderedDict[str, list[float]]", counts: Counts, max_pods: int) -> None:
    """Accumulate per-pod totals; beyond ``max_pods`` drop the pods with least traffic
    (old, replaced pods) so the state stays bounded."""
    for pod, (req, bad) in counts.per_pod.items():
        cur = store.setdefault(pod, [0.0, 0.0])
        cur[0] += max(float(req), 0.0)
        cur[1] += min(max(float(bad), 0.0), max(float(req), 0.0))
    if len(store) > max_pods:
        keep = sorted(store, key=lambda k: store[k][0], reverse=True)[:max_pods]
        for k in [k for k in store if k not in keep]:
            del store[k]


def _pod_arrays(store: Mapping[str, list[float]]) -> tuple[np.ndarray | None, np.ndarray | None]:
    if not store:
        return None, None
    arr = np.array(list(store.values()), dtype=np.float64)
    return arr[None, :, 0], arr[None, :, 1]
