"""Seeded counter streams for canary and stable workloads, many rollouts at once.

Each data model bends the judge's ideal (Poisson requests, binomial errors) in one way
that production data do:

- ``ideal``: Poisson requests, binomial errors.
- ``nb1``/``nb5``/``nb20``: each workload's error rate is multiplied, every interval, by
  its own Gamma(k, 1/k) draw: negative-binomial errors, variance mu + mu^2/k.
- ``bursts``: shared bursts (5% of intervals, both workloads' error rates x5..x30) over a
  load that swings +-50% within the hour.
- ``pods1``/``pods3``/``pods5``: 1, 3 or 5 canary pods against 19 stable pods, each pod's
  error rate off by a fixed log-normal factor (sigma 0.5); per-pod counters for the canary
  (the stable's pods enter through its total and the day-long warm start).
- ``retries``: every failed request is retried twice at most, a retry failing again with
  probability 0.5, and retries are counted as requests and errors.
- ``retries-always``: the same, but a retry of a failed request always fails.
- ``weights``: the canary weight changes every 10 minutes (x0.5, x1, x2, x1, x0.5, x2).
- ``resets``: per-pod cumulative counters; each pod restarts with probability 2% per
  interval, its counters drop to what it served since, and the harness turns counters
  into deltas per series (a drop means a reset), losing the counts before the restart.

Warm starts come from the stable's own history under the same model: its last hour of
per-interval totals (dispersion) and its per-pod totals over a day (pod spread).
"""
from __future__ import annotations

import dataclasses
from typing import Iterator

import numpy as np
from numpy.typing import NDArray

from ripcord.analysis.judge import dispersion

FloatArray = NDArray[np.float64]

STEP_S = 30.0
STEPS = 120  # one hour
HISTORY_STEPS = 120  # the stable's last hour, for the dispersion warm start
POD_HISTORY_S = 86400.0  # the stable's last day, for the pod-spread warm start
STABLE_PODS = 19
POD_SIGMA = 0.5
RESTART_P = 0.02
BURST_P, BURST_LO, BURST_HI = 0.05, 5.0, 30.0
WEIGHT_FACTORS = (0.5, 1.0, 2.0, 1.0, 0.5, 2.0)  # one per 10 minutes


@dataclasses.dataclass(frozen=True)
class Model:
    name: str
    nb_k: float | None = None
    bursts: bool = False
    canary_pods: int = 3
    pod_sigma: float = 0.0
    per_pod: bool = False  # per-pod counters for the canary
    per_pod_stable: bool = False  # ... and for the stable (else its total, mixed over its pods)
    retry_fail: float | None = None
    weight_changes: bool = False
    restarts: bool = False


MODELS: dict[str, Model] = {m.name: m for m in (
    Model("ideal"),
    Model("nb1", nb_k=1.0), Model("nb5", nb_k=5.0), Model("nb20", nb_k=20.0),
    Model("bursts", bursts=True),
    Model("pods1", canary_pods=1, pod_sigma=POD_SIGMA, per_pod=True),
    Model("pods3", canary_pods=3, pod_sigma=POD_SIGMA, per_pod=True),
    Model("pods5", canary_pods=5, pod_sigma=POD_SIGMA, per_pod=True),
    Model("retries", retry_fail=0.5),
    Model("retries-always", retry_fail=1.0),
    Model("weights", weight_changes=True),
    Model("resets", per_pod=True, per_pod_stable=True, restarts=True),
)}


@dataclasses.dataclass(frozen=True)
class Cell:
    model: str
    rps: float
    weight: float  # canary share, 0..1
    base: float  # stable error rate
    ratio: float  # canary error rate / stable error rate


@dataclasses.dataclass
class Interval:
    """One interval's deltas for every run: workload totals, and per pod if simulated."""

    n_c: FloatArray
    e_c: FloatArray
    n_s: FloatArray
    e_s: FloatArray
    canary_pods: tuple[FloatArray, FloatArray] | None = None
    stable_pods: tuple[FloatArray, FloatArray] | None = None
    weight: FloatArray | float = 0.0


@dataclasses.dataclass
class WarmStarts:
    phi: FloatArray
    excess: FloatArray
    pod_sigma: FloatArray


def counter_deltas(prev: FloatArray, cur: FloatArray) -> FloatArray:
    """Per-series deltas of cumulative counters, as the operator takes them: a drop
    means the process restarted and the new value is all that is known since."""
    return np.where(cur >= prev, cur - prev, cur)


class Simulator:
    """Streams of counter deltas for ``runs`` independent rollouts of one cell."""

    def __init__(self, cell: Cell, runs: int, rng: np.random.Generator) -> None:
        self.cell = cell
        self.model = MODELS[cell.model]
        self.runs = runs
        self.rng = rng
        m = self.model
        self.pods_c = m.canary_pods
        if m.pod_sigma > 0:
            self.u_c = np.exp(rng.normal(0.0, m.pod_sigma, (runs, self.pods_c)))
            self.u_s = np.exp(rng.normal(0.0, m.pod_sigma, (runs, STABLE_PODS)))
        else:
            self.u_c = np.ones((runs, self.pods_c))
            self.u_s = np.ones((runs, STABLE_PODS))

    # ----------------------------------------------------------------- pieces

    def _errors(self, n: FloatArray, p: FloatArray) -> tuple[FloatArray, FloatArray]:
        """First-attempt errors, then retries counted as requests and errors."""
        x = self.rng.binomial(n.astype(np.int64), np.clip(p, 0.0, 1.0)).astype(np.float64)
        q = self.model.retry_fail
        if q is None:
            return n, x
        if q >= 1.0:
            return n + 2 * x, 3 * x
        f1 = self.rng.binomial(x.astype(np.int64), q).astype(np.float64)
        f2 = self.rng.binomial(f1.astype(np.int64), q).astype(np.float64)
        return n + x + f1, x + f1 + f2

    def _gamma(self, shape: tuple[int, ...]) -> FloatArray:
        k = self.model.nb_k
        if k is None:
            return np.ones(shape)
        return self.rng.gamma(k, 1.0 / k, shape)

    def _shared(self, steps: int) -> tuple[FloatArray, FloatArray]:
        """(load factor, burst multiplier), shape (steps, runs)."""
        if not self.model.bursts:
            return np.ones((steps, self.runs)), np.ones((steps, self.runs))
        phase = self.rng.uniform(0, 2 * np.pi, self.runs)
        t = np.arange(steps)[:, None] * STEP_S / 3600.0
        load = 1.0 + 0.5 * np.sin(2 * np.pi * t + phase[None, :])
        hit = self.rng.random((steps, self.runs)) < BURST_P
        mult = np.where(hit, self.rng.uniform(BURST_LO, BURST_HI, (steps, self.runs)), 1.0)
        return load, mult

    def weight_at(self, step: int) -> float:
        w = self.cell.weight
        if self.model.weight_changes:
            w *= WEIGHT_FACTORS[(step // 20) % len(WEIGHT_FACTORS)]
        return float(np.clip(w, 0.01, 0.9))

    # ------------------------------------------------------------- warm start

    def warm_start(self) -> WarmStarts:
        """What the operator measures on the stable before the rollout (full traffic)."""
        c = self.cell
        load, mult = self._shared(HISTORY_STEPS)
        n = self.rng.poisson(c.rps * STEP_S * load.T).astype(np.float64)
        p = c.base * self.u_s.mean(axis=1)[:, None] * mult.T * self._gamma((self.runs, HISTORY_STEPS))
        n, e = self._errors(n, p)
        phi, excess = dispersion.stable_dispersion_rows(n, e)
        pod_n = self.rng.poisson(c.rps * POD_HISTORY_S / STABLE_PODS, (self.runs, STABLE_PODS)).astype(np.float64)
        burst_mean = 1.0 + (BURST_P * ((BURST_LO + BURST_HI) / 2 - 1.0) if self.model.bursts else 0.0)
        pod_n, pod_e = self._errors(pod_n, c.base * burst_mean * self.u_s)
        sigma = dispersion.pod_sigma_upper(pod_n, pod_e, 0.1, 1.0)
        return WarmStarts(phi=phi, excess=excess, pod_sigma=sigma)

    # ---------------------------------------------------------------- rollout

    def intervals(self) -> Iterator[Interval]:
        c, m, r = self.cell, self.model, self.runs
        load, mult = self._shared(STEPS)
        cum: dict[str, FloatArray] = {}
        if m.restarts:
            for side, pods, share in (("c", self.pods_c, c.weight), ("s", STABLE_PODS, 1 - c.weight)):
                per = c.rps * share * STEP_S / pods
                age = self.rng.uniform(10, 1000, (r, pods))
                cum[side + "n"] = self.rng.poisson(per * age).astype(np.float64)
                cum[side + "e"] = self.rng.binomial(cum[side + "n"].astype(np.int64), c.base).astype(np.float64)
        for k in range(STEPS):
            w = self.weight_at(k)
            g_c, g_s = self._gamma((r,)), self._gamma((r,))
            p_c = c.base * c.ratio * mult[k] * g_c
            p_s = c.base * mult[k] * g_s
            if not m.per_pod:
                n_c = self.rng.poisson(c.rps * w * STEP_S * load[k]).astype(np.float64)
                n_s = self.rng.poisson(c.rps * (1 - w) * STEP_S * load[k]).astype(np.float64)
                n_c, e_c = self._errors(n_c, p_c)
                n_s, e_s = self._errors(n_s, p_s)
                yield Interval(n_c, e_c, n_s, e_s, weight=w)
                continue
            pods = {}
            for side, count, share, p, u in (("c", self.pods_c, w, p_c, self.u_c),
                                             ("s", STABLE_PODS, 1 - w, p_s, self.u_s)):
                if side == "s" and not m.per_pod_stable:
                    # the stable's total over its pods (even traffic): the judge gets no
                    # per-pod stable counts and uses the warm-start sigma and a pod count
                    n = self.rng.poisson(c.rps * share * STEP_S * load[k]).astype(np.float64)
                    n, e = self._errors(n, p * u.mean(axis=1))
                    pods[side] = (n[:, None], e[:, None])
                    continue
                n = self.rng.poisson(c.rps * share * STEP_S * load[k][:, None] / count, (r, count)).astype(np.float64)
                n, e = self._errors(n, p[:, None] * u)
                if m.restarts:
                    n, e = self._restart(cum, side, n, e)
                pods[side] = (n, e)
            (nc, ec), (ns, es) = pods["c"], pods["s"]
            yield Interval(nc.sum(axis=1), ec.sum(axis=1), ns.sum(axis=1), es.sum(axis=1),
                           canary_pods=pods["c"], stable_pods=pods["s"] if m.per_pod_stable else None,
                           weight=w)

    def _restart(self, cum: dict[str, FloatArray], side: str, n: FloatArray,
                 e: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Advance the pods' cumulative counters, restart some, return scraped deltas."""
        prev_n, prev_e = cum[side + "n"], cum[side + "e"]
        restart = self.rng.random(n.shape) < RESTART_P
        kept = 1.0 - self.rng.random(n.shape)  # share of the interval after the restart
        good = n - e
        post_good = self.rng.binomial(good.astype(np.int64), kept).astype(np.float64)
        post_e = self.rng.binomial(e.astype(np.int64), kept).astype(np.float64)
        cur_n = np.where(restart, post_good + post_e, prev_n + n)
        cur_e = np.where(restart, post_e, prev_e + e)
        cum[side + "n"], cum[side + "e"] = cur_n, cur_e
        return counter_deltas(prev_n, cur_n), counter_deltas(prev_e, cur_e)
