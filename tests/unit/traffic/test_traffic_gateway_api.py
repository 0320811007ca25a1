"""The `gateway-api` provider: exact weights in an HTTPRoute the operator owns."""
from __future__ import annotations

from typing import Any, Optional

import pytest

from ripcord.api.models import ReleaseSpec
from ripcord.contract import TrafficIntent
from ripcord.traffic.gateway_api import GatewayApiProvider

P = GatewayApiProvider()


def spec(replicas: int = 10, **traffic: Any) -> ReleaseSpec:
    return ReleaseSpec.model_validate({
        "version": "1", "replicas": replicas, "workloadRef": {"name": "x"},
        "traffic": {"provider": "gateway-api", "gatewayRef": {"name": "gw"}, **traffic}})


def weights(route: dict[str, Any]) -> dict[str, int]:
    [rule] = route["spec"]["rules"]
    return {ref["name"]: ref["weight"] for ref in rule["backendRefs"]}


def accepted(route: dict[str, Any], generation: int = 1, status: str = "True",
             observed: Optional[int] = 1) -> dict[str, Any]:
    cond: dict[str, Any] = {"type": "Accepted", "status": status, "reason": "Accepted"}
    if observed is not None:
        cond["observedGeneration"] = observed
    route = {**route, "metadata": {**route["metadata"], "generation": generation}}
    route["status"] = {"parents": [{"parentRef": {"name": "gw"}, "controllerName": "x/y",
                                    "conditions": [{"type": "ResolvedRefs", "status": "True"}, cond]}]}
    return route


def test_canary_replicas_are_independent_of_the_weight() -> None:
    assert [P.canary_replicas(spec(10), w) for w in (0, 5, 50)] == [3, 3, 3]
    assert P.canary_replicas(spec(2), 5) == 2
    assert [P.canary_replicas(spec(10, canaryReplicas=5), w) for w in (5, 50)] == [5, 5]
    assert P.canary_replicas(spec(10), 100) == 10


def test_expected_weight_is_exact() -> None:
    assert P.expected_weight(spec(), 5) == 5.0 and P.expected_weight(spec(), 33) == 33.0


def test_settled_needs_the_exact_weight_and_the_canary_pods() -> None:
    s = spec()
    assert P.settled(s, 10, 10.0, canary_ready=3)
    assert not P.settled(s, 10, 5.0, canary_ready=3)
    assert not P.settled(s, 10, None, canary_ready=3)
    assert not P.settled(s, 10, 10.0, canary_ready=2)
    assert P.settled(s, 0, 0.0, canary_ready=0)


@pytest.mark.parametrize("weight", [0, 1, 5, 33, 50, 99])
def test_route_weights_sum_to_100_over_both_slots(weight: int) -> None:
    route = P.route("demo", "ns", spec(), TrafficIntent("a", "b", weight))
    assert weights(route) == {"demo-a": 100 - weight, "demo-b": weight}


def test_route_at_rest_sends_everything_to_the_stable() -> None:
    assert weights(P.route("demo", "ns", spec(), TrafficIntent("b", None, 0))) == {"demo-a": 0, "demo-b": 100}


def test_route_shape() -> None:
    s = spec(hostnames=["shop.example.com"], gatewayRef={"name": "gw", "namespace": "infra", "sectionName": "https"})
    route = P.route("demo", "ns", s, TrafficIntent("a", "b", 10))
    assert route["apiVersion"] == "gateway.networking.k8s.io/v1" and route["kind"] == "HTTPRoute"
    assert route["metadata"]["name"] == "demo" and route["metadata"]["namespace"] == "ns"
    assert route["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "ripcord"
    assert route["spec"]["parentRefs"] == [{"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "gw",
                                            "namespace": "infra", "sectionName": "https"}]
    assert route["spec"]["hostnames"] == ["shop.example.com"]
    [rule] = route["spec"]["rules"]
    assert all(ref["kind"] == "Service" and ref["port"] == 80 for ref in rule["backendRefs"])
    assert all(ref.get("group", "x") != "" for ref in rule["backendRefs"]), "no empty-string group (1.20 rejects it)"


def test_route_without_hostnames_or_parent_namespace() -> None:
    route = P.route("demo", "ns", spec(), TrafficIntent("a", "b", 10))
    assert "hostnames" not in route["spec"]
    assert route["spec"]["parentRefs"] == [{"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "gw"}]


def test_objects_the_app_service_selects_the_stable_slot() -> None:
    objs = P.objects("demo", "ns", spec(), TrafficIntent("b", "a", 25))
    assert [(o["kind"], o["metadata"]["name"]) for o in objs] == [
        ("Service", "demo"), ("Service", "demo-a"), ("Service", "demo-b"), ("HTTPRoute", "demo")]
    assert objs[0]["spec"]["selector"] == {"ripcord.dev/release": "demo", "ripcord.dev/slot": "b"}


def test_effective_weight_reads_the_accepted_route() -> None:
    intent = TrafficIntent("a", "b", 10)
    route = accepted(P.route("demo", "ns", spec(), intent))
    assert P.effective_weight(intent, {"route": route}) == 10.0


def test_effective_weight_is_unknown_until_the_route_is_accepted() -> None:
    intent = TrafficIntent("a", "b", 10)
    route = P.route("demo", "ns", spec(), intent)
    assert P.effective_weight(intent, {}) is None
    assert P.effective_weight(intent, {"route": {**route, "metadata": {**route["metadata"], "generation": 1}}}) is None
    assert P.effective_weight(intent, {"route": accepted(route, status="False")}) is None


def test_effective_weight_ignores_an_acceptance_of_an_older_generation() -> None:
    intent = TrafficIntent("a", "b", 10)
    route = P.route("demo", "ns", spec(), intent)
    assert P.effective_weight(intent, {"route": accepted(route, generation=2, observed=1)}) is None
    assert P.effective_weight(intent, {"route": accepted(route, generation=2, observed=2)}) == 10.0
    assert P.effective_weight(intent, {"route": accepted(route, generation=2, observed=None)}) == 10.0


def test_effective_weight_default_backend_weight_is_one() -> None:
    intent = TrafficIntent("a", "b", 10)
    route = accepted(P.route("demo", "ns", spec(), intent))
    for ref in route["spec"]["rules"][0]["backendRefs"]:
        ref.pop("weight")
    assert P.effective_weight(intent, {"route": route}) == 50.0


def test_effective_weight_with_no_weight_anywhere_is_unknown() -> None:
    intent = TrafficIntent("a", "b", 0)
    route = accepted(P.route("demo", "ns", spec(), intent))
    for ref in route["spec"]["rules"][0]["backendRefs"]:
        ref["weight"] = 0
    assert P.effective_weight(intent, {"route": route}) is None


def test_effective_weight_without_a_canary_is_zero() -> None:
    intent = TrafficIntent("a", None, 0)
    assert P.effective_weight(intent, {"route": accepted(P.route("demo", "ns", spec(), intent))}) == 0.0


def test_effective_weight_of_the_previous_stable_in_the_watch() -> None:
    watch = TrafficIntent("b", "a", 0)
    lagging = accepted(P.route("demo", "ns", spec(), TrafficIntent("a", "b", 50)))  # the route before the switch
    moved = accepted(P.route("demo", "ns", spec(), watch))
    assert P.effective_weight(watch, {"route": lagging}) == 50.0
    assert P.effective_weight(watch, {"route": moved}) == 0.0
    assert P.objects("demo", "ns", spec(), watch) == P.objects("demo", "ns", spec(), TrafficIntent("b", None, 0))


# ------------------------------------------------------------------ ports, matches, testers

def ported(**traffic: Any) -> ReleaseSpec:
    return ReleaseSpec.model_validate({
        "version": "1", "replicas": 4, "workloadRef": {"name": "x"},
        "service": {"ports": [{"name": "http", "port": 80, "targetPort": 8080},
                              {"name": "grpc", "port": 9000, "targetPort": 9000, "sectionName": "grpc"},
                              {"name": "metrics", "port": 9090, "targetPort": 9090, "routed": False}]},
        "traffic": {"provider": "gateway-api", "gatewayRef": {"name": "gw"}, **traffic}})


def test_every_routed_port_gets_its_route() -> None:
    s = ported()
    routes = [o for o in P.objects("demo", "ns", s, TrafficIntent("a", "b", 20)) if o["kind"] == "HTTPRoute"]
    assert [r["metadata"]["name"] for r in routes] == ["demo", "demo-9000"]
    assert [{b["port"] for b in r["spec"]["rules"][-1]["backendRefs"]} for r in routes] == [{80}, {9000}]
    assert "sectionName" not in routes[0]["spec"]["parentRefs"][0]
    assert routes[1]["spec"]["parentRefs"][0]["sectionName"] == "grpc"
    service = next(o for o in P.objects("demo", "ns", s, TrafficIntent("a", None, 0)) if o["kind"] == "Service")
    assert [p["port"] for p in service["spec"]["ports"]] == [80, 9000, 9090], "the Service keeps every port"


def test_the_effective_weight_needs_every_route_accepted_and_agreeing() -> None:
    s = ported()
    intent = TrafficIntent("a", "b", 20)
    a, b = (accepted(r) for r in P.objects("demo", "ns", s, intent) if r["kind"] == "HTTPRoute")
    assert P.effective_weight(intent, {"routes": [a, b]}) == 20.0
    assert P.effective_weight(intent, {"routes": [a, accepted(b, observed=0)]}) is None
    old = accepted(P.route("demo", "ns", s, TrafficIntent("a", "b", 5)))
    assert P.effective_weight(intent, {"routes": [old, b]}) is None


def test_matches_shape_the_weighted_rule() -> None:
    s = spec(matches=[{"path": {"type": "PathPrefix", "value": "/api"}},
                      {"path": {"type": "Exact", "value": "/login"}, "method": "POST",
                       "headers": [{"name": "x-env", "value": "prod"}]}])
    [rule] = P.route("demo", "ns", s, TrafficIntent("a", "b", 10))["spec"]["rules"]
    assert rule["matches"] == [
        {"path": {"type": "PathPrefix", "value": "/api"}},
        {"path": {"type": "Exact", "value": "/login"}, "method": "POST",
         "headers": [{"type": "Exact", "name": "x-env", "value": "prod"}]}]


def test_testers_get_a_rule_to_the_canary_whatever_the_weight() -> None:
    s = spec(matches=[{"path": {"type": "PathPrefix", "value": "/api"}}],
             testers=[{"header": "x-canary", "value": "always"}, {"cookie": "canary", "value": "on"}])
    testers, main = P.route("demo", "ns", s, TrafficIntent("a", "b", 0, testers=True))["spec"]["rules"]
    assert [b["name"] for b in testers["backendRefs"]] == ["demo-b"]
    assert testers["matches"][0] == {"path": {"type": "PathPrefix", "value": "/api"},
                                     "headers": [{"type": "Exact", "name": "x-canary", "value": "always"}]}
    cookie = testers["matches"][1]["headers"][0]
    assert cookie["name"] == "Cookie" and cookie["type"] == "RegularExpression" and "canary=on" in cookie["value"]
    assert {b["name"]: b["weight"] for b in main["backendRefs"]} == {"demo-a": 100, "demo-b": 0}
    at_rest = P.route("demo", "ns", s, TrafficIntent("a", "b", 0, testers=False))["spec"]["rules"][0]
    assert [b["name"] for b in at_rest["backendRefs"]] == ["demo-a"], "outside a rollout testers get the stable"
    assert P.effective_weight(TrafficIntent("a", "b", 0), {"route": accepted(
        P.route("demo", "ns", s, TrafficIntent("a", "b", 0, testers=True)))}) == 0.0, "testers are not the weight"


def test_with_the_users_route_only_services_are_generated() -> None:
    s = ReleaseSpec.model_validate({"version": "1", "workloadRef": {"name": "x"}, "traffic": {
        "provider": "gateway-api", "routeRef": {"name": "public"}}})
    assert [o["kind"] for o in P.objects("demo", "ns", s, TrafficIntent("a", "b", 20))] == ["Service"] * 3


def test_the_mirror_phase_writes_a_request_mirror_to_the_canary_and_reads_it_back() -> None:
    s = spec(mirror={"percent": 10})
    mirroring = P.route("web", "shop", s, TrafficIntent(stable_slot="a", canary_slot="b", weight=0, mirror=10))
    [rule] = mirroring["spec"]["rules"]
    assert rule["filters"] == [{"type": "RequestMirror", "requestMirror": {
        "backendRef": {"kind": "Service", "name": "web-b", "port": 80}, "percent": 10}}]
    assert weights(mirroring) == {"web-a": 100, "web-b": 0}, "mirrored copies only: no user request"
    intent = TrafficIntent(stable_slot="a", canary_slot="b", weight=0, mirror=10)
    assert P.effective_mirror(intent, {"route": accepted(mirroring)}) == 10.0
    assert P.effective_mirror(intent, {"route": mirroring}) is None, "not before the route is accepted"
    after = P.route("web", "shop", s, TrafficIntent(stable_slot="a", canary_slot="b", weight=20))
    assert after["spec"]["rules"][0]["filters"] == [], "written empty, so the mirror goes when the phase ends"
    assert P.effective_mirror(intent, {"route": accepted(after)}) == 0.0


def test_an_empty_list_we_set_matches_an_absent_one_and_a_leftover_filter_does_not() -> None:
    from ripcord.actuate.kube import spec_matches
    wanted = {"rules": [{"backendRefs": [{"name": "web-a", "weight": 100}], "filters": []}]}
    assert spec_matches({"rules": [{"backendRefs": [{"name": "web-a", "weight": 100}]}]}, wanted)
    assert not spec_matches({"rules": [{"backendRefs": [{"name": "web-a", "weight": 100}],
                                        "filters": [{"type": "RequestMirror"}]}]}, wanted)
