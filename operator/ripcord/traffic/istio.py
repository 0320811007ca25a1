"""The `istio` provider: exact weights in the routes of a VirtualService the operator owns.

The VirtualService ``<release>`` serves the host ``<release>`` (the Release's Service) to
the mesh (and to ``traffic.istio.gateways``). Each routed Service port gets an HTTP route
(matched on the port when there are several) whose destinations are the slot Services
``<release>-a`` / ``<release>-b``, weighted; Istio's metrics then name the slot's Service as
``destination_service_name``, which is how the ``istio`` metric source attributes a request
no pod answered. With ``traffic.istio.subsets`` the destinations are the subsets ``a``/``b``
of the Release's Service instead, defined by a DestinationRule ``<release>`` on the slot
label (the Release's Service then selects the pods of both slots).

Testers (``traffic.testers``) get a route of their own, before the weighted one (Istio takes
the first route that matches). Istio reports no acceptance in the object, so the effective
weight is read from the VirtualService as the watch delivers it.
"""
from __future__ import annotations

from typing import Any, Mapping, Optional

from ripcord.api.models import ReleaseSpec, ServicePort
from ripcord.contract import (ISTIO_GROUP, RELEASE_LABEL, SLOT_LABEL, SLOTS, TrafficIntent, app_service_name,
                              release_labels, slot_selector, slot_service_name)
from ripcord.traffic.base import service_ports, slot_service
from ripcord.traffic.gateway_api import GatewayApiProvider, routed_ports
from ripcord.traffic.matching import CATCH_ALL, istio_match, tester_matches

VERSION = "v1"  # the actuator writes the version the server serves (ripcord.kube.discovery)
MESH = "mesh"


class IstioProvider:
    name = "istio"
    splits_by_pods = False

    def canary_replicas(self, spec: ReleaseSpec, weight: int) -> int:
        return GatewayApiProvider().canary_replicas(spec, weight)

    def expected_weight(self, spec: ReleaseSpec, weight: int) -> float:
        return float(weight)

    def settled(self, spec: ReleaseSpec, weight: int, effective: Optional[float], canary_ready: int) -> bool:
        return GatewayApiProvider().settled(spec, weight, effective, canary_ready)

    # ---------------------------------------------------------------- objects

    def _destination(self, release: str, spec: ReleaseSpec, slot: str, port: ServicePort) -> dict[str, Any]:
        if spec.traffic.istio.subsets:
            return {"host": app_service_name(release), "subset": slot, "port": {"number": port.port}}
        return {"host": slot_service_name(release, slot), "port": {"number": port.port}}

    def virtual_service(self, release: str, namespace: str, spec: ReleaseSpec, intent: TrafficIntent) -> dict[str, Any]:
        ports = routed_ports(spec)
        several = len(ports) > 1
        weights = {intent.stable_slot: 100 - intent.weight}
        if intent.canary_slot:
            weights[intent.canary_slot] = intent.weight
        http: list[dict[str, Any]] = []
        for port in ports:
            on = port.port if several else None
            if spec.traffic.testers:
                to = intent.canary_slot if intent.testers and intent.canary_slot else intent.stable_slot
                http.append({"name": f"testers-{port.port}",
                             "match": [istio_match(m, on) for m in tester_matches(spec.traffic.matches,
                                                                                  spec.traffic.testers)],
                             "route": [{"destination": self._destination(release, spec, to, port), "weight": 100}]})
            route: dict[str, Any] = {
                "name": f"weighted-{port.port}",
                "route": [{"destination": self._destination(release, spec, s, port), "weight": weights.get(s, 0)}
                          for s in SLOTS]}
            matches = [istio_match(m, on) for m in spec.traffic.matches or ([CATCH_ALL] if several else [])]
            if matches:
                route["match"] = matches
            http.append(route)
        hosts = [app_service_name(release), *(spec.traffic.hostnames or [])]
        body: dict[str, Any] = {
            "apiVersion": f"{ISTIO_GROUP}/{VERSION}", "kind": "VirtualService",
            "metadata": {"name": app_service_name(release), "namespace": namespace, "labels": release_labels(release)},
            "spec": {"hosts": hosts, "http": http},
        }
        if spec.traffic.istio.gateways:
            body["spec"]["gateways"] = [MESH, *spec.traffic.istio.gateways]
        return body

    def destination_rule(self, release: str, namespace: str) -> dict[str, Any]:
        return {
            "apiVersion": f"{ISTIO_GROUP}/{VERSION}", "kind": "DestinationRule",
            "metadata": {"name": app_service_name(release), "namespace": namespace, "labels": release_labels(release)},
            "spec": {"host": app_service_name(release),
                     "subsets": [{"name": s, "labels": {SLOT_LABEL: s}} for s in SLOTS]},
        }

    def objects(self, release: str, namespace: str, spec: ReleaseSpec, intent: TrafficIntent) -> list[dict[str, Any]]:
        selector = {RELEASE_LABEL: release} if spec.traffic.istio.subsets else slot_selector(release, intent.stable_slot)
        app = {
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": app_service_name(release), "namespace": namespace, "labels": release_labels(release)},
            "spec": {"selector": selector, "ports": service_ports(spec)},
        }
        out = [app, *(slot_service(release, namespace, s, spec) for s in SLOTS)]
        if spec.traffic.istio.subsets:
            out.append(self.destination_rule(release, namespace))
        out.append(self.virtual_service(release, namespace, spec, intent))
        return out

    # ---------------------------------------------------------------- reading it back

    def effective_weight(self, intent: TrafficIntent, fetched: Mapping[str, Any]) -> Optional[float]:
        """``fetched``: {"virtual_service": it}. The canary's share of the weighted route of the first port."""
        vs = fetched.get("virtual_service")
        if not vs:
            return None
        release = (vs["metadata"].get("labels") or {}).get(RELEASE_LABEL) or vs["metadata"]["name"]
        weighted = [r for r in (vs.get("spec") or {}).get("http") or [] if str(r.get("name", "")).startswith("weighted-")]
        if not weighted:
            return None
        shares = {self._share(r, release, intent) for r in weighted}
        return shares.pop() if len(shares) == 1 else None

    @staticmethod
    def _share(http_route: Mapping[str, Any], release: str, intent: TrafficIntent) -> Optional[float]:
        total = canary = 0
        for dest in http_route.get("route") or []:
            w = int(dest.get("weight", 100 if len(http_route.get("route") or []) == 1 else 0))
            total += w
            d = dest.get("destination") or {}
            slot = d.get("subset") if d.get("subset") else next(
                (s for s in SLOTS if d.get("host", "").split(".")[0] == slot_service_name(release, s)), None)
            if intent.canary_slot is not None and slot == intent.canary_slot:
                canary += w
        if total == 0:
            return None
        return 100.0 * canary / total
