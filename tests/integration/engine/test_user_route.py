"""traffic.routeRef: the user's own HTTPRoute. Ripcord sets the backendRefs of one rule and nothing
else, reads the route from a watch, reports an edit made by someone else mid-rollout (and takes
the rule back only when told), never owns or deletes the route; a route or rule that does not
fit is an InvalidSpec that changes nothing."""
from __future__ import annotations

import copy
from typing import Any, Optional

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from ripcord.contract import ROUTE_GROUP, ROUTE_PLURAL, ROUTE_VERSION
from sandbox.gateway.client import GatewayClient, summarize
from tests.integration.analysis.conftest import condition
from tests.integration.support import Releases, release_manifest, wait_for

ROUTE = "public"


def user_route(namespace: str) -> dict[str, Any]:
    """Two rules (the second, named, sends to the Release's Service), a filter, two parents."""
    return {
        "apiVersion": f"{ROUTE_GROUP}/{ROUTE_VERSION}", "kind": "HTTPRoute",
        "metadata": {"name": ROUTE, "namespace": namespace, "labels": {"team": "shop"},
                     "annotations": {"owner": "gitops"}},
        "spec": {
            "parentRefs": [{"name": "sandbox-gateway", "namespace": "default"},
                           {"name": "internal-gateway", "namespace": "default"}],
            "hostnames": ["shop.example.com"],
            "rules": [
                {"matches": [{"path": {"type": "PathPrefix", "value": "/static"}}],
                 "backendRefs": [{"name": "cdn", "port": 80}]},
                {"name": "web", "matches": [{"path": {"type": "PathPrefix", "value": "/"}}],
                 "filters": [{"type": "RequestHeaderModifier",
                              "requestHeaderModifier": {"add": [{"name": "x-from", "value": "gw"}]}}],
                 "backendRefs": [{"name": "web", "port": 80}]},
            ],
        },
    }


def manifest(version: str, rule: Any = "web", **spec: Any) -> dict[str, Any]:
    body = release_manifest("web", version, provider="gateway-api", **spec)
    body["spec"]["traffic"] = {"provider": "gateway-api", "routeRef": {"name": ROUTE, "rule": rule}}
    return body


class Routes:
    def __init__(self, kube: client.ApiClient, namespace: str) -> None:
        self.custom = client.CustomObjectsApi(kube)
        self.ns = namespace

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        """The route, and the Service its other rule sends to (the sandbox gateway accepts a route only
        when every backend resolves)."""
        client.CoreV1Api(self.custom.api_client).create_namespaced_service(self.ns, {
            "metadata": {"name": "cdn"}, "spec": {"selector": {"app": "cdn"}, "ports": [{"port": 80}]}})
        return self.custom.create_namespaced_custom_object(ROUTE_GROUP, ROUTE_VERSION, self.ns, ROUTE_PLURAL, body)

    def get(self, name: str = ROUTE) -> dict[str, Any]:
        return self.custom.get_namespaced_custom_object(ROUTE_GROUP, ROUTE_VERSION, self.ns, ROUTE_PLURAL, name)

    def patch(self, patch: Any, name: str = ROUTE) -> dict[str, Any]:
        return self.custom.patch_namespaced_custom_object(ROUTE_GROUP, ROUTE_VERSION, self.ns, ROUTE_PLURAL, name,
                                                          patch, _content_type="application/json-patch+json")

    def backends(self, rule: int = 1) -> list[tuple[str, Optional[int]]]:
        return [(b["name"], b.get("weight")) for b in self.get()["spec"]["rules"][rule]["backendRefs"]]


def _without_rule_refs(route: dict[str, Any], rule: int) -> dict[str, Any]:
    spec = copy.deepcopy(route["spec"])
    spec["rules"][rule].pop("backendRefs")
    return spec


@pytest.mark.integration
def test_only_the_rules_backend_refs_change_and_a_foreign_edit_is_reported(
        releases: Releases, operator: Any, namespace: str, kube: client.ApiClient) -> None:
    routes = Routes(kube, namespace)
    routes.create(user_route(namespace))
    releases.apply(manifest("1.0.0"))
    releases.wait_phase("web", "Stable", timeout=90)
    before = routes.get()
    gw = GatewayClient()
    load = f"{namespace}-web"
    gw.put_load(load, namespace, route=ROUTE, rps=30, paths=["/api/status"])
    try:
        gw.wait_rows(load, lambda rows: summarize(rows)["ok"] >= 30, timeout_s=30)
        manifest_2 = manifest("2.0.1", analysis={"stepDuration": "6s"})
        releases.apply(manifest_2)
        wait_for(lambda: routes.backends() == [("web", 80), ("web-b", 20)], 60, "the first step's weights in rule 1")
        during = routes.get()
        # nothing else moved: the other rule, the rule's matches and filters, parents, hostnames, metadata
        assert _without_rule_refs(during, 1) == _without_rule_refs(before, 1)
        assert during["spec"]["rules"][1]["backendRefs"][1]["port"] == 80
        assert during["metadata"]["labels"] == {"team": "shop"}
        assert during["metadata"]["annotations"] == {"owner": "gitops"}
        assert not during["metadata"].get("ownerReferences")
        managers = {m["manager"]: m for m in during["metadata"]["managedFields"]}
        assert managers["ripcord"]["operation"] == "Apply", managers

        # someone else (a GitOps sync) puts Git's version of the rule back mid-rollout
        routes.patch([{"op": "replace", "path": "/spec/rules/1/backendRefs", "value": [{"name": "web", "port": 80}]}])
        status = wait_for(lambda: (s := releases.status("web")) and condition(s, "RouteConflict").get("status")
                          == "True" and s, 30, "the RouteConflict condition")
        assert status["rollout"]["paused"] is True and status["phase"] == "Paused", status["phase"]
        assert "changed by someone else" in condition(status, "RouteConflict")["message"]
        event = releases.wait_event("web", "RouteConflict")
        assert event.type == "Warning" and ROUTE in event.message
        # ... and Ripcord leaves it as it is, however long it waits
        for _ in range(3):
            releases.wait_event("web", "RouteConflict")
            assert routes.backends() == [("web", 1)], routes.backends()

        # resume: Ripcord takes the rule back, and the rollout ends promoted
        rid = status["rollout"]["id"]
        releases.annotate("web", "ripcord.dev/resume", f"{rid}/n1")
        releases.wait_event("web", "RouteTakenBack")
        done = releases.wait_outcome("web", "Promoted", rollout_id=rid, timeout=120)
        assert condition(done, "RouteConflict")["status"] == "False"
        assert routes.backends() == [("web", 1)], "at rest the rule holds the stable's backend alone"
        summary = summarize(gw.wait_rows(load, lambda rows: bool(rows), timeout_s=5))
        assert summary["by_version"].get("2.0.1", 0) > 0 and summary["failed"] == 0, summary

        # deleting the Release leaves the route (it was never Ripcord's)
        releases.delete("web")
        wait_for(lambda: _gone(releases), 60, "the Release to be deleted")
        after = routes.get()
        assert _without_rule_refs(after, 1) == _without_rule_refs(before, 1) and not after["metadata"].get(
            "ownerReferences")
    finally:
        gw.delete_load(load)


def _gone(releases: Releases) -> bool:
    try:
        releases.get("web")
    except ApiException as exc:
        return exc.status == 404
    return False


@pytest.mark.integration
@pytest.mark.parametrize("route_name,rule,words", [
    ("nowhere", "web", ["spec.traffic.routeRef.name", "HTTPRoute nowhere not found"]),
    (ROUTE, "api", ["spec.traffic.routeRef.rule", "no rule named 'api'"]),
    (ROUTE, 5, ["spec.traffic.routeRef.rule", "has no rule 5"]),
    (ROUTE, 0, ["spec.traffic.routeRef.rule", "rule 0 of HTTPRoute public has no backendRef to Service web"]),
], ids=["no-route", "no-rule-named", "no-rule-index", "rule-without-stable"])
def test_a_route_or_rule_that_does_not_fit_is_invalid_and_changes_nothing(
        route_name: str, rule: Any, words: list[str], releases: Releases, operator: Any, namespace: str,
        kube: client.ApiClient) -> None:
    routes = Routes(kube, namespace)
    routes.create(user_route(namespace))
    before = routes.get()
    body = manifest("1.0.0", rule=rule)
    body["spec"]["traffic"]["routeRef"]["name"] = route_name
    releases.apply(body)
    status = wait_for(lambda: (s := releases.status("web")) and condition(s, "Stalled").get("status") == "True"
                      and s, 60, "the Stalled condition")
    stalled = condition(status, "Stalled")
    assert stalled["reason"] == "InvalidSpec", stalled
    for w in words:
        assert w in stalled["message"], stalled
    event = releases.wait_event("web", "InvalidSpec")
    assert event.type == "Warning" and words[0] in event.message
    assert client.AppsV1Api(kube).list_namespaced_deployment(namespace).items == []
    assert [s.metadata.name for s in client.CoreV1Api(kube).list_namespaced_service(namespace).items] == ["cdn"]
    after = routes.get()  # (the gateway writes its status; the spec is the user's as it was)
    assert after["spec"] == before["spec"] and after["metadata"]["generation"] == before["metadata"]["generation"]
    assert [m["manager"] for m in after["metadata"]["managedFields"] if m["manager"] == "ripcord"] == []
