"""A/A and boundary simulations: the e-processes keep their error bounds.

Seeded, with bounds far above the expected rates, so they cannot flake; each would fail
for a judge that peeks without an anytime-valid guarantee (the repeated z-test rolls back
about a third of these healthy canaries)."""
from __future__ import annotations

import numpy as np

from bench.judge.comparators import RepeatedZTest
from bench.judge.simulate import Cell, Simulator
from ripcord.analysis.judge.batch import BatchJudge
from ripcord.analysis.judge.settings import SequentialSettings


def _rates(cell: Cell, runs: int, steps: int, settings: SequentialSettings, seed: int) -> tuple[float, float, float]:
    sim = Simulator(cell, runs, np.random.default_rng(seed))
    warm = sim.warm_start()
    judge = BatchJudge(settings, runs, warm_phi=warm.phi, warm_excess=warm.excess, pod_sigma=warm.pod_sigma)
    z = RepeatedZTest(runs)
    failed = np.zeros(runs, bool)
    passed = np.zeros(runs, bool)
    z_failed = np.zeros(runs, bool)
    for k, iv in enumerate(sim.intervals()):
        if k == steps:
            break
        v = judge.update(iv.n_c, iv.e_c, iv.n_s, iv.e_s, iv.canary_pods, iv.stable_pods)
        failed |= v.fail
        passed |= v.pass_crossed
        z_failed |= z.update(iv.n_c, iv.e_c, iv.n_s, iv.e_s)
    return float(failed.mean()), float(passed.mean()), float(z_failed.mean())


def test_aa_false_rollbacks_stay_below_alpha():
    fail, passed, z = _rates(Cell("ideal", 100.0, 0.1, 0.01, 1.0), 400, 120, SequentialSettings(), seed=21)
    assert fail <= 0.03          # alpha = 0.05; expected well under 1%
    assert passed >= 0.9         # and it does promote them
    assert z >= 0.15             # the naive test does not hold its level


def test_overdispersed_aa_stays_below_alpha():
    fail, _, z = _rates(Cell("nb5", 1000.0, 0.5, 0.01, 1.0), 300, 120, SequentialSettings(), seed=22)
    assert fail <= 0.05
    assert z >= 0.3


def test_at_the_tolerance_boundary_the_level_holds():
    # canary exactly r0 worse: the null's boundary, where a supermartingale is tightest.
    # A lenient alpha makes the bound informative with few runs.
    settings = SequentialSettings(alpha=0.2)
    fail, _, _ = _rates(Cell("ideal", 100.0, 0.5, 0.01, 1.1), 400, 120, settings, seed=23)
    assert fail <= 0.2 + 3 * np.sqrt(0.2 * 0.8 / 400)


def test_wrong_promotion_at_r1_stays_below_beta():
    _, passed, _ = _rates(Cell("ideal", 100.0, 0.1, 0.01, 2.0), 400, 120, SequentialSettings(), seed=24)
    assert passed <= 0.05


def test_one_canary_pod_with_pod_spread_keeps_the_level():
    fail, _, _ = _rates(Cell("pods1", 1000.0, 0.1, 0.01, 1.0), 300, 60, SequentialSettings(), seed=25)
    assert fail <= 0.05
