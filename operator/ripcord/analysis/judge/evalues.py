"""E-value arithmetic of the sequential judge, written once for a batch of runs.

Every function takes arrays whose first axis is the batch (one row per independent
test). The operator's judge calls them with a batch of one; the benchmark calls them
with thousands of simulated rollouts. Same formulas, so the benchmark measures the
judge that runs in the cluster.

The model (``docs/judge.md``): in interval k the canary's bad events, given the total
``E_k = e_c + e_s``, are Binomial(E_k, pi_k(rho)) with
``pi_k(rho) = rho n_c / (rho n_c + n_s)`` and ``rho = p_c / p_s``. Conditioning on E_k
cancels whatever hits both workloads at once (load, a downstream blip). With
``theta = log rho`` and ``alpha_k = log(n_c / n_s)`` the log-likelihood of one interval
is, up to a constant, ``e_c theta - E softplus(theta + alpha_k)``: concave in theta, and
it uses that interval's own request counts, so weight changes between steps are fine.

The judge keeps the tempered sum of these log-likelihoods on a fixed theta grid (the
state stays a fixed size however long the rollout runs). The pod random effect
``theta = log r + log u``, ``log u ~ N(0, s^2)``, is integrated with adaptive
Gauss-Hermite quadrature centred on the mode of the (log-concave) integrand, which stays
accurate both when the data are scarce (the prior dominates) and when they are
plentiful (the likelihood is far narrower than the prior).
"""
from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]

#: theta grid: log ratio from e^-5 (0.0067) to e^6.5 (665), step 0.1. Wide enough for
#: every grid ratio (0.5 .. 10) plus four prior standard deviations at the largest
#: allowed pod sigma (1.0); fine enough that 4-point interpolation errs by < 0.01 nats
#: even after 10^5 bad events.
THETA0 = -5.0
DTHETA = 0.1
GRID_SIZE = 116
THETA: FloatArray = np.asarray(THETA0 + DTHETA * np.arange(GRID_SIZE), dtype=np.float64)

#: Gauss-Hermite nodes and weights (physicists' convention) for the random effect.
_GH_X, _GH_W = np.polynomial.hermite.hermgauss(5)
_NEWTON_STEPS = 1
_GH_LOGW = np.log(_GH_W) + _GH_X**2
_SQRT2 = math.sqrt(2.0)
_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
#: Below this pod sigma the random effect is ignored (evaluate the plain likelihood).
SIGMA_EPS = 1e-3


def informative(n_c: FloatArray, e_c: FloatArray, n_s: FloatArray, e_s: FloatArray) -> NDArray[np.bool_]:
    """An interval carries information about the ratio only with requests on both sides
    and at least one bad event."""
    return (n_c > 0) & (n_s > 0) & ((e_c + e_s) > 0)


_EXP_THETA = np.exp(THETA)


def interval_loglik(n_c: FloatArray, e_c: FloatArray, n_s: FloatArray, e_s: FloatArray) -> FloatArray:
    """Conditional binomial log-likelihood of one interval on the theta grid, shape (R, G).

    Rows that are not informative are zero (they carry no evidence either way).
    ``softplus(theta + alpha) = log1p(e^theta n_c / n_s)``.
    """
    ok = informative(n_c, e_c, n_s, e_s)
    a = np.where(ok, n_c, 1.0) / np.where(ok, n_s, 1.0)
    total = np.where(ok, e_c + e_s, 0.0)
    return np.asarray(np.where(ok, e_c, 0.0)[:, None] * THETA[None, :]
                      - total[:, None] * np.log1p(a[:, None] * _EXP_THETA[None, :]), dtype=np.float64)


def normalise(lam: FloatArray) -> FloatArray:
    """Shift each row so its maximum is 0: only differences of log-likelihoods matter,
    and small numbers keep the stored state readable and exact in JSON."""
    return np.asarray(lam - lam.max(axis=1, keepdims=True), dtype=np.float64)


class Interpolant:
    """Piecewise cubic through the gridded log-likelihood of every row.

    On the cell [theta_i, theta_i+1] it is the Lagrange cubic through the grid points
    i-1 .. i+2 (one gather of four neighbours and a Horner step per point). Outside the grid it continues linearly from the edge (the function is
    concave, and the prior puts negligible mass that far out).
    """

    def __init__(self, lam: FloatArray) -> None:
        self.lam = lam
        self.flat = lam.reshape(-1)
        self.row_base = (np.arange(lam.shape[0]) * GRID_SIZE)[:, None]
        self.slope_lo = (lam[:, 1] - lam[:, 0]) / DTHETA
        self.slope_hi = (lam[:, -1] - lam[:, -2]) / DTHETA

    def __call__(self, x: FloatArray, derivatives: bool = True
                 ) -> tuple[FloatArray, FloatArray | None, FloatArray | None]:
        """Value, and first and second derivative (unless not asked), at ``x`` of shape (R, ...)."""
        r = self.lam.shape[0]
        shape = x.shape
        xf = x.reshape(r, -1)
        u = (xf - THETA0) / DTHETA
        i = np.clip(np.floor(u).astype(np.int64), 1, GRID_SIZE - 3)
        t = u - i
        base = self.row_base + i
        p0, p1 = self.flat.take(base - 1), self.flat.take(base)
        p2, p3 = self.flat.take(base + 1), self.flat.take(base + 2)
        c1 = p2 - p0 / 3.0 - p1 / 2.0 - p3 / 6.0
        c2 = (p0 + p2) / 2.0 - p1
        c3 = (p3 - p0) / 6.0 + (p1 - p2) / 2.0
        val = p1 + t * (c1 + t * (c2 + t * c3))
        d1 = d2 = None
        if derivatives:
            d1 = (c1 + t * (2.0 * c2 + 3.0 * t * c3)) / DTHETA
            d2 = (2.0 * c2 + 6.0 * t * c3) / DTHETA**2
        lo = u < 0.0
        hi = u > GRID_SIZE - 1
        if lo.any() or hi.any():
            s_lo, s_hi = self.slope_lo[:, None], self.slope_hi[:, None]
            v_lo = self.lam[:, :1] + s_lo * (xf - THETA[0])
            v_hi = self.lam[:, -1:] + s_hi * (xf - THETA[-1])
            val = np.where(lo, v_lo, np.where(hi, v_hi, val))
            if d1 is not None and d2 is not None:
                d1 = np.where(lo, s_lo, np.where(hi, s_hi, d1))
                d2 = np.where(lo | hi, 0.0, d2)
        if not derivatives:
            return val.reshape(shape), None, None
        assert d1 is not None and d2 is not None
        return val.reshape(shape), d1.reshape(shape), d2.reshape(shape)


def value_at(lam: FloatArray, x: float) -> tuple[FloatArray, FloatArray]:
    """The interpolant's value and slope at one point for every row (no set-up cost)."""
    u = (x - THETA0) / DTHETA
    if not 0.0 <= u <= GRID_SIZE - 1:
        v, d1, _ = interp(lam, np.full((lam.shape[0], 1), x))
        return v[:, 0], d1[:, 0]
    i = int(min(max(math.floor(u), 1), GRID_SIZE - 3))
    t = u - i
    p0, p1, p2, p3 = lam[:, i - 1], lam[:, i], lam[:, i + 1], lam[:, i + 2]
    c1 = -p0 / 3.0 - p1 / 2.0 + p2 - p3 / 6.0
    c2 = (p0 + p2) / 2.0 - p1
    c3 = (p3 - p0) / 6.0 + (p1 - p2) / 2.0
    return p1 + t * (c1 + t * (c2 + t * c3)), (c1 + t * (2.0 * c2 + 3.0 * t * c3)) / DTHETA


def interp(lam: FloatArray, x: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Value, first and second derivative of the gridded log-likelihood at ``x``."""
    val, d1, d2 = Interpolant(lam)(x)
    assert d1 is not None and d2 is not None
    return val, d1, d2


def _peak(lam: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Location and curvature (>= 0) of each row's maximum, by a parabola through the
    best grid point and its neighbours. Used only to start the mode search."""
    i = np.clip(lam.argmax(axis=1), 1, GRID_SIZE - 2)
    rows = np.arange(lam.shape[0])
    a, b, c = lam[rows, i - 1], lam[rows, i], lam[rows, i + 1]
    curv = np.maximum(-(a - 2 * b + c) / DTHETA**2, 0.0)
    denom = np.where(curv > 0, (a - 2 * b + c), -1.0)
    shift = np.clip(0.5 * (a - c) / denom, -1.0, 1.0)
    return THETA[i] + shift * DTHETA, curv


def log_marginal(lam: FloatArray, t: FloatArray, sigma: FloatArray) -> FloatArray:
    """log of integral exp(lam(theta)) N(theta; t_j, sigma^2) dtheta, shape (R, J).

    ``t`` is (J,) log ratios, ``sigma`` is (R,). With sigma ~ 0 this is lam(t_j).
    Adaptive Gauss-Hermite: Newton steps to the mode of the concave integrand, then
    nodes scaled by its curvature.
    """
    f = Interpolant(lam)
    r = lam.shape[0]
    t2 = np.broadcast_to(t[None, :], (r, t.shape[0]))
    s = np.maximum(sigma, SIGMA_EPS)[:, None]
    prec = 1.0 / s**2
    theta_hat, curv = _peak(lam)
    m = (curv[:, None] * theta_hat[:, None] + prec * t2) / (curv[:, None] + prec)
    for _ in range(_NEWTON_STEPS):
        _, d1, d2 = f(m)
        assert d1 is not None and d2 is not None
        g2 = np.minimum(d2, 0.0) - prec
        m = m + np.clip(-(d1 - (m - t2) * prec) / g2, -0.5, 0.5)
    tau = 1.0 / np.sqrt(-g2)
    nodes = m[..., None] + _SQRT2 * tau[..., None] * _GH_X
    vals, _, _ = f(nodes, derivatives=False)
    z = _GH_LOGW + vals - 0.5 * ((nodes - t2[..., None]) ** 2) * prec[..., None]
    zmax = z.max(axis=-1, keepdims=True)
    log_int = (zmax[..., 0] + np.log(np.exp(z - zmax).sum(axis=-1))
               + np.log(_SQRT2 * tau) - _LOG_SQRT_2PI - np.log(s))
    tiny = sigma < SIGMA_EPS
    if tiny.any():
        plain, _, _ = f(t2, derivatives=False)
        log_int = np.where(tiny[:, None], plain, log_int)
    return np.asarray(log_int, dtype=np.float64)


def floor_loglik(n_c: FloatArray, e_c: FloatArray, p_max: float) -> FloatArray:
    """One interval's log likelihood ratio for the promotion floor, shape (R,).

    One-sample test of H0: p_c >= p_max against the point p_max/2 (canary-analysis.md
    section 4.3): with zero errors it grows by log((1-p/2)/(1-p)) per clean request,
    so a pass needs about 2 ln(1/beta)/p_max clean requests.
    """
    p_alt = p_max / 2.0
    good = np.maximum(n_c - e_c, 0.0)
    return e_c * math.log(p_alt / p_max) + good * math.log((1.0 - p_alt) / (1.0 - p_max))
