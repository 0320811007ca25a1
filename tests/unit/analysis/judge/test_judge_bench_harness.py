"""The benchmark's own pieces: counter resets, comparators, seeds."""
from __future__ import annotations

import numpy as np

from bench.judge.__main__ import cell_seed, cells
from bench.judge.comparators import FixedRule, RepeatedZTest
from bench.judge.simulate import MODELS, Cell, Simulator, counter_deltas


def test_counter_deltas_treat_a_drop_as_a_reset():
    prev = np.array([100.0, 100.0, 5.0])
    cur = np.array([130.0, 20.0, 5.0])
    assert counter_deltas(prev, cur).tolist() == [30.0, 20.0, 0.0]


def test_resets_model_loses_counts_but_never_goes_negative():
    sim = Simulator(Cell("resets", 100.0, 0.1, 0.01, 1.0), 50, np.random.default_rng(1))
    totals = []
    for k, iv in enumerate(sim.intervals()):
        assert (iv.n_c >= 0).all() and (iv.e_c <= iv.n_c).all() and (iv.e_s <= iv.n_s).all()
        totals.append(iv.n_s.mean())
        if k == 60:
            break
    expected = 100.0 * 0.9 * 30
    assert 0.95 * expected < np.mean(totals) < 1.01 * expected  # a few counts lost to restarts


def test_fixed_rule_needs_consecutive_failed_checks():
    rule = FixedRule(1, bound=0.01, checks=3)
    n = np.array([100.0])
    hits = [rule.update(n, np.array([e]))[0] for e in (2.0, 2.0, 0.0, 2.0, 2.0, 2.0)]
    assert hits == [False, False, False, False, False, True]


def test_ztest_flags_a_clear_difference():
    z = RepeatedZTest(1)
    assert z.update(np.array([1000.0]), np.array([50.0]), np.array([9000.0]), np.array([90.0]))[0]


def test_grid_and_seeds():
    grid = cells(list(MODELS))
    assert len(grid) == len(MODELS) * 72
    seeds = {cell_seed(20260601, c) for c in grid}
    assert len(seeds) == len(grid)
    assert cell_seed(1, grid[0]) != cell_seed(2, grid[0])
