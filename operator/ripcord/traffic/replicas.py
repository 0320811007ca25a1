"""The `replicas` provider: weight is the canary's share of the ready pods behind one Service.

Works on any cluster. The weight is quantised (one canary pod beside three stable pods
is 25%), so the effective weight is reported and the stable never drops below
``spec.replicas`` during the canary.
"""
from __future__ import annotations

from typing import Any, Mapping, Optional

from ripcord.api.models import ReleaseSpec
from ripcord.contract import RELEASE_LABEL, SLOTS, TrafficIntent, app_service_name, release_labels, slot_selector
from ripcord.traffic.base import quantised_canary_pods, ready_share, service_ports, slot_service


class ReplicasProvider:
    name = "replicas"
    splits_by_pods = True

    def canary_replicas(self, spec: ReleaseSpec, weight: int) -> int:
        return quantised_canary_pods(spec.replicas, weight)

    def expected_weight(self, spec: ReleaseSpec, weight: int) -> float:
        n = self.canary_replicas(spec, weight)
        return 100.0 * n / (n + spec.replicas) if n else 0.0

    def settled(self, spec: ReleaseSpec, weight: int, effective: Optional[float], canary_ready: int) -> bool:
        if effective is None:
            return False
        if weight == 0:
            return effective == 0
        return canary_ready >= self.canary_replicas(spec, weight) and effective > 0

    def app_selector(self, release: str, intent: TrafficIntent) -> dict[str, str]:
        if intent.canary_slot and intent.weight > 0:
            return {RELEASE_LABEL: release}
        return slot_selector(release, intent.stable_slot)

    def objects(self, release: str, namespace: str, spec: ReleaseSpec, intent: TrafficIntent) -> list[dict[str, Any]]:
        app = {
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": app_service_name(release), "namespace": namespace, "labels": release_labels(release)},
            "spec": {"selector": self.app_selector(release, intent), "ports": service_ports(spec)},
        }
        return [app] + [slot_service(release, namespace, s, spec) for s in SLOTS]

    def effective_weight(self, intent: TrafficIntent, fetched: Mapping[str, Any]) -> Optional[float]:
        """``fetched``: {"service": the app Service, "pods": pods its selector matches}."""
        service = fetched.get("service")
        if not service:
            return None
        if not intent.canary_slot:
            return 0.0
        share = ready_share(fetched.get("pods") or [], intent.canary_slot)
        return share
