"""Before a rollout: what the judge can see with this traffic and these pods.

A normal approximation of the judge's e-values. After time T the estimated log ratio has
variance ``v_T = phi / I_T`` (``I_T``: Fisher information of the conditional binomial
model, summed over the planned steps) plus the pod term ``s^2 = sigma^2 (1/m_c + 1/m_s)``.
The fail mixture then exceeds M/alpha at the median once the true log ratio reaches

    min_j (t0 + t_j)/2 + (s^2 + v_T) (log(M/alpha) - log w_j) / (t_j - t0)

(``t = log r``), and the pass mixture on a healthy canary once the mirror bound for r1
drops below 0. This is Wald's expected-time argument for the judge's own mixture; with
``v_T -> 0`` it shows the pod-limited floor, which no amount of traffic removes. Any
level-alpha test has its own floor ``r0 exp(z_{1-alpha} s)``, reported beside it.
"""
from __future__ import annotations

import dataclasses
import math
from statistics import NormalDist
from typing import Sequence

import numpy as np

from .base import Preflight
from .settings import SequentialSettings

#: tempering by the residuals' 20% quantile costs about this factor in information
_TEMPER_COST = 1.3
_RATIO_SCAN = np.exp(np.linspace(math.log(1.01), math.log(50.0), 400))


def _schedule(weights: Sequence[float], step_s: float, horizon_s: float, dt: float) -> np.ndarray:
    """Canary share (0..1) for each dt slice up to ``horizon_s``; the last weight holds."""
    t = np.arange(0.0, horizon_s, dt)
    idx = np.minimum((t // max(step_s, dt)).astype(int), len(weights) - 1)
    return np.asarray(np.clip(np.asarray(weights, dtype=np.float64)[idx] / 100.0, 0.0, 1.0), dtype=np.float64)


def _info(share: np.ndarray, rps: float, p: float, ratio: float, dt: float, phi: float) -> np.ndarray:
    """Cumulative information about log r after each slice, at true ratio ``ratio``."""
    w = np.clip(share, 1e-9, 1 - 1e-9)
    lam = rps * p * (w * ratio + (1.0 - w))
    pi = w * ratio / (w * ratio + 1.0 - w)
    return np.cumsum(lam * pi * (1.0 - pi) * dt) / phi


def _fail_threshold(t0: float, alts: np.ndarray, logw: float, level: float, var: np.ndarray) -> np.ndarray:
    """Log ratio at which the fail mixture reaches ``level`` at the median."""
    d = alts - t0
    thr = (t0 + alts[None, :]) / 2.0 + var[:, None] * (level - logw) / d[None, :]
    return np.asarray(thr.min(axis=1), dtype=np.float64)


def _pass_threshold(t1: float, alts: np.ndarray, logw: float, level: float, var: np.ndarray) -> np.ndarray:
    d = t1 - alts
    thr = (t1 + alts[None, :]) / 2.0 - var[:, None] * (level - logw) / d[None, :]
    return np.asarray(thr.max(axis=1), dtype=np.float64)


@dataclasses.dataclass(frozen=True)
class _Model:
    """The quantities every pre-flight question shares, for one set of inputs."""

    s2: float  # pod term of the variance
    sigma: float
    measured: bool
    t0: float
    t1: float
    fail: np.ndarray
    pas: np.ndarray
    fail_level: float
    pass_level: float
    phi: float
    p_max: float | None
    p_clean: float | None


def _model(s: SequentialSettings, *, canary_pods: int, stable_pods: int, pod_sigma: float | None,
           metrics: int | None, metric: str) -> _Model:
    ms = s.for_metric(metric)
    m_total = metrics or (len(s.metrics) if s.metrics else 1)
    measured = pod_sigma is not None or s.pod_sigma is not None
    sigma = pod_sigma if pod_sigma is not None else (s.pod_sigma if s.pod_sigma is not None
                                                     else s.default_pod_sigma)
    sigma = min(sigma, s.pod_sigma_max)
    s2 = sigma**2 * (1.0 / max(canary_pods, 1) + (1.0 / stable_pods if stable_pods > 0 else 0.0))
    return _Model(s2=s2, sigma=sigma, measured=measured, t0=math.log(ms.r0), t1=math.log(ms.r1),
                  fail=np.log([g for g in s.fail_grid if g > ms.r0]),
                  pas=np.log([g for g in s.pass_grid if 0 < g < ms.r1]),
                  fail_level=math.log(m_total / s.alpha), pass_level=math.log(m_total / s.beta),
                  phi=max(s.warm_phi or 1.0, 1.0) * _TEMPER_COST, p_max=ms.p_max, p_clean=ms.p_clean)


def _pass_curve(m: _Model, share: np.ndarray, times: np.ndarray, total_rps: float, p: float, dt: float
                ) -> tuple[np.ndarray, np.ndarray, float | None]:
    """The pass bound and variance after each slice for a healthy canary, and the expected
    time to a pass (None: never within the horizon)."""
    var1 = m.s2 + 1.0 / np.maximum(_info(share, total_rps, p, 1.0, dt, m.phi), 1e-300)
    pass_thr = _pass_threshold(m.t1, m.pas, -math.log(m.pas.size), m.pass_level, var1)
    ok_pass = pass_thr >= 0.0
    t_pass = float(times[ok_pass.argmax()]) if ok_pass.any() else None
    if t_pass is not None and m.p_max is not None:
        drift = p * math.log(0.5) + (1 - p) * math.log((1 - m.p_max / 2) / (1 - m.p_max))
        if drift <= 0:
            t_pass = None
        else:
            need = m.pass_level / drift * m.phi
            served = np.cumsum(total_rps * share * dt)
            t_floor = float(times[(served >= need).argmax()]) if (served >= need).any() else None
            t_pass = None if t_floor is None else max(t_pass, t_floor)
    return pass_thr, var1, t_pass


def _clean_pass_time(m: _Model, share: np.ndarray, times: np.ndarray, total_rps: float, dt: float) -> float | None:
    """With no bad event on either side (a clean stable): the time until the canary's clean
    requests show its share below ``p_clean`` (the judge's clean pass), or None."""
    if m.p_clean is None:
        return None
    per_request = math.log((1.0 - m.p_clean / 2.0) / (1.0 - m.p_clean))
    need = m.pass_level / per_request * m.phi
    served = np.cumsum(total_rps * share * dt)
    return float(times[(served >= need).argmax()]) if (served >= need).any() else None


def time_to_pass(s: SequentialSettings, *, total_rps: float, stable_error_rate: float, canary_pods: int,
                 stable_pods: int, weights: Sequence[float], step_s: float, horizon_s: float,
                 pod_sigma: float | None = None, metrics: int | None = None,
                 metric: str = "error-rate") -> float | None:
    """Expected seconds until a healthy canary passes, looking up to ``horizon_s`` (None:
    not within it). The cheap half of :func:`preflight`, for searching a fix (how many
    canary pods, how long a ``maxDuration``)."""
    if total_rps <= 0 or stable_error_rate < 0 or not weights or max(weights) <= 0:
        return None
    m = _model(s, canary_pods=canary_pods, stable_pods=stable_pods, pod_sigma=pod_sigma, metrics=metrics,
               metric=metric)
    dt = max(min(step_s, horizon_s) / 20.0, 1.0)
    share = _schedule(weights, step_s, horizon_s, dt)
    times = dt * np.arange(1, share.size + 1)
    if stable_error_rate <= 0:
        return _clean_pass_time(m, share, times, total_rps, dt)
    return _pass_curve(m, share, times, total_rps, stable_error_rate, dt)[2]


def preflight(s: SequentialSettings, *, total_rps: float, stable_error_rate: float,
              canary_pods: int, stable_pods: int, weights: Sequence[float], step_s: float,
              max_duration_s: float, pod_sigma: float | None = None, metrics: int | None = None,
              metric: str = "error-rate") -> Preflight:
    """The smallest ratio the judge detects (at the median) within ``max_duration_s``, the
    expected time for a healthy canary to pass, and whether that fits in the time allowed."""
    ms = s.for_metric(metric)
    md = _model(s, canary_pods=canary_pods, stable_pods=stable_pods, pod_sigma=pod_sigma, metrics=metrics,
                metric=metric)
    s2, sigma, measured, fail, t0, fail_level, phi = md.s2, md.sigma, md.measured, md.fail, md.t0, md.fail_level, md.phi
    s_eff = math.sqrt(s2)
    z = NormalDist().inv_cdf(1.0 - s.alpha)
    pod_floor_any_test = ms.r0 * math.exp(z * s_eff)
    pod_floor_judge = math.exp(float(_fail_threshold(t0, fail, -math.log(fail.size), fail_level,
                                                     np.array([s2]))[0]))

    if total_rps <= 0 or stable_error_rate < 0 or not weights or max(weights) <= 0:
        return Preflight(None, None, False,
                         "no traffic or no canary weight: the judge cannot reach a verdict")
    if stable_error_rate == 0:
        dt = max(min(step_s, max_duration_s) / 20.0, 1.0)
        share = _schedule(weights, step_s, max(10.0 * max_duration_s, 86400.0), dt)
        times = dt * np.arange(1, share.size + 1)
        t_clean = _clean_pass_time(md, share, times, total_rps, dt)
        if t_clean is None:
            return Preflight(None, None, False, "no bad events on the stable: the ratio test has nothing to "
                                                "compare, and this metric has no clean pass (a latency metric)")
        ok = t_clean <= max_duration_s
        return Preflight(None, t_clean, ok, (
            f"{total_rps:g} rps, canary weights {', '.join(f'{w:g}%' for w in weights)}, no bad events on the "
            f"stable: no ratio can be tested. A clean canary passes on its own clean requests (bad share shown "
            f"below {md.p_clean:g}) in about {t_clean:.0f} s"
            + ("." if ok else f", after maxDuration ({max_duration_s:g} s).")))

    dt = max(min(step_s, max_duration_s) / 20.0, 1.0)
    horizon = max(10.0 * max_duration_s, 86400.0)
    share = _schedule(weights, step_s, horizon, dt)
    times = dt * np.arange(1, share.size + 1)
    in_time = times <= max_duration_s

    def detect_time(ratio: float) -> float | None:
        var = s2 + 1.0 / np.maximum(_info(share, total_rps, stable_error_rate, ratio, dt, phi), 1e-300)
        ok = math.log(ratio) >= _fail_threshold(t0, fail, -math.log(fail.size), fail_level, var)
        return float(times[ok.argmax()]) if ok.any() else None

    min_ratio = None
    for r in _RATIO_SCAN[_RATIO_SCAN > ms.r0]:
        t = detect_time(float(r))
        if t is not None and t <= max_duration_s:
            min_ratio = float(r)
            break
    ttd_2x = detect_time(2.0)

    pass_thr, var1, t_pass = _pass_curve(md, share, times, total_rps, stable_error_rate, dt)
    # chance that a healthy canary's estimate falls below the pass bound in the time allowed
    last = max(int(in_time.sum()) - 1, 0)
    p_pass = NormalDist().cdf(float(pass_thr[last]) / math.sqrt(float(var1[last])))

    feasible = t_pass is not None and t_pass <= max_duration_s
    parts = [f"{total_rps:g} rps, canary weights {', '.join(f'{w:g}%' for w in weights)}, "
             f"stable bad share {stable_error_rate:.3g}, {canary_pods} canary vs {stable_pods} stable pods "
             f"(pod sigma {sigma:.2f}{'' if measured else ', assumed: not measured'})."]
    if min_ratio is None:
        parts.append(f"No regression is detectable within {max_duration_s:g} s.")
    else:
        parts.append(f"Smallest ratio detected within {max_duration_s:g} s: {min_ratio:.2f}x.")
    if ttd_2x is not None and ttd_2x <= max_duration_s:
        parts.append(f"A 2x regression is expected to be caught in about {ttd_2x:.0f} s.")
    else:
        parts.append("It cannot see a 2x regression in the time allowed.")
    if pod_floor_judge >= 2.0 or pod_floor_any_test >= 2.0:
        parts.append(f"Pod spread alone limits it to {pod_floor_judge:.1f}x (no level-{s.alpha:g} test "
                     f"could see below {pod_floor_any_test:.1f}x with these pods): run more canary pods "
                     f"at the same weight (gateway-api provider).")
    if t_pass is None or t_pass > max_duration_s:
        parts.append(f"A healthy canary passes within the time allowed only about {p_pass:.0%} of the time "
                     f"(otherwise the verdict stays inconclusive).")
    else:
        parts.append(f"A healthy canary is expected to pass in about {t_pass:.0f} s.")
    return Preflight(min_detectable_ratio=min_ratio, expected_verdict_s=t_pass, feasible=feasible,
                     message=" ".join(parts))
