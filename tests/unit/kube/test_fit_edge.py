"""The edge with the user's route, HPAs, PDBs and API discovery, against a fake API server."""
from __future__ import annotations

import copy
import datetime as dt
from typing import Any

from ripcord.contract import RELEASE_LABEL
from ripcord.kube.discovery import CURRENT, ApiVersions, Discovery, choose
from ripcord.kube.routerefs import RouteReferences
from tests.unit.kube.edge import (DEPLOYMENTS, NS, RELEASES, ROUTES, SERVICES, Edge, build, release, template)

PUBLIC = f"{ROUTES}/public"
USER_RULES = [{"matches": [{"path": {"type": "PathPrefix", "value": "/static"}}],
               "backendRefs": [{"name": "cdn", "port": 80}]},
              {"name": "web", "filters": [{"type": "RequestHeaderModifier"}],
               "backendRefs": [{"name": "web", "port": 80}]}]


def user_route() -> dict[str, Any]:
    return {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
            "metadata": {"name": "public", "namespace": NS, "generation": 1, "labels": {"team": "shop"}},
            "spec": {"parentRefs": [{"name": "gw"}], "rules": copy.deepcopy(USER_RULES)},
            "status": {"parents": [{"parentRef": {"name": "gw"}, "controllerName": "x/y", "conditions": [
                {"type": "Accepted", "status": "True", "observedGeneration": 1}]}]}}


def ready(e: Edge) -> None:
    """The Deployment controller and the kubelet: every Deployment has its pods, ready."""
    for path, obj in e.api.objects.items():
        if path.startswith(DEPLOYMENTS + "/"):
            n = obj["spec"]["replicas"]
            obj["status"] = {"observedGeneration": obj["metadata"].get("generation", 1), "replicas": n,
                             "updatedReplicas": n, "readyReplicas": n, "availableReplicas": n}
    e.sync()


def tick(e: Edge, seconds: float = 1.0) -> None:
    ready(e)
    e.reconcile()
    e.sync()
    e.now += dt.timedelta(seconds=seconds)


def new_version(e: Edge, version: str) -> None:
    body = e.api.objects[f"{RELEASES}/web"]
    body["spec"]["version"], body["spec"]["template"] = version, template(version)
    body["metadata"]["generation"] = body["metadata"].get("generation", 1) + 1
    e.sync()


def with_user_route() -> Edge:
    e = build()
    e.api.put(ROUTES, user_route())
    e.api.put(RELEASES, release(traffic={"provider": "gateway-api", "routeRef": {"name": "public", "rule": "web"}}))
    e.sync()
    return e


def test_the_users_route_is_read_from_the_watch_and_only_its_rule_is_applied() -> None:
    e = with_user_route()
    for _ in range(3):
        tick(e)
    assert e.api.get(f"{RELEASES}/web")["status"]["phase"] == "Stable"
    assert [c for c in e.api.calls if c.resource == "httproutes"] == [], "at rest: no read, no write"
    new_version(e, "2.0.0")
    applies = []
    for _ in range(10):
        tick(e)
        applies += [c for c in e.api.calls if (c.verb, c.resource) == ("patch", "httproutes")]
        if applies:
            break
    [apply] = applies
    assert apply.content_type == "application/apply-patch+yaml"
    assert ("fieldManager", "ripcord") in apply.query and ("force", "true") in {(k, v.lower()) for k, v in apply.query}
    assert set(apply.body) == {"apiVersion", "kind", "metadata", "spec"} and set(apply.body["spec"]) == {"rules"}
    assert set(apply.body["metadata"]) == {"name", "namespace", "resourceVersion"}, "no owner, label or annotation"
    rules = apply.body["spec"]["rules"]
    assert rules[0] == USER_RULES[0] and rules[1]["filters"] == USER_RULES[1]["filters"]
    assert rules[1]["backendRefs"] == [{"name": "web", "port": 80, "weight": 80},
                                       {"name": "web-b", "port": 80, "weight": 20}]
    stored = e.api.get(PUBLIC)
    assert stored is not None and "ownerReferences" not in stored["metadata"]
    assert stored["metadata"]["labels"] == {"team": "shop"} and stored["spec"]["parentRefs"] == [{"name": "gw"}]
    assert not [c for c in e.api.calls if (c.verb, c.resource) in (("get", "httproutes"), ("list", "httproutes"))]


def test_a_route_changed_since_the_decision_is_not_written() -> None:
    e = with_user_route()
    tick(e)
    from ripcord.api.models import ReleaseSpec
    from ripcord.contract import TrafficIntent
    spec = ReleaseSpec.model_validate(e.api.get(f"{RELEASES}/web")["spec"])
    e.api.calls.clear()
    e.actuator.ensure_user_route(NS, "web", spec, TrafficIntent("a", "b", 20), decided_on="1")  # an older version
    assert e.api.calls == []
    current = e.stores.user_routes.get(NS, "public")["metadata"]["resourceVersion"]
    e.actuator.ensure_user_route(NS, "web", spec, TrafficIntent("a", "b", 20), decided_on=current)
    assert [(c.verb, c.resource) for c in e.api.calls] == [("patch", "httproutes")]


def test_a_route_the_store_lacks_is_asked_for_once_and_a_missing_one_is_invalid() -> None:
    e = build()
    e.api.put(RELEASES, release(traffic={"provider": "gateway-api", "routeRef": {"name": "public"}}))
    e.sync()
    e.reconcile()
    assert ("get", "httproutes") in e.api.summary()
    status = e.api.get(f"{RELEASES}/web")["status"]
    assert status["phase"] == "InvalidSpec" and "spec.traffic.routeRef.name: HTTPRoute public not found" in \
        status["message"]
    assert not [p for p in e.api.objects if p.startswith((DEPLOYMENTS, SERVICES))], "nothing created"
    e.api.put(ROUTES, user_route())  # created; the watch has not delivered it yet
    e.sync()
    e.stores.user_routes.apply("DELETED", user_route())
    e.reconcile()
    assert [c.verb for c in e.api.calls if c.resource == "httproutes"] == ["get"]
    e.reconcile()
    assert [c.verb for c in e.api.calls if c.resource == "httproutes"] == [], "kept from then on"


def test_a_generated_route_cannot_be_named_as_ones_own() -> None:
    e = build()
    theirs = user_route()
    theirs["metadata"]["labels"] = {RELEASE_LABEL: "other"}
    e.api.put(ROUTES, theirs)
    e.api.put(RELEASES, release(traffic={"provider": "gateway-api", "routeRef": {"name": "public"}}))
    e.sync()
    e.reconcile()
    assert "generated by Ripcord for Release other" in e.api.get(f"{RELEASES}/web")["status"]["message"]


def test_hpa_and_budgets_in_the_versions_the_server_serves_and_gone_when_dropped() -> None:
    e = build(versions=ApiVersions(route="v1", autoscaling="v2beta2", policy="v1beta1", istio=None))
    e.api.put(RELEASES, release(autoscaling={"minReplicas": 2, "maxReplicas": 5},
                                disruptionBudgets={"stable": {"maxUnavailable": 1}}))
    e.sync()
    for _ in range(2):
        tick(e)
    hpa = e.api.get(f"/apis/autoscaling/v2beta2/namespaces/{NS}/horizontalpodautoscalers/web")
    assert hpa is not None and hpa["apiVersion"] == "autoscaling/v2beta2"
    assert hpa["spec"]["scaleTargetRef"]["name"] == "web-a" and hpa["metadata"]["ownerReferences"][0]["kind"] == \
        "Release"
    pdb = e.api.get(f"/apis/policy/v1beta1/namespaces/{NS}/poddisruptionbudgets/web-a")
    assert pdb is not None and pdb["spec"]["maxUnavailable"] == 1
    assert pdb["spec"]["selector"] == {"matchLabels": {"ripcord.dev/release": "web", "ripcord.dev/slot": "a"}}
    body = e.api.objects[f"{RELEASES}/web"]
    del body["spec"]["autoscaling"]
    body["spec"]["disruptionBudgets"] = {"stable": {"minAvailable": "50%"}}
    e.sync()
    tick(e)
    deletes = [(c.resource, c.name) for c in e.api.calls if c.verb == "delete"]
    assert deletes == [("horizontalpodautoscalers", "web")]
    pdb = e.api.get(f"/apis/policy/v1beta1/namespaces/{NS}/poddisruptionbudgets/web-a")
    assert pdb is not None and pdb["spec"].get("minAvailable") == "50%" and "maxUnavailable" not in pdb["spec"]


def test_an_autoscaled_stable_s_replicas_are_never_written() -> None:
    e = build()
    e.api.put(RELEASES, release(autoscaling={"minReplicas": 2, "maxReplicas": 5}))
    e.sync()
    for _ in range(2):
        tick(e)
    e.api.objects[f"{DEPLOYMENTS}/web-a"]["spec"]["replicas"] = 4  # the HPA
    e.sync()
    tick(e)
    assert not [c for c in e.api.calls if c.resource == "deployments" and c.verb == "patch"]
    assert e.api.get(f"{DEPLOYMENTS}/web-a")["spec"]["replicas"] == 4


def test_discovery_picks_the_newest_served_version_and_caches_it() -> None:
    assert choose({"autoscaling": ["v1", "v2beta1", "v2beta2"], "policy": ["v1beta1"],
                   "gateway.networking.k8s.io": ["v1beta1"]}) == \
        ApiVersions(route="v1beta1", autoscaling="v2beta2", policy="v1beta1", istio=None)
    assert choose({"autoscaling": ["v1", "v2"], "policy": ["v1"], "networking.istio.io": ["v1alpha3", "v1beta1"],
                   "gateway.networking.k8s.io": ["v1", "v1beta1"]}) == \
        ApiVersions(route="v1", autoscaling="v2", policy="v1", istio="v1beta1")
    now = [0.0]
    asked: list[int] = []

    def fetch() -> dict[str, list[str]]:
        asked.append(1)
        return {"autoscaling": ["v2beta2"], "policy": ["v1beta1"]}
    d = Discovery(None, fetch=fetch, clock=lambda: now[0], refresh_s=600)
    assert d.cached() == CURRENT and not d.known
    assert d.refresh_if_due().autoscaling == "v2beta2" and len(asked) == 1
    now[0] = 599
    d.refresh_if_due()
    assert len(asked) == 1, "cached"
    now[0] = 601
    d.refresh_if_due()
    assert len(asked) == 2 and d.cached().policy == "v1beta1"

    def broken() -> dict[str, list[str]]:
        raise OSError("connection refused")
    d2 = Discovery(None, fetch=broken, clock=lambda: now[0])
    assert d2.refresh() == CURRENT, "a failed discovery keeps what is known"


def test_route_references_map_routes_to_the_releases_that_name_them() -> None:
    refs = RouteReferences()
    a = release(traffic={"provider": "gateway-api", "routeRef": {"name": "public"}})
    a["metadata"] = {"name": "a", "namespace": NS}
    b = copy.deepcopy(a)
    b["metadata"]["name"] = "b"
    refs.update(a)
    refs.update(b)
    assert refs.releases_of(NS, "public") == ["a", "b"]
    a["spec"]["traffic"]["routeRef"]["name"] = "other"
    refs.update(a)
    refs.update(b, deleted=True)
    assert refs.releases_of(NS, "public") == [] and refs.releases_of(NS, "other") == ["a"]


def test_deleting_the_release_mid_rollout_gives_the_rule_back_to_the_stable() -> None:
    e = with_user_route()
    for _ in range(3):
        tick(e)
    new_version(e, "2.0.0")
    for _ in range(10):
        tick(e)
        if len(e.api.get(PUBLIC)["spec"]["rules"][1]["backendRefs"]) == 2:
            break
    assert [b["name"] for b in e.api.get(PUBLIC)["spec"]["rules"][1]["backendRefs"]] == ["web", "web-b"]
    e.api.objects[f"{RELEASES}/web"]["metadata"]["deletionTimestamp"] = "2026-01-29T14:31:00Z"
    e.sync()
    e.reconcile()
    assert e.api.get(PUBLIC)["spec"]["rules"][1]["backendRefs"] == [{"name": "web", "port": 80}]
    assert e.api.get(PUBLIC)["spec"]["rules"][0] == USER_RULES[0] and PUBLIC in e.api.objects


class RecordingAnalyzer:
    """Answers every pre-flight and remembers how it was sized."""

    def __init__(self) -> None:
        self.sized: list[tuple[int, int]] = []

    def preflight(self, spec: Any, target: Any, *, weights: Any, canary_pods: int, stable_pods: int) -> Any:
        from ripcord.analysis.feasibility import PreflightResult
        self.sized.append((canary_pods, stable_pods))
        return PreflightResult(feasible=True, summary="fine")


def test_the_preflight_of_an_autoscaled_release_is_sized_from_the_stable_s_current_replicas() -> None:
    e = build()
    analyzer = RecordingAnalyzer()
    e.observer.analyzer = analyzer
    e.api.put(RELEASES, release(autoscaling={"minReplicas": 2, "maxReplicas": 10},
                                analysis={"metrics": [{"name": "error-rate", "type": "error-rate", "max": 0.05}],
                                          "interval": "2s", "stepDuration": "4s"}))
    e.sync()
    for _ in range(2):
        tick(e)
    e.api.objects[f"{DEPLOYMENTS}/web-a"]["spec"]["replicas"] = 8  # the HPA scaled the stable up
    e.sync()
    new_version(e, "2.0.0")
    tick(e)
    # 8 stable pods (not spec.replicas: 2); the canary at 20% of 8 is 2 pods (ceil 1.6)
    assert analyzer.sized and analyzer.sized[-1] == (2, 8), analyzer.sized
