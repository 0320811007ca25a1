"""The judge's numerical pieces: quadrature, Pearson sums, pod spread, warm start."""
from __future__ import annotations

import numpy as np
import pytest

from ripcord.analysis.judge import dispersion as disp
from ripcord.analysis.judge import evalues as ev


def _lam(rng: np.random.Generator, events: int, share: float, ratio: float, steps: int) -> np.ndarray:
    n_c, n_s = np.array([100.0]), np.array([100.0 * (1 - share) / share])
    lam = np.zeros((1, ev.GRID_SIZE))
    for _ in range(steps):
        e_c = rng.binomial(events, share * ratio / (share * ratio + 1 - share))
        lam += ev.interval_loglik(n_c, np.array([float(e_c)]), n_s, np.array([float(events - e_c)]))
    return ev.normalise(lam)


def _brute(lam: np.ndarray, t: float, s: float) -> float:
    theta = np.linspace(-12, 14, 200001)
    v, _, _ = ev.interp(lam, theta[None, :])
    f = v[0] - 0.5 * ((theta - t) / s) ** 2 - np.log(s) - 0.5 * np.log(2 * np.pi)
    m = f.max()
    return float(m + np.log(np.exp(f - m).sum() * (theta[1] - theta[0])))


@pytest.mark.parametrize("events,share,ratio,steps", [(3, 0.2, 1.0, 1), (40, 0.3, 1.3, 5), (3000, 0.1, 1.0, 40),
                                                      (5, 0.05, 10.0, 40)])
@pytest.mark.parametrize("sigma", [0.05, 0.3, 1.0])
def test_adaptive_quadrature_matches_brute_force(events, share, ratio, steps, sigma):
    lam = _lam(np.random.default_rng(events), events, share, ratio, steps)
    t = np.log(np.array([0.5, 1.1, 2.0, 10.0]))
    got = ev.log_marginal(lam, t, np.array([sigma]))[0]
    want = [_brute(lam, x, sigma) for x in t]
    assert np.allclose(got, want, atol=5e-3)


def test_interpolation_reproduces_the_exact_likelihood_between_grid_points():
    n_c, e_c, n_s, e_s = (np.array([v]) for v in (3000.0, 61.0, 27000.0, 270.0))
    lam = ev.interval_loglik(n_c, e_c, n_s, e_s)
    x = np.array([[0.0123, 0.6931, 1.7777]])
    exact = e_c[0] * x - (e_c + e_s)[0] * np.log1p(np.exp(x) * n_c[0] / n_s[0])
    got, d1, _ = ev.interp(lam, x)
    assert np.allclose(got, exact, atol=1e-3)
    slope = e_c[0] - (e_c + e_s)[0] / (1 + n_s[0] / (n_c[0] * np.exp(x)))
    assert np.allclose(d1, slope, rtol=1e-3, atol=1e-2)


def test_pearson_sums_give_the_pearson_statistic_at_any_ratio():
    rng = np.random.default_rng(3)
    n_c = rng.integers(50, 500, 30).astype(float)
    n_s = rng.integers(500, 5000, 30).astype(float)
    e_c = rng.binomial(n_c.astype(int), 0.02).astype(float)
    e_s = rng.binomial(n_s.astype(int), 0.01).astype(float)
    ok = (e_c + e_s) > 0
    a, b, c = (x.sum() for x in disp.pearson_sums(n_c, e_c, n_s, e_s, ok))
    for r in (0.5, 1.0, 2.0, 3.7):
        pi = r * n_c / (r * n_c + n_s)
        tot = e_c + e_s
        direct = np.sum(((e_c - tot * pi) ** 2 / (tot * pi * (1 - pi)))[ok])
        assert a * r + b / r + c == pytest.approx(direct, rel=1e-10)
    r_hat = disp.min_chi2_ratio(np.array([a]), np.array([b]))[0]
    assert 1.5 < r_hat < 2.7


def test_pod_sigma_upper_bound_tracks_the_spread():
    rng = np.random.default_rng(4)
    runs, pods = 400, 19
    n = np.full((runs, pods), 400_000.0)
    for sigma in (0.0, 0.5):
        u = np.exp(rng.normal(0, sigma, (runs, pods)))
        e = rng.poisson(n * 0.01 * u).astype(float)
        bound = disp.pod_sigma_upper(n, e, 0.1)
        if sigma == 0.0:
            assert np.median(bound) < 0.05
        else:
            assert np.mean(bound >= sigma) >= 0.8  # a 90% upper bound, roughly
            assert np.median(bound) < 0.85
    # too little to say: no errors at all, or a single pod
    assert np.isnan(disp.pod_sigma_upper(np.ones((1, 5)), np.zeros((1, 5)))[0])
    assert np.isnan(disp.pod_sigma_upper(np.ones((1, 1)) * 100, np.ones((1, 1)))[0])


def test_effective_pods_counts_traffic_shares():
    assert disp.effective_pods(np.array([[10.0, 10.0, 10.0]]))[0] == pytest.approx(3.0)
    assert disp.effective_pods(np.array([[100.0, 1.0, 0.0]]))[0] == pytest.approx(101**2 / 10001)


def test_warm_start_from_history():
    rng = np.random.default_rng(5)
    n = rng.poisson(3000, 120).astype(float)
    poisson = disp.warm_start_from_history(zip(n, rng.binomial(n.astype(int), 0.01)))
    assert poisson.phi < 1.5 and poisson.excess_per_event < 0.05 and poisson.pod_sigma is None
    g = rng.gamma(5.0, 0.2, 120)
    nb = disp.warm_start_from_history(zip(n, rng.poisson(n * 0.01 * g)),
                                      {f"p{i}": (1e6, float(rng.poisson(1e4))) for i in range(10)})
    assert nb.phi > 3.0 and 0.2 < nb.excess_per_event < 1.0  # 2 / k = 0.4 for k = 5
    assert nb.pod_sigma is not None and nb.pod_sigma < 0.05


def test_chi2_quantile_table_matches_scipy():
    from scipy import stats
    for df in (1, 2, 7, 100, 4000, 5000, 2.5):
        assert disp.chi2_quantile(0.2, df) == pytest.approx(stats.chi2.ppf(0.2, df), rel=1e-9)


def test_pod_sigma_with_few_events_per_pod_errs_high_not_low():
    rng = np.random.default_rng(6)
    n = np.full((400, 19), 4000.0)  # about 40 errors per pod
    e = rng.poisson(n * 0.01 * np.exp(rng.normal(0, 0.3, (400, 19)))).astype(float)
    bound = disp.pod_sigma_upper(n, e, 0.1)
    assert np.mean(bound >= 0.3) >= 0.8
    clean = disp.pod_sigma_upper(n, rng.poisson(n * 0.01).astype(float), 0.1)
    assert np.median(clean) < 0.2
