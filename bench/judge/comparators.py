"""The rules the judge is compared with, vectorised over runs.

- :class:`FixedRule` — Flagger style: the canary's error rate over the interval above a
  fixed bound (1%) in ``checks`` (5) consecutive checks rolls back. No data is not a
  failed check (Flagger skips it too).
- :class:`RepeatedZTest` — a one-sided two-proportion z-test on the cumulative counts,
  run at every interval at level 0.05, as if each look were the only one.
"""
from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]


class FixedRule:
    def __init__(self, runs: int, bound: float = 0.01, checks: int = 5) -> None:
        self.bound, self.checks = bound, checks
        self.streak = np.zeros(runs, dtype=np.int64)

    def update(self, n_c: FloatArray, e_c: FloatArray) -> NDArray[np.bool_]:
        failed = (n_c > 0) & (e_c > self.bound * n_c)
        self.streak = np.where(failed, self.streak + 1, np.where(n_c > 0, 0, self.streak))
        return self.streak >= self.checks


class RepeatedZTest:
    def __init__(self, runs: int, z: float = 1.6448536269514722) -> None:
        self.z = z
        self.n_c = np.zeros(runs)
        self.e_c = np.zeros(runs)
        self.n_s = np.zeros(runs)
        self.e_s = np.zeros(runs)

    def update(self, n_c: FloatArray, e_c: FloatArray, n_s: FloatArray, e_s: FloatArray) -> NDArray[np.bool_]:
        self.n_c += n_c
        self.e_c += e_c
        self.n_s += n_s
        self.e_s += e_s
        nc, ns = np.maximum(self.n_c, 1.0), np.maximum(self.n_s, 1.0)
        pc, ps = self.e_c / nc, self.e_s / ns
        p = (self.e_c + self.e_s) / (nc + ns)
        se = np.sqrt(p * (1 - p) * (1 / nc + 1 / ns))
        with np.errstate(divide="ignore", invalid="ignore"):
            z = np.where(se > 0, (pc - ps) / se, 0.0)
        return z > self.z
