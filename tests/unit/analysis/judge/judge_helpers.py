"""Seeded evidence for the judge's tests."""
from __future__ import annotations

import numpy as np

from ripcord.analysis.judge.base import Counts, StepEvidence


def interval(rng: np.random.Generator, *, rps: float = 100.0, weight: float = 0.1, base: float = 0.01,
             ratio: float = 1.0, seconds: float = 30.0, metric: str = "error-rate", step: int = 0,
             canary_pods: int = 3, stable_pods: int = 19) -> StepEvidence:
    """One interval of Poisson requests and binomial errors, split evenly over the pods."""
    def side(share: float, p: float, pods: int, name: str) -> Counts:
        n = rng.poisson(rps * share * seconds / pods, pods)
        e = rng.binomial(n, min(p, 1.0))
        return Counts(float(n.sum()), float(e.sum()),
                      {f"{name}-{i}": (float(n[i]), float(e[i])) for i in range(pods)})

    return StepEvidence(metric=metric, canary=side(weight, base * ratio, canary_pods, "canary"),
                        stable=side(1 - weight, base, stable_pods, "stable"), step=step,
                        weight=100 * weight, duration_s=seconds)
