"""The benchmark's batch path is the operator's judge: same e-values, same verdicts."""
from __future__ import annotations

import numpy as np
import pytest

from bench.judge.simulate import Cell, Simulator
from ripcord.analysis.judge.base import Counts, StepEvidence, Verdict
from ripcord.analysis.judge.batch import BatchJudge
from ripcord.analysis.judge.sequential import SequentialJudge
from ripcord.analysis.judge.settings import SequentialSettings


def _evidence(iv, row: int) -> StepEvidence:
    def side(n, e, pods, prefix):
        per = {} if pods is None else {f"{prefix}{i}": (float(pods[0][row, i]), float(pods[1][row, i]))
                                       for i in range(pods[0].shape[1])}
        return Counts(float(n[row]), float(e[row]), per)
    return StepEvidence("error-rate", side(iv.n_c, iv.e_c, iv.canary_pods, "c"),
                        side(iv.n_s, iv.e_s, iv.stable_pods, "s"), step=0, weight=10, duration_s=30)


@pytest.mark.parametrize("cell", [
    Cell("resets", 100.0, 0.1, 0.01, 1.5),   # per-pod counters with resets, in-run pod sigma
    Cell("nb5", 100.0, 0.5, 0.01, 1.0),      # overdispersed: tempering at work
    Cell("weights", 100.0, 0.1, 0.01, 2.0),  # weight changes between steps
])
def test_batch_and_scalar_agree(cell: Cell) -> None:
    runs, steps = 12, 40
    sim = Simulator(cell, runs, np.random.default_rng(11))
    settings = SequentialSettings(warm_phi=1.3, warm_excess_per_event=0.05)
    batch = BatchJudge(settings, runs)
    scalar = SequentialJudge(settings)
    states = [None] * runs
    first_fail_b, first_fail_s = [None] * runs, [None] * runs
    first_pass_b, first_pass_s = [None] * runs, [None] * runs
    compared = 0
    for k, iv in enumerate(sim.intervals()):
        if k == steps:
            break
        v = batch.update(iv.n_c, iv.e_c, iv.n_s, iv.e_s, iv.canary_pods, iv.stable_pods)
        for r in range(runs):
            j = scalar.update(states[r], [_evidence(iv, r)])
            states[r] = j.state
            d = j.metrics[0].details
            if np.isfinite(v.log_fail[r]) and first_fail_b[r] is None:
                assert v.log_fail[r] == pytest.approx(d["log_e_fail"], abs=1e-9)
                compared += 1
            if np.isfinite(v.log_pass[r]) and first_pass_b[r] is None:
                assert v.log_pass[r] == pytest.approx(d["log_e_pass"], abs=1e-9)
                compared += 1
            if v.fail[r] and first_fail_b[r] is None:
                first_fail_b[r] = k
            if j.verdict is Verdict.FAIL and first_fail_s[r] is None:
                first_fail_s[r] = k
            if v.passed[r] and first_pass_b[r] is None:
                first_pass_b[r] = k
            if j.verdict is Verdict.PASS and first_pass_s[r] is None:
                first_pass_s[r] = k
    assert first_fail_b == first_fail_s
    # once failed, the operator rolls back: later verdicts do not matter (the batch path
    # keeps a crossed bound crossed, the scalar one re-evaluates)
    before = lambda p, f: p if p is not None and (f is None or p < f) else None  # noqa: E731
    assert [before(p, f) for p, f in zip(first_pass_b, first_fail_b)] == \
        [before(p, f) for p, f in zip(first_pass_s, first_fail_s)]
    assert compared > runs  # the e-values were really compared, not all skipped
