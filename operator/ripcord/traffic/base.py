"""The traffic provider interface.

A provider is pure: it says how many canary pods a weight needs, what the data plane
will serve, builds the objects that carry the weights (Services, HTTPRoute), and reads
the effective weight back from objects the edge fetched. ``ripcord.actuate`` writes what
it builds; the observer hands it the objects it reads, from the watch-fed caches.
"""
from __future__ import annotations

import math
from typing import Any, Mapping, Optional, Protocol, Sequence

from ripcord.api.models import ReleaseSpec
from ripcord.contract import SLOT_LABEL, TrafficIntent, release_labels, slot_selector, slot_service_name


def service_ports(spec: ReleaseSpec) -> list[dict[str, Any]]:
    return [{"name": p.name, "port": p.port, "targetPort": p.target_port, "protocol": p.protocol}
            for p in spec.service.ports]


def slot_service(release: str, namespace: str, slot: str, spec: ReleaseSpec) -> dict[str, Any]:
    return {
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": slot_service_name(release, slot), "namespace": namespace,
                     "labels": {**release_labels(release), SLOT_LABEL: slot}},
        "spec": {"selector": slot_selector(release, slot), "ports": service_ports(spec)},
    }


def ready_share(pods: Sequence[Mapping[str, Any]], canary_slot: str) -> Optional[float]:
    """Canary share (percent) of the ready pods in ``pods``; None when none is ready."""
    ready = [p for p in pods if _is_ready(p)]
    if not ready:
        return None
    canary = sum(1 for p in ready if (p.get("metadata", {}).get("labels") or {}).get(SLOT_LABEL) == canary_slot)
    return 100.0 * canary / len(ready)


def _is_ready(pod: Mapping[str, Any]) -> bool:
    if pod.get("metadata", {}).get("deletionTimestamp"):
        return False
    for cond in (pod.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return bool(cond.get("status") == "True")
    return False


def quantised_canary_pods(stable_pods: int, weight: int) -> int:
    """Canary pods beside ``stable_pods`` so the canary's share is as close to ``weight`` as possible, at least 1."""
    if weight <= 0:
        return 0
    if weight >= 100:
        return stable_pods
    # The share n / (n + stable) is not linear in n: compare the two pod counts around the exact
    # one by the share they give (a tie goes to fewer canary pods).
    exact = weight * stable_pods / (100 - weight)
    low = max(1, math.floor(exact))
    high = max(1, math.ceil(exact))

    def miss(n: int) -> float:
        return abs(100.0 * n / (n + stable_pods) - weight)
    return high if miss(high) < miss(low) else low


class TrafficProvider(Protocol):
    name: str
    splits_by_pods: bool  # the weight is the canary's share of the pods (a bigger canary is a bigger weight)

    def canary_replicas(self, spec: ReleaseSpec, weight: int) -> int:
        """Canary pods while the canary serves ``weight`` percent."""

    def expected_weight(self, spec: ReleaseSpec, weight: int) -> float:
        """What the data plane will serve when ``weight`` is asked (quantised for replicas)."""

    def settled(self, spec: ReleaseSpec, weight: int, effective: Optional[float], canary_ready: int) -> bool:
        """The data plane serves the asked weight with the canary's pods ready."""

    def objects(self, release: str, namespace: str, spec: ReleaseSpec, intent: TrafficIntent) -> list[dict[str, Any]]:
        """Services (and routes) that carry ``intent``; applied by the actuator."""

    def effective_weight(self, intent: TrafficIntent, fetched: Mapping[str, Any]) -> Optional[float]:
        """The canary share the data plane serves, from objects the edge fetched, or None if unknown."""
