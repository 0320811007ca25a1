"""The generated HTTPRoutes: one per routed Service port, with the spec's matches, through the
sandbox gateway (which accepts them and routes by them)."""
from __future__ import annotations

from typing import Any

import pytest
from kubernetes import client

from ripcord.contract import ROUTE_GROUP, ROUTE_PLURAL, ROUTE_VERSION
from sandbox.gateway.client import GatewayClient, summarize
from tests.integration.support import Releases, release_manifest

PORTS = [{"name": "http", "port": 80, "targetPort": 8080},
         {"name": "alt", "port": 8081, "targetPort": 8080},
         {"name": "metrics", "port": 9090, "targetPort": 8080, "routed": False}]


def manifest(version: str) -> dict[str, Any]:
    body = release_manifest("web", version, provider="gateway-api", service={"ports": PORTS})
    body["spec"]["traffic"]["matches"] = [{"path": {"type": "PathPrefix", "value": "/api"}}]
    return body


@pytest.mark.integration
def test_every_routed_port_gets_a_route_with_the_matches(releases: Releases, operator: Any, namespace: str,
                                                         kube: client.ApiClient) -> None:
    custom = client.CustomObjectsApi(kube)
    releases.apply(manifest("1.0.0"))
    releases.wait_phase("web", "Stable", timeout=90)
    routes = {r["metadata"]["name"]: r for r in custom.list_namespaced_custom_object(
        ROUTE_GROUP, ROUTE_VERSION, namespace, ROUTE_PLURAL)["items"]}
    assert sorted(routes) == ["web", "web-8081"], "no route for the port that is not routed"
    for name, port in (("web", 80), ("web-8081", 8081)):
        [rule] = routes[name]["spec"]["rules"]
        assert rule["matches"] == [{"path": {"type": "PathPrefix", "value": "/api"}}]
        assert {b["port"] for b in rule["backendRefs"]} == {port}
    gw = GatewayClient()
    names = {n: f"{namespace}-{n}" for n in ("web", "web-8081")}
    try:
        for route, load in names.items():
            gw.put_load(load, namespace, route=route, rps=10, paths=["/api/status", "/health"])
        releases.apply(manifest("2.0.1"))
        status = releases.wait_outcome("web", "Promoted", rollout_id=2, timeout=120)
        assert status["stable"]["version"] == "2.0.1", "both routes carried every step's weight"
        for load in names.values():
            seen = summarize(gw.wait_rows(load, lambda rows: summarize(rows)["by_version"].get("2.0.1", 0) > 0,
                                          timeout_s=30))
            # /api/status is served (by both versions over the rollout); /health matches no rule: 404 NR
            assert seen["by_code"].get("404", 0) > 0 and seen["by_flags"].get("NR", 0) == seen["by_code"]["404"]
            assert seen["by_code"].get("200", 0) > 0 and seen["by_code"].get("500", 0) == 0, seen
    finally:
        for load in names.values():
            gw.delete_load(load)
