"""How many pods each slot runs, with or without an autoscaler.

Without ``spec.autoscaling`` the stable runs ``spec.replicas`` and the canary what its
provider asks for the weight. With it, an HPA owns the stable's replica count: Ripcord never
sets it (the slot intent keeps it), reads it, and sizes from it: the canary gets the
stable's current count times the weight (never below what the provider asks, e.g.
``traffic.canaryReplicas``), and a promotion brings the canary to the stable's current count
before the HPA moves to it.
"""
from __future__ import annotations

import math

from ripcord.api.models import ReleaseSpec
from ripcord.engine.observed import Observed
from ripcord.traffic import provider_for


def _clamp(spec: ReleaseSpec, n: int) -> int:
    a = spec.autoscaling
    assert a is not None
    return max(a.min_replicas, min(a.max_replicas, n))


def stable_replicas(spec: ReleaseSpec, current: int) -> int:
    """The stable's size given the replicas its Deployment runs now (0: unknown or absent)."""
    if spec.autoscaling is None:
        return spec.replicas
    return _clamp(spec, current if current > 0 else spec.replicas)


def canary_replicas(spec: ReleaseSpec, stable: int, weight: int) -> int:
    """Canary pods while it serves ``weight`` percent beside a stable of ``stable`` pods."""
    provider = provider_for(spec.traffic.provider)
    if spec.autoscaling is None:
        return provider.canary_replicas(spec, weight)
    asked = provider.canary_replicas(spec.model_copy(update={"replicas": stable}), weight)
    if provider.splits_by_pods:
        return asked  # the share of pods is the weight: more pods would be more traffic
    return max(asked, math.ceil(stable * weight / 100))


def stable_size(spec: ReleaseSpec, obs: Observed, slot: str) -> int:
    """The stable's size: ``spec.replicas``, or (autoscaled) what the HPA made it, within its bounds."""
    view = obs.slot(slot)
    return stable_replicas(spec, view.replicas if view.exists else 0)


def canary_size(spec: ReleaseSpec, obs: Observed, stable_slot: str, weight: int) -> int:
    """Canary pods while it serves ``weight`` percent."""
    return canary_replicas(spec, stable_size(spec, obs, stable_slot), weight)
