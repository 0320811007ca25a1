"""The judge's per-metric state and its two operations, for a batch of independent tests.

``fold_interval`` adds one interval of evidence; ``evaluate`` turns the state into log
e-values. :class:`~ripcord.analysis.judge.sequential.SequentialJudge` runs them on a batch
of one and stores the arrays as JSON; the benchmark runs them on thousands of simulated
rollouts at once (``batch.BatchJudge``).
"""
from __future__ import annotations

import dataclasses
import math
from typing import Any, Mapping

import numpy as np
from numpy.typing import NDArray

from . import dispersion as disp
from . import evalues as ev
from .settings import MetricSettings, SequentialSettings

FloatArray = NDArray[np.float64]

_SCALARS = ("x2a", "x2b", "x2c", "df", "h_sum", "info", "events", "floor", "floor_clean", "n_c", "e_c", "n_s", "e_s",
            "intervals", "phi")


@dataclasses.dataclass
class MetricArrays:
    """Sufficient statistics of one metric's test, one row per test.

    ``lam``: tempered conditional log-likelihood on the theta grid (max 0).
    ``x2a/x2b/x2c``: Pearson sums, X^2(r) = a r + b / r + c. ``df``: informative intervals.
    ``h_sum``: their summed event scale. ``info``: sum of E pi (1 - pi), about the
    number of canary-side events seen (what the residuals can tell about dispersion).
    ``events``: tempered bad events, sum c_k E_k
    (bounds the curvature of ``lam``: |lam''| <= events / 4). ``floor``/``floor_clean``:
    tempered log e-values of the promotion floor at p_max and at p_clean. ``n_*``/``e_*``: requests and bad events so far. ``phi``: last dispersion used.
    """

    lam: FloatArray
    x2a: FloatArray
    x2b: FloatArray
    x2c: FloatArray
    df: FloatArray
    h_sum: FloatArray
    info: FloatArray
    events: FloatArray
    floor: FloatArray
    floor_clean: FloatArray
    n_c: FloatArray
    e_c: FloatArray
    n_s: FloatArray
    e_s: FloatArray
    intervals: FloatArray
    phi: FloatArray

    @classmethod
    def zeros(cls, rows: int) -> "MetricArrays":
        z = {name: np.zeros(rows) for name in _SCALARS}
        z["phi"] = np.ones(rows)
        return cls(lam=np.zeros((rows, ev.GRID_SIZE)), **z)

    def take(self, rows: NDArray[np.int64]) -> "MetricArrays":
        """The same statistics restricted to some rows (the benchmark drops finished runs)."""
        return MetricArrays(**{f.name: getattr(self, f.name)[rows] for f in dataclasses.fields(self)})

    def to_json(self, row: int = 0) -> dict[str, Any]:
        out: dict[str, Any] = {name: float(getattr(self, name)[row]) for name in _SCALARS}
        out["lam"] = [float(v) for v in self.lam[row]]
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "MetricArrays":
        st = cls.zeros(1)
        for name in _SCALARS:
            if name in data:
                getattr(st, name)[0] = float(data[name])
        lam = data.get("lam")
        if lam is not None:
            if len(lam) != ev.GRID_SIZE:
                raise ValueError("judge state has a theta grid of another size")
            st.lam[0] = np.asarray(lam, dtype=np.float64)
        return st


@dataclasses.dataclass(frozen=True)
class Tempering:
    """Per-row warm start of the dispersion (arrays or scalars broadcast to rows)."""

    warm_phi: FloatArray | float
    warm_excess: FloatArray | float
    quantile: float
    warm_intervals: int
    warm_information: float

    @classmethod
    def from_settings(cls, s: SequentialSettings) -> "Tempering":
        return cls(
            warm_phi=s.default_warm_phi if s.warm_phi is None else s.warm_phi,
            warm_excess=(s.default_warm_excess_per_event if s.warm_excess_per_event is None
                         else s.warm_excess_per_event),
            quantile=s.dispersion_quantile,
            warm_intervals=s.warm_intervals,
            warm_information=s.warm_information,
        )


def fold_interval(st: MetricArrays, n_c: FloatArray, e_c: FloatArray, n_s: FloatArray,
                  e_s: FloatArray, ms: MetricSettings, temper: Tempering,
                  active: NDArray[np.bool_] | None = None) -> None:
    """Add one interval's counter deltas to every active row, in place.

    The tempering exponent uses only past residuals and this interval's event count and
    request split, on which the conditional test conditions: it is predictable, so the
    tempered likelihood ratio keeps expectation <= 1 under the binomial model.
    """
    rows = st.lam.shape[0]
    act = np.ones(rows, dtype=bool) if active is None else active
    n_c = np.where(act, np.maximum(n_c, 0.0), 0.0)
    n_s = np.where(act, np.maximum(n_s, 0.0), 0.0)
    e_c = np.where(act, np.clip(e_c, 0.0, n_c), 0.0)
    e_s = np.where(act, np.clip(e_s, 0.0, n_s), 0.0)
    ok = ev.informative(n_c, e_c, n_s, e_s)
    total = e_c + e_s

    ratio = disp.min_chi2_ratio(st.x2a, st.x2b)
    x2 = disp.pearson_min(st.x2a, st.x2b, st.x2c)
    h_now = np.asarray(np.where(ok, disp.event_scale(np.maximum(n_c, 1e-12), n_s, total, ratio), 0.0),
                       dtype=np.float64)
    warm_done = (st.df >= temper.warm_intervals) & (st.info >= temper.warm_information)
    phi = disp.phi_interval(x2, st.df, st.h_sum, h_now, np.broadcast_to(np.asarray(temper.warm_phi, dtype=np.float64),
                                                                          (rows,)),
                            np.broadcast_to(np.asarray(temper.warm_excess, dtype=np.float64), (rows,)),
                            temper.quantile, warm_done)
    c = 1.0 / phi

    if ok.any():
        idx = np.flatnonzero(ok)
        lam = st.lam[idx] + c[idx, None] * ev.interval_loglik(n_c[idx], e_c[idx], n_s[idx], e_s[idx])
        st.lam[idx] = ev.normalise(lam)
        a, b, cc = disp.pearson_sums(n_c, e_c, n_s, e_s, ok)
        st.x2a += a
        st.x2b += b
        st.x2c += cc
        st.h_sum += h_now
        st.info += np.where(ok, disp.binomial_information(n_c, n_s, total, ratio), 0.0)
        st.events += np.where(ok, c * total, 0.0)
        st.df += ok
    if ms.p_max is not None:
        st.floor += np.where(act & (n_c > 0), c * ev.floor_loglik(n_c, e_c, ms.p_max), 0.0)
    if ms.p_clean is not None:
        st.floor_clean += np.where(act & (n_c > 0), c * ev.floor_loglik(n_c, e_c, ms.p_clean), 0.0)
    st.phi = np.where(act & (n_c + n_s > 0), phi, st.phi)
    st.n_c += n_c
    st.e_c += e_c
    st.n_s += n_s
    st.e_s += e_s
    st.intervals += act & (n_c + n_s > 0)


@dataclasses.dataclass(frozen=True)
class Grids:
    """Log alternatives and log weights of the fail and pass mixtures of one metric."""

    fail_t: FloatArray
    fail_logw: FloatArray
    null_fail: float
    pass_t: FloatArray
    pass_logw: FloatArray
    null_pass: float

    @classmethod
    def build(cls, s: SequentialSettings, ms: MetricSettings) -> "Grids":
        fail = np.array([g for g in s.fail_grid if g > ms.r0], dtype=np.float64)
        pas = np.array([g for g in s.pass_grid if 0 < g < ms.r1], dtype=np.float64)
        return cls(
            fail_t=np.log(fail), fail_logw=np.full(fail.size, -math.log(fail.size)),
            null_fail=math.log(ms.r0),
            pass_t=np.log(pas), pass_logw=np.full(pas.size, -math.log(pas.size)),
            null_pass=math.log(ms.r1),
        )


def evaluate(st: MetricArrays, grids: Grids, sigma_eff: FloatArray,
             fail: bool = True, passing: bool = True) -> tuple[FloatArray, FloatArray]:
    """(log E_fail, log E_pass) per row (NaN for a part not asked for).

    E_fail: mixture over r_j > r0 of L(r_j)/L(r0); E_pass: mixture over r_j < r1 of
    L(r_j)/L(r1); L the tempered likelihood integrated over the pod random effect.
    """
    parts: list[Any] = []
    if fail:
        parts += [grids.fail_t, [grids.null_fail]]
    if passing:
        parts += [grids.pass_t, [grids.null_pass]]
    rows = st.lam.shape[0]
    nan = np.full(rows, np.nan)
    if not parts:
        return nan, nan.copy()
    lm = ev.log_marginal(st.lam, np.concatenate(parts), sigma_eff)
    log_fail, log_pass = nan, nan.copy()
    nf = grids.fail_t.size
    if fail:
        log_fail = _logsumexp(lm[:, :nf] + grids.fail_logw[None, :]) - lm[:, nf]
        lm = lm[:, nf + 1:]
    if passing:
        log_pass = _logsumexp(lm[:, :-1] + grids.pass_logw[None, :]) - lm[:, -1]
    return log_fail, log_pass


def _logsumexp(x: FloatArray) -> FloatArray:
    m = x.max(axis=1, keepdims=True)
    return np.asarray(m[:, 0] + np.log(np.exp(x - m).sum(axis=1)), dtype=np.float64)


def pod_sigma(s: SequentialSettings, rows: int, stable_requests: FloatArray | None,
              stable_bad: FloatArray | None, warm: FloatArray | float | None = None) -> FloatArray:
    """Pod spread sigma per row: the warm start when known (it comes from a longer window),
    else the stable's in-run per-pod counters once they hold ``min_pod_events`` bad events
    per pod on average, else the cautious default."""
    if warm is None:
        warm = s.pod_sigma
    sigma = np.full(rows, s.default_pod_sigma)
    w = None if warm is None else np.broadcast_to(np.asarray(warm, dtype=np.float64), (rows,))
    need_run = w is None or bool(np.isnan(w).any())
    if need_run and stable_requests is not None and stable_bad is not None and stable_requests.shape[1] >= 2:
        run = disp.pod_sigma_upper(stable_requests, stable_bad, s.pod_sigma_quantile, s.pod_sigma_max)
        pods = np.maximum((stable_requests > 0).sum(axis=1), 1)
        enough = stable_bad.sum(axis=1) / pods >= s.min_pod_events
        sigma = np.where(enough & ~np.isnan(run), run, sigma)
    if w is not None:
        sigma = np.where(np.isnan(w), sigma, np.minimum(w, s.pod_sigma_max))
    return sigma


def pod_counts(s: SequentialSettings, rows: int, canary_requests: FloatArray | None,
               stable_requests: FloatArray | None) -> tuple[FloatArray, FloatArray]:
    """Effective numbers of canary and stable pods (0 stable pods means "many").

    From per-pod request totals when the evidence carries them, else the settings' hints,
    else one canary pod against many stable pods (the cautious reading)."""
    def side(req: FloatArray | None, hint: int | None, fallback: float) -> FloatArray:
        if req is not None and req.shape[1] > 0:
            m = disp.effective_pods(req)
            if hint is not None:
                m = np.where(m > 0, m, float(hint))
            return np.where(m > 0, m, fallback)
        return np.full(rows, float(hint) if hint is not None else fallback)

    return side(canary_requests, s.canary_pods, 1.0), side(stable_requests, s.stable_pods, 0.0)


def breaker(ms: MetricSettings, requests: FloatArray, bad: FloatArray, min_requests: float,
            stable_requests: FloatArray | None = None, stable_bad: FloatArray | None = None,
            min_bad: float = 20.0) -> NDArray[np.bool_]:
    """The absolute circuit breaker: a canary bad share above ``ms.circuit_breaker`` over at
    least ``min_requests`` requests, with at least ``min_bad`` bad ones, fails at once.

    The count of bad requests keeps two unlucky errors among a dozen requests (counted
    three times each when clients retry) from passing for a broken version.

    Unless the stable, over the same interval, is at least half as bad: an outage that hits
    both workloads (a downstream dependency down) is not the canary's doing, and the
    comparison with the stable is left to the e-processes, which cancel it.
    """
    if ms.circuit_breaker is None:
        return np.zeros(np.shape(requests), dtype=bool)
    req = np.asarray(requests, dtype=np.float64)
    bad_ = np.asarray(bad, dtype=np.float64)
    trip = (req >= max(min_requests, 1e-9)) & (bad_ >= min_bad) & (bad_ > ms.circuit_breaker * req)
    if stable_requests is not None and stable_bad is not None:
        s_req = np.asarray(stable_requests, dtype=np.float64)
        s_share = np.where(s_req > 0, np.asarray(stable_bad) / np.maximum(s_req, 1e-12), 0.0)
        trip &= s_share < 0.5 * bad_ / np.maximum(req, 1e-12)
    return trip


def cannot_cross(st: MetricArrays, alt_log_ratio: FloatArray, alt_log_weight: FloatArray,
                 null_log_ratio: float, sigma_eff: FloatArray, level: float) -> NDArray[np.bool_]:
    """Rows whose mixture e-value is certainly below ``level`` (log scale).

    A cheap pre-check for the benchmark's batch path: skipping such rows changes no
    verdict (a margin covers interpolation and quadrature error). ``lam`` is concave, so
    it lies under its tangent at the null t0 and under its maximum 0: each alternative's
    pod-mixed likelihood is at most exp(min(0, lam(t0) + lam'(t0)(t_j - t0) +
    lam'(t0)^2 s^2 / 2)); the null's is at least exp(lam(t0) - s^2 events / 8) (Jensen,
    and lam'' >= -events/4). Useful when the pod term is small (most rows of most cells).
    """
    v0, d0 = ev.value_at(st.lam, null_log_ratio)
    s2 = sigma_eff**2
    tangent = v0[:, None] + d0[:, None] * (alt_log_ratio[None, :] - null_log_ratio) + (d0**2 * s2)[:, None] / 2.0
    num = _logsumexp(np.minimum(tangent, 0.0) + alt_log_weight[None, :])
    den = v0 - s2 * st.events / 8.0
    return num - den < level - 0.1


def clean_pass(st: MetricArrays, ms: MetricSettings, level: float) -> NDArray[np.bool_]:
    """No bad event on either side, and the canary's share shown below ``p_clean``.

    The ratio test cannot move without bad events, so a clean canary beside a clean stable
    would wait for ever; this passes it on absolute evidence instead: a canary whose bad
    share is p_clean or more gets here with probability at most exp(-level).
    """
    if ms.p_clean is None:
        return np.zeros(st.n_c.shape, dtype=bool)
    return (st.e_c + st.e_s <= 0) & (st.n_c > 0) & (st.floor_clean >= level)
