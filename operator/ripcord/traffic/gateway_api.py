"""The `gateway-api` provider: exact weights in HTTPRoute backendRefs.

Two modes. With ``traffic.gatewayRef`` Ripcord generates and owns one HTTPRoute per routed
Service port (``<release>`` for the first, ``<release>-<port>`` for the others), each with
the spec's matches and, with ``traffic.testers``, a rule that sends testers to the canary.
With ``traffic.routeRef`` the route is the user's: Ripcord writes only its Services here and
sets the backendRefs of one rule (:mod:`ripcord.traffic.userroute`, written by the actuator
with server-side apply).

The canary runs several pods whatever its weight (``traffic.canaryReplicas``), which lets
the judge tell a regression from pod-to-pod spread. The effective weight is read back from
the routes only once the Gateway controller has accepted their current generation.
"""
from __future__ import annotations

from typing import Any, Mapping, Optional

from ripcord.api.models import ReleaseSpec, ServicePort
from ripcord.contract import (RELEASE_LABEL, ROUTE_GROUP, ROUTE_VERSION, SLOTS, TrafficIntent, app_service_name, port_route_name,
                              release_labels, slot_selector, slot_service_name)
from ripcord.traffic import userroute
from ripcord.traffic.base import service_ports, slot_service
from ripcord.traffic.matching import gateway_match, tester_matches


def routed_ports(spec: ReleaseSpec) -> list[ServicePort]:
    return [p for p in spec.service.ports if p.routed]


def route_names(release: str, spec: ReleaseSpec) -> list[str]:
    """The HTTPRoutes Ripcord generates (none with traffic.routeRef)."""
    if spec.traffic.route_ref is not None:
        return []
    return [port_route_name(release, p.port, i == 0) for i, p in enumerate(routed_ports(spec))]


class GatewayApiProvider:
    name = "gateway-api"
    splits_by_pods = False

    def canary_replicas(self, spec: ReleaseSpec, weight: int) -> int:
        if weight <= 0:
            return spec.traffic.canary_replicas or min(spec.replicas, 3)
        if weight >= 100:
            return spec.replicas
        return spec.traffic.canary_replicas or min(spec.replicas, 3)

    def expected_weight(self, spec: ReleaseSpec, weight: int) -> float:
        return float(weight)

    def settled(self, spec: ReleaseSpec, weight: int, effective: Optional[float], canary_ready: int) -> bool:
        if effective is None or abs(effective - weight) > 1e-9:
            return False
        return weight == 0 or canary_ready >= self.canary_replicas(spec, weight)

    def route(self, release: str, namespace: str, spec: ReleaseSpec, intent: TrafficIntent,
              port: Optional[ServicePort] = None, first: bool = True) -> dict[str, Any]:
        """The generated HTTPRoute of one Service port (default: the first routed one)."""
        ref = spec.traffic.gateway_ref
        assert ref is not None
        port = port or routed_ports(spec)[0]
        parent: dict[str, Any] = {"group": ROUTE_GROUP, "kind": "Gateway", "name": ref.name}
        if ref.namespace:
            parent["namespace"] = ref.namespace
        if port.section_name or ref.section_name:
            parent["sectionName"] = port.section_name or ref.section_name
        weights = {intent.stable_slot: 100 - intent.weight}
        if intent.canary_slot:
            weights[intent.canary_slot] = intent.weight
        backends = [{"kind": "Service", "name": slot_service_name(release, s), "port": port.port,
                     "weight": weights.get(s, 0)} for s in SLOTS]
        # filters always written (empty: none), so a mirror filter goes away when the mirror phase ends
        main: dict[str, Any] = {"backendRefs": backends, "filters": []}
        if intent.mirror > 0 and intent.canary_slot:
            main["filters"] = [{"type": "RequestMirror", "requestMirror": {
                "backendRef": {"kind": "Service", "name": slot_service_name(release, intent.canary_slot),
                               "port": port.port},
                "percent": intent.mirror}}]
        if spec.traffic.matches:
            main["matches"] = [gateway_match(m) for m in spec.traffic.matches]
        rules = [main]
        if spec.traffic.testers:
            to = intent.canary_slot if intent.testers and intent.canary_slot else intent.stable_slot
            rules.insert(0, {"matches": [gateway_match(m) for m in tester_matches(spec.traffic.matches,
                                                                                   spec.traffic.testers)],
                             "backendRefs": [{"kind": "Service", "name": slot_service_name(release, to),
                                              "port": port.port, "weight": 1}]})
        body: dict[str, Any] = {
            "apiVersion": f"{ROUTE_GROUP}/{ROUTE_VERSION}", "kind": "HTTPRoute",
            "metadata": {"name": port_route_name(release, port.port, first), "namespace": namespace,
                         "labels": release_labels(release)},
            "spec": {"parentRefs": [parent], "rules": rules},
        }
        if spec.traffic.hostnames:
            body["spec"]["hostnames"] = list(spec.traffic.hostnames)
        return body

    def objects(self, release: str, namespace: str, spec: ReleaseSpec, intent: TrafficIntent) -> list[dict[str, Any]]:
        app = {
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": app_service_name(release), "namespace": namespace, "labels": release_labels(release)},
            "spec": {"selector": slot_selector(release, intent.stable_slot), "ports": service_ports(spec)},
        }
        slots = [slot_service(release, namespace, s, spec) for s in SLOTS]
        if spec.traffic.route_ref is not None:
            return [app, *slots]  # the user's route: only the rule's backendRefs, by the actuator
        routes = [self.route(release, namespace, spec, intent, p, i == 0) for i, p in enumerate(routed_ports(spec))]
        return [app, *slots, *routes]

    def effective_mirror(self, intent: TrafficIntent, fetched: Mapping[str, Any]) -> Optional[float]:
        """Percent of requests the accepted route mirrors to the canary's Service (0: none); None until accepted.

        The mirror is on the route of the first routed port (``fetched`` as for :meth:`effective_weight`)."""
        routes = fetched.get("routes")
        if routes is None:
            routes = [fetched["route"]] if fetched.get("route") else []
        route = routes[0] if routes else None
        if not route or not userroute.accepted(route) or not intent.canary_slot:
            return None
        release = route["metadata"].get("labels", {}).get(RELEASE_LABEL) or route["metadata"]["name"]
        canary = slot_service_name(release, intent.canary_slot)
        for rule in route.get("spec", {}).get("rules") or []:
            for f in rule.get("filters") or []:
                mirror = f.get("requestMirror") or {}
                if f.get("type") == "RequestMirror" and (mirror.get("backendRef") or {}).get("name") == canary:
                    return float(mirror.get("percent", 100))
        return 0.0

    def effective_weight(self, intent: TrafficIntent, fetched: Mapping[str, Any]) -> Optional[float]:
        """``fetched``: {"routes": the generated HTTPRoutes} (or {"route": one}), or, for the user's
        route, {"user_route": it, "rule": index, "release": name}. None until every route is accepted."""
        if "user_route" in fetched:
            route = fetched["user_route"]
            if not route or not userroute.accepted(route):
                return None
            ns = route["metadata"].get("namespace", "")
            refs = userroute.rule_refs(route, int(fetched["rule"]))
            return userroute.canary_share(refs, ns, str(fetched["release"]), intent)
        routes = fetched.get("routes")
        if routes is None:
            routes = [fetched["route"]] if fetched.get("route") else []
        if not routes or not all(route and userroute.accepted(route) for route in routes):
            return None
        shares = {self._share(route, intent) for route in routes}
        return shares.pop() if len(shares) == 1 else None  # routes that disagree serve no one weight

    @staticmethod
    def _share(route: Mapping[str, Any], intent: TrafficIntent) -> Optional[float]:
        """The canary's share of the weighted rule (the last: a testers' rule comes first)."""
        rules = route.get("spec", {}).get("rules") or []
        if not rules:
            return None
        release = route["metadata"].get("labels", {}).get(RELEASE_LABEL) or route["metadata"]["name"]
        canary_name = slot_service_name(release, intent.canary_slot) if intent.canary_slot else None
        total = canary = 0
        for ref in rules[-1].get("backendRefs") or []:
            w = int(ref.get("weight", 1))
            total += w
            if ref.get("name") == canary_name:
                canary += w
        if total == 0:
            return None
        return 100.0 * canary / total

