"""Run one benchmark cell: simulate, judge every interval, score the judge and the rules.

Measures, per run, over a one-hour horizon of 30 s intervals:

- the first interval at which each method rolls back (for the judge also after a pass, so
  the false-rollback rate is "ever within the hour", the guarantee's own event);
- the first interval at which the judge passes. At the ratio r1 the run goes on after a
  rollback too, so the wrong-promotion rate is "ever passes within the hour".
"""
from __future__ import annotations

import dataclasses
import json
import math
import os
from typing import Any

import numpy as np

from ripcord.analysis.judge.batch import BatchJudge
from ripcord.analysis.judge.settings import SequentialSettings

from .comparators import FixedRule, RepeatedZTest
from .simulate import MODELS, STABLE_PODS, STEP_S, Cell, Simulator

R1 = 2.0


def judge_settings(model: str) -> SequentialSettings:
    """The judge's defaults; pod counts as hints where the model has no per-pod counters.

    ``BENCH_JUDGE`` (a JSON mapping, as ``spec.analysis.judge``) overrides settings, to
    benchmark something other than the defaults.
    """
    overrides = json.loads(os.environ.get("BENCH_JUDGE", "") or "{}")
    base = SequentialSettings.from_mapping(overrides)
    return dataclasses.replace(base, canary_pods=MODELS[model].canary_pods, stable_pods=STABLE_PODS)


def _quantile(times: np.ndarray, q: float) -> float:
    """Empirical quantile that allows inf (never happened within the horizon)."""
    if times.size == 0:
        return math.inf
    return float(np.sort(times)[min(int(math.ceil(q * times.size)) - 1, times.size - 1)])


def run_cell(cell: Cell, runs: int, seed: int) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    sim = Simulator(cell, runs, rng)
    warm = sim.warm_start()
    settings = judge_settings(cell.model)
    judge = BatchJudge(settings, runs, warm_phi=warm.phi, warm_excess=warm.excess, pod_sigma=warm.pod_sigma)
    fixed, ztest = FixedRule(runs), RepeatedZTest(runs)
    inf = math.inf
    j_fail, j_pass = np.full(runs, inf), np.full(runs, inf)
    f_fail, z_fail = np.full(runs, inf), np.full(runs, inf)
    rows = np.arange(runs)  # runs still judged, in the judge's row order
    keep_after_fail = math.isclose(cell.ratio, R1)
    for k, iv in enumerate(sim.intervals()):
        t = (k + 1) * STEP_S
        hit = fixed.update(iv.n_c, iv.e_c)
        f_fail = np.where(np.isinf(f_fail) & hit, t, f_fail)
        hit = ztest.update(iv.n_c, iv.e_c, iv.n_s, iv.e_s)
        z_fail = np.where(np.isinf(z_fail) & hit, t, z_fail)
        if rows.size == 0:
            continue
        v = judge.update(
            iv.n_c[rows], iv.e_c[rows], iv.n_s[rows], iv.e_s[rows],
            canary_pods=None if iv.canary_pods is None else (iv.canary_pods[0][rows], iv.canary_pods[1][rows]),
            stable_pods=None if iv.stable_pods is None else (iv.stable_pods[0][rows], iv.stable_pods[1][rows]))
        new_fail = v.fail & np.isinf(j_fail[rows])
        j_fail[rows[new_fail]] = t
        new_pass = v.pass_crossed & np.isinf(j_pass[rows])
        j_pass[rows[new_pass]] = t
        failed = np.isfinite(j_fail[rows])
        done = failed & (np.isfinite(j_pass[rows]) | (not keep_after_fail))
        if done.any():
            idx = np.flatnonzero(~done)
            judge.keep(idx)
            rows = rows[idx]
    pass_first = np.isfinite(j_pass) & (j_pass < j_fail)
    promote_times = j_pass[pass_first]
    return {
        **dataclasses.asdict(cell), "runs": runs, "seed": seed,
        "judge_fail": float(np.isfinite(j_fail).mean()),
        "judge_ttd_median": _quantile(j_fail, 0.5), "judge_ttd_p90": _quantile(j_fail, 0.9),
        "judge_pass": float(np.isfinite(j_pass).mean()),
        "judge_pass_first": float(pass_first.mean()),
        "judge_promote_median": _quantile(np.where(pass_first, j_pass, inf), 0.5),
        "judge_promote_median_promoted": float(np.median(promote_times)) if promote_times.size else inf,
        "fixed_fail": float(np.isfinite(f_fail).mean()),
        "fixed_ttd_median": _quantile(f_fail, 0.5), "fixed_ttd_p90": _quantile(f_fail, 0.9),
        "ztest_fail": float(np.isfinite(z_fail).mean()),
        "ztest_ttd_median": _quantile(z_fail, 0.5), "ztest_ttd_p90": _quantile(z_fail, 0.9),
    }


def run_task(args: tuple[Cell, int, int]) -> dict[str, Any]:
    """Pool entry point: (cell, runs, seed)."""
    return run_cell(*args)
