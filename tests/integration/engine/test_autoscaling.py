"""spec.autoscaling and spec.disruptionBudgets on the sandbox (Kubernetes 1.20: autoscaling/v2beta2,
policy/v1beta1, picked by API discovery).

The sandbox has no metrics API, so its HPA controller computes no recommendation; the test
drives the stable Deployment's scale subresource as the HPA controller would (and the real HPA
controller still enforces the bounds). Ripcord must never fight those changes: it sizes the
canary from the stable's current replicas and the weight, promotes to the stable's current
size, moves the HPA (and the PodDisruptionBudgets) with the roles, and rolls back without
touching the stable's count.
"""
from __future__ import annotations

from typing import Any, Optional

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from tests.integration.support import Releases, release_manifest, wait_for


class Cluster:
    def __init__(self, kube: client.ApiClient, namespace: str) -> None:
        self.apps = client.AppsV1Api(kube)
        self.custom = client.CustomObjectsApi(kube)
        self.ns = namespace

    def replicas(self, name: str) -> int:
        return int(self.apps.read_namespaced_deployment(name, self.ns).spec.replicas or 0)

    def scale(self, name: str, n: int) -> None:
        """What the HPA controller does: write the scale subresource."""
        self.apps.patch_namespaced_deployment_scale(name, self.ns, {"spec": {"replicas": n}})

    def hpa(self) -> dict[str, Any]:
        return self.custom.get_namespaced_custom_object("autoscaling", "v2beta2", self.ns,
                                                        "horizontalpodautoscalers", "web")

    def pdb(self, name: str) -> Optional[dict[str, Any]]:
        try:
            return self.custom.get_namespaced_custom_object("policy", "v1beta1", self.ns, "poddisruptionbudgets",
                                                            name)
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise

    def budget(self, name: str) -> Optional[dict[str, Any]]:
        pdb = self.pdb(name)
        return None if pdb is None else {k: v for k, v in pdb["spec"].items() if k != "selector"}


def manifest(version: str, **spec: Any) -> dict[str, Any]:
    return release_manifest("web", version, provider="gateway-api", replicas=2,
                            autoscaling={"minReplicas": 2, "maxReplicas": 8},
                            disruptionBudgets={"stable": {"maxUnavailable": 1}, "canary": {"minAvailable": "50%"}},
                            analysis={"stepDuration": "8s", "postPromotionWatch": "8s"},
                            traffic={"provider": "gateway-api", "canaryReplicas": 1,
                                     "gatewayRef": {"name": "sandbox-gateway", "namespace": "default"}},
                            **spec)


@pytest.mark.integration
def test_the_hpa_follows_the_stable_and_ripcord_never_fights_it(releases: Releases, operator: Any, namespace: str,
                                                                kube: client.ApiClient) -> None:
    c = Cluster(kube, namespace)
    releases.apply(manifest("1.0.0"))
    releases.wait_phase("web", "Stable", timeout=90)
    hpa = wait_for(lambda: c.hpa(), 30, "the HPA")
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web-a"}
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (2, 8)
    assert hpa["metadata"]["ownerReferences"][0]["kind"] == "Release"
    assert wait_for(lambda: c.budget("web-a"), 30, "the stable's PDB") == {"maxUnavailable": 1}
    assert c.pdb("web-b") is None, "an idle slot has no PDB"

    c.scale("web-a", 4)  # the HPA scales the stable up
    releases.apply(manifest("2.0.1"))
    wait_for(lambda: (s := releases.status("web")).get("weight") == 50 and s, 90, "the 50% step")
    assert c.replicas("web-a") == 4, "Ripcord left the stable's count to the HPA"
    wait_for(lambda: c.replicas("web-b") == 2, 30, "the canary sized ceil(4 x 50%) = 2")
    wait_for(lambda: c.budget("web-b") == {"minAvailable": "50%"}, 10, "the canary's PDB with the canary's budget")
    c.scale("web-a", 6)  # ... and again, mid-step
    wait_for(lambda: c.replicas("web-b") == 3, 30, "the canary following the stable: ceil(6 x 50%) = 3")
    assert c.replicas("web-a") == 6

    watching = releases.wait_phase("web", "Watching", timeout=120)
    assert watching["stable"]["deployment"] == "web-b"
    assert c.replicas("web-b") == 6, "promoted at the stable's size"
    wait_for(lambda: c.hpa()["spec"]["scaleTargetRef"]["name"] == "web-b", 30, "the HPA moved to the new stable")
    # (written right after the HPA, in the same pass)
    wait_for(lambda: c.budget("web-b") == {"maxUnavailable": 1}, 10, "the new stable with the stable's budget")
    assert c.budget("web-a") == {"maxUnavailable": 1}, "the warm previous stable keeps it through the watch"
    assert c.replicas("web-a") == 6, "kept warm at the size it served at"
    releases.wait_outcome("web", "Promoted", rollout_id=2, timeout=60)
    wait_for(lambda: c.replicas("web-a") == 0, 30, "the previous stable scaled to zero")
    wait_for(lambda: c.pdb("web-a") is None, 30, "the idle slot's PDB gone")

    # a rollback while the HPA scales the stable
    releases.apply(manifest("2.0.2", env={"ERROR_RATE": "0"}))
    rid = wait_for(lambda: (releases.status("web").get("rollout") or {}).get("id"), 60, "rollout 3")
    wait_for(lambda: c.replicas("web-a") >= 1, 60, "the canary up")
    c.scale("web-b", 3)
    releases.annotate("web", "ripcord.dev/abort", f"{rid}/n1")
    c.scale("web-b", 5)
    releases.wait_outcome("web", "Aborted", rollout_id=rid, timeout=90)
    wait_for(lambda: c.replicas("web-a") == 0, 30, "the canary scaled to zero")
    assert c.replicas("web-b") == 5, "the rollback never touched the stable's count"
    assert c.hpa()["spec"]["scaleTargetRef"]["name"] == "web-b"
    assert c.budget("web-b") == {"maxUnavailable": 1}


@pytest.mark.integration
def test_an_hpa_without_bounds_is_refused_and_changes_nothing(releases: Releases, operator: Any, namespace: str,
                                                              kube: client.ApiClient) -> None:
    unbounded = manifest("1.0.0")
    del unbounded["spec"]["autoscaling"]["maxReplicas"]
    with pytest.raises(ApiException) as exc:
        releases.apply(unbounded)  # the CRD schema says it first
    assert exc.value.status == 422 and "spec.autoscaling.maxReplicas" in exc.value.body
    inverted = manifest("1.0.0")
    inverted["spec"]["autoscaling"] = {"minReplicas": 5, "maxReplicas": 3}
    releases.apply(inverted)  # the schema cannot compare two fields: the operator does
    status = wait_for(lambda: (s := releases.status("web")).get("phase") == "InvalidSpec" and s, 60, "InvalidSpec")
    assert "spec.autoscaling" in status["message"] and "minReplicas (5) is above maxReplicas (3)" in status["message"]
    assert releases.wait_event("web", "InvalidSpec").type == "Warning"
    assert client.AppsV1Api(kube).list_namespaced_deployment(namespace).items == []
    assert Cluster(kube, namespace).custom.list_namespaced_custom_object(
        "autoscaling", "v2beta2", namespace, "horizontalpodautoscalers")["items"] == []
