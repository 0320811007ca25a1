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


def stable_size(spec: ReleaseSpec, obs: Observed, slot: str) -> int:
    """The stable's size: ``spec.replicas``, or (autoscaled) what the HPA made it, within its bounds."""
    if spec.autoscaling is None:
        return spec.replicas
    view = obs.slot(slot)
    return _clamp(spec, view.replicas if view.exists and view.replicas > 0 else spec.replicas)


def canary_size(spec: ReleaseSpec, obs: Observed, stable_slot: str, weight: int) -> int:
    """Canary pods while it serves ``weight`` percent."""
    provider = provider_for(spec.traffic.provider)
    if spec.autoscaling is None:
        return provider.canary_replicas(spec, weight)
    stable = stable_size(spec, obs, stable_slot)
    sized = spec.model_copy(update={"replicas": stable})
    asked = provider.canary_replicas(sized, weight)
    if provider.splits_by_pods:
        return asked  # the share of pods is the weight: more pods would be more traffic
    return max(asked, math.ceil(stable * weight / 100))
