"""The `istio` provider: a VirtualService with weighted routes to the slot Services (or subsets)."""
from __future__ import annotations

from typing import Any

from ripcord.api.models import ReleaseSpec
from ripcord.contract import TrafficIntent
from ripcord.traffic.istio import IstioProvider

P = IstioProvider()


def spec(**traffic: Any) -> ReleaseSpec:
    return ReleaseSpec.model_validate({"version": "1", "replicas": 6, "workloadRef": {"name": "x"},
                                       "traffic": {"provider": "istio", **traffic}})


def vs(s: ReleaseSpec, intent: TrafficIntent) -> dict[str, Any]:
    return next(o for o in P.objects("web", "shop", s, intent) if o["kind"] == "VirtualService")


def test_weights_go_to_the_slot_services() -> None:
    body = vs(spec(), TrafficIntent("a", "b", 20))
    assert body["apiVersion"] == "networking.istio.io/v1" and body["spec"]["hosts"] == ["web"]
    [route] = body["spec"]["http"]
    assert route["name"] == "weighted-80" and "match" not in route
    assert [(d["destination"]["host"], d["weight"]) for d in route["route"]] == [("web-a", 80), ("web-b", 20)]
    assert "gateways" not in body["spec"], "the mesh only, by default"
    assert [o["kind"] for o in P.objects("web", "shop", spec(), TrafficIntent("a", None, 0))] == \
        ["Service", "Service", "Service", "VirtualService"]


def test_the_effective_weight_is_read_from_the_virtual_service() -> None:
    body = vs(spec(), TrafficIntent("a", "b", 20))
    assert P.effective_weight(TrafficIntent("a", "b", 20), {"virtual_service": body}) == 20.0
    assert P.effective_weight(TrafficIntent("a", "b", 20), {}) is None
    assert P.effective_weight(TrafficIntent("b", "a", 0), {"virtual_service": body}) == 80.0


def test_subsets_use_a_destination_rule_and_one_service_for_both_slots() -> None:
    s = spec(istio={"subsets": True, "gateways": ["infra/public"]})
    objs = {o["kind"] + "/" + o["metadata"]["name"]: o for o in P.objects("web", "shop", s, TrafficIntent("a", "b", 30))}
    dr = objs["DestinationRule/web"]["spec"]
    assert dr == {"host": "web", "subsets": [{"name": "a", "labels": {"ripcord.dev/slot": "a"}},
                                             {"name": "b", "labels": {"ripcord.dev/slot": "b"}}]}
    assert objs["Service/web"]["spec"]["selector"] == {"ripcord.dev/release": "web"}
    body = objs["VirtualService/web"]
    assert body["spec"]["gateways"] == ["mesh", "infra/public"]
    assert [(d["destination"]["subset"], d["weight"]) for d in body["spec"]["http"][0]["route"]] == [("a", 70), ("b", 30)]
    assert P.effective_weight(TrafficIntent("a", "b", 30), {"virtual_service": body}) == 30.0


def test_testers_and_matches_and_several_ports() -> None:
    s = ReleaseSpec.model_validate({
        "version": "1", "workloadRef": {"name": "x"},
        "service": {"ports": [{"name": "http", "port": 80}, {"name": "admin", "port": 8081, "targetPort": 8081}]},
        "traffic": {"provider": "istio", "matches": [{"path": {"type": "PathPrefix", "value": "/api"}}],
                    "testers": [{"header": "X-Canary", "value": "always"}]}})
    http = vs(s, TrafficIntent("a", "b", 0, testers=True))["spec"]["http"]
    assert [r["name"] for r in http] == ["testers-80", "weighted-80", "testers-8081", "weighted-8081"]
    assert http[0]["match"] == [{"uri": {"prefix": "/api"}, "headers": {"x-canary": {"exact": "always"}}, "port": 80}]
    assert http[0]["route"] == [{"destination": {"host": "web-b", "port": {"number": 80}}, "weight": 100}]
    assert http[1]["match"] == [{"uri": {"prefix": "/api"}, "port": 80}]
    assert http[3]["route"][0]["destination"]["port"] == {"number": 8081}
