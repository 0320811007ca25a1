"""The sequential judge for many independent rollouts at once (one metric), for the benchmark.

It runs the very functions the operator's :class:`SequentialJudge` runs (``core.py``),
on arrays with one row per rollout; ``tests/unit/analysis/judge`` checks that both give
the same e-values and verdicts on the same data.
"""
from __future__ import annotations

import dataclasses

import numpy as np
from numpy.typing import NDArray

from . import core
from .dispersion import sigma_effective
from .settings import SequentialSettings

FloatArray = NDArray[np.float64]


@dataclasses.dataclass
class BatchVerdict:
    """``fail``/``passed``: the verdict of this interval, as the operator's judge gives it
    (a fail wins). ``pass_crossed``: the pass e-process and floor are over their bounds,
    whatever the fail side says (the benchmark's "ever passes")."""

    fail: NDArray[np.bool_]
    passed: NDArray[np.bool_]
    pass_crossed: NDArray[np.bool_]
    # log e-values; -inf where the batch path skipped a part that cannot reach its bound
    log_fail: FloatArray
    log_pass: FloatArray


class BatchJudge:
    """One metric's sequential test over ``rows`` rollouts.

    ``warm_phi``, ``warm_excess`` and ``pod_sigma`` are per-row warm starts (what
    ``dispersion.warm_start_from_history`` gives each rollout); None uses the settings.
    Per-pod counts, when given, are (rows, pods) deltas of the interval.
    """

    def __init__(self, settings: SequentialSettings, rows: int, metric: str = "error-rate",
                 warm_phi: FloatArray | None = None, warm_excess: FloatArray | None = None,
                 pod_sigma: FloatArray | None = None) -> None:
        self.settings = settings
        self.metric = metric
        self.ms = settings.for_metric(metric)
        self.grids = core.Grids.build(settings, self.ms)
        base = core.Tempering.from_settings(settings)
        self.warm_phi = np.broadcast_to(np.asarray(base.warm_phi if warm_phi is None else warm_phi,
                                                   dtype=np.float64), (rows,)).copy()
        self.warm_excess = np.broadcast_to(np.asarray(base.warm_excess if warm_excess is None else warm_excess,
                                                      dtype=np.float64), (rows,)).copy()
        self.base_temper = base
        self.pod_sigma = None if pod_sigma is None else np.asarray(pod_sigma, dtype=np.float64).copy()
        self.state = core.MetricArrays.zeros(rows)
        self.canary_pods: FloatArray | None = None
        self.stable_pods_n: FloatArray | None = None
        self.stable_pods_e: FloatArray | None = None
        self.tripped = np.zeros(rows, dtype=bool)
        self._log_fail, self._log_pass = np.zeros(rows), np.zeros(rows)
        self._df_seen, self._s_eff_seen = np.zeros(rows), np.full(rows, -1.0)
        self._failed, self._passed = np.zeros(rows, dtype=bool), np.zeros(rows, dtype=bool)
        self.m_total = len(settings.metrics) if settings.metrics else 1

    @property
    def rows(self) -> int:
        return int(self.state.lam.shape[0])

    def keep(self, idx: NDArray[np.int64]) -> None:
        """Drop every row not in ``idx`` (finished rollouts), keeping their order."""
        self.state = self.state.take(idx)
        self.warm_phi, self.warm_excess = self.warm_phi[idx], self.warm_excess[idx]
        self.tripped = self.tripped[idx]
        self._log_fail, self._log_pass = self._log_fail[idx], self._log_pass[idx]
        self._df_seen, self._s_eff_seen = self._df_seen[idx], self._s_eff_seen[idx]
        self._failed, self._passed = self._failed[idx], self._passed[idx]
        if self.pod_sigma is not None:
            self.pod_sigma = self.pod_sigma[idx]
        for name in ("canary_pods", "stable_pods_n", "stable_pods_e"):
            arr = getattr(self, name)
            if arr is not None:
                setattr(self, name, arr[idx])

    def update(self, n_c: FloatArray, e_c: FloatArray, n_s: FloatArray, e_s: FloatArray,
               canary_pods: tuple[FloatArray, FloatArray] | None = None,
               stable_pods: tuple[FloatArray, FloatArray] | None = None) -> BatchVerdict:
        s = self.settings
        temper = dataclasses.replace(self.base_temper, warm_phi=self.warm_phi, warm_excess=self.warm_excess)
        core.fold_interval(self.state, n_c, e_c, n_s, e_s, self.ms, temper)
        if canary_pods is not None:
            req = np.maximum(canary_pods[0], 0.0)
            self.canary_pods = req if self.canary_pods is None else self.canary_pods + req
        if stable_pods is not None:
            req = np.maximum(stable_pods[0], 0.0)
            bad = np.clip(stable_pods[1], 0.0, req)
            self.stable_pods_n = req if self.stable_pods_n is None else self.stable_pods_n + req
            self.stable_pods_e = bad if self.stable_pods_e is None else self.stable_pods_e + bad
        rows = self.rows
        sigma = core.pod_sigma(s, rows, self.stable_pods_n, self.stable_pods_e, self.pod_sigma)
        m_c, m_s = core.pod_counts(s, rows, self.canary_pods, self.stable_pods_n)
        s_eff = sigma_effective(sigma, m_c, m_s)
        # Rows with no new evidence and the same pod term keep their e-values: evaluating
        # them again would give the same numbers (every operation is row by row).
        fail_at = float(np.log(self.m_total / s.alpha))
        pass_at = float(np.log(self.m_total / s.beta))
        changed = (self.state.df != self._df_seen) | (s_eff != self._s_eff_seen)
        if changed.any():
            idx = np.flatnonzero(changed)
            sub = self.state.take(idx)
            g = self.grids
            # a part already decided need not be computed again (both are recorded as
            # reached), nor one that certainly stays below its bound (``cannot_cross``)
            need_f = ~self._failed[idx] & ~core.cannot_cross(sub, g.fail_t, g.fail_logw, g.null_fail, s_eff[idx], fail_at)
            need_p = ~self._passed[idx] & ~core.cannot_cross(sub, g.pass_t, g.pass_logw, g.null_pass, s_eff[idx], pass_at)
            self._log_fail[idx] = np.where(self._failed[idx], self._log_fail[idx], -np.inf)
            self._log_pass[idx] = np.where(self._passed[idx], self._log_pass[idx], -np.inf)
            for want_f, want_p in ((True, True), (True, False), (False, True)):
                sel = (need_f == want_f) & (need_p == want_p)
                if not sel.any():
                    continue
                rows_ = idx[sel]
                lf, lp = core.evaluate(sub.take(np.flatnonzero(sel)), self.grids, s_eff[rows_],
                                       fail=want_f, passing=want_p)
                if want_f:
                    self._log_fail[rows_] = lf
                if want_p:
                    self._log_pass[rows_] = lp
            self._df_seen[idx], self._s_eff_seen[idx] = self.state.df[idx], s_eff[idx]
        log_fail, log_pass = self._log_fail.copy(), self._log_pass.copy()
        mr = s.circuit_breaker_min_requests
        st = self.state
        mb = s.circuit_breaker_min_bad
        self.tripped |= (core.breaker(self.ms, n_c, e_c, mr, n_s, e_s, mb)
                         | core.breaker(self.ms, st.n_c, st.e_c, mr, st.n_s, st.e_s, mb))
        fail = self.tripped | (log_fail >= fail_at)
        floor_ok = np.ones(rows, dtype=bool) if self.ms.p_max is None else self.state.floor >= pass_at
        pass_crossed = (log_pass >= pass_at) & floor_ok
        pass_crossed |= core.clean_pass(st, self.ms, pass_at)  # clean on both sides
        self._failed |= fail
        self._passed |= pass_crossed
        return BatchVerdict(fail=fail, passed=~fail & pass_crossed, pass_crossed=pass_crossed,
                            log_fail=log_fail, log_pass=log_pass)
