"""The observer carries out the read plan from the stores; the API only for what the plan asks."""
from __future__ import annotations

import datetime as dt
from typing import Any

from tests.unit.kube.edge import RELEASES, release, with_release


def settled(e: Any) -> None:
    e.reconcile()
    e.sync()
    e.reconcile()
    e.sync()


def pod(name: str, slot: str, ready: bool, restarts: int = 0, created: str = "2026-01-29T14:29:00Z",
        template: str = "") -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": "shop", "creationTimestamp": created,
                         "labels": {"ripcord.dev/release": "web", "ripcord.dev/slot": slot},
                         "annotations": {"ripcord.dev/template-hash": template}},
            "status": {"phase": "Running",
                       "conditions": [{"type": "Ready", "status": "True" if ready else "False",
                                       "lastTransitionTime": created}],
                       "containerStatuses": [{"name": "app", "restartCount": restarts}]}}


def rolling_out() -> Any:
    """A Release at rest given version 2.0.0: the rollout has started, the canary is slot b."""
    e = with_release()
    settled(e)
    e.api.objects[f"{RELEASES}/web"]["spec"] = release("2.0.0")["spec"]
    e.sync()
    e.reconcile()
    e.sync()
    return e


def test_observing_a_release_at_rest_sends_no_request() -> None:
    e = with_release()
    settled(e)
    e.api.calls.clear()
    body = e.reconciler.release("shop", "web")
    obs = e.observer.observe(body, e.now)
    assert e.api.calls == [] and obs.spec is not None and obs.slots["a"].exists


def test_a_new_template_is_dry_run_once_whatever_the_number_of_reconciles() -> None:
    e = with_release()
    settled(e)
    e.api.objects[f"{RELEASES}/web"]["spec"] = release("2.0.0")["spec"]
    e.sync()
    body = e.reconciler.release("shop", "web")
    e.api.calls.clear()
    for _ in range(3):
        e.observer.observe(body, e.now)
    assert [(c.verb, c.resource, c.dry_run) for c in e.api.calls] == [("create", "deployments", True)]


def test_pod_health_comes_from_the_store_of_pods() -> None:
    e = rolling_out()
    canary = e.api.get(f"{RELEASES}/web")["status"]["canary"]["templateHash"]  # type: ignore[index]
    e.stores.pods.apply("ADDED", pod("web-b-1", "b", ready=False, restarts=2, template=canary))
    e.stores.pods.apply("ADDED", pod("web-b-2", "b", ready=True, restarts=1, template=canary))
    e.stores.pods.apply("ADDED", pod("web-b-0", "b", ready=False, restarts=7, template="older"))  # a bad
    # version's pod still going away in the same slot: not this canary's, not judged
    e.stores.pods.apply("ADDED", pod("web-a-1", "a", ready=False, restarts=9))  # the stable's: not judged
    e.api.calls.clear()
    obs = e.observer.observe(e.reconciler.release("shop", "web"), e.now + dt.timedelta(seconds=5))
    assert e.api.calls == []
    assert obs.health.restarts == {"web-b-1/app": 2, "web-b-2/app": 1} and obs.health.not_ready == ("web-b-1",)
    assert obs.health.breach is not None and obs.health.breach.gate == "Restarts"  # maxRestarts 1


def test_the_effective_weight_of_the_replicas_provider_is_read_from_the_stores() -> None:
    e = rolling_out()
    status = e.api.get(f"{RELEASES}/web")["status"]  # type: ignore[index]
    assert status["rollout"]["state"] == "Progressing"
    for name, slot in (("web-a-1", "a"), ("web-a-2", "a"), ("web-b-1", "b")):
        e.stores.pods.apply("ADDED", pod(name, slot, ready=True))
    svc = e.stores.services.get("shop", "web")
    assert svc is not None
    e.stores.services.apply("MODIFIED", {**svc, "spec": {**svc["spec"], "selector": {"ripcord.dev/release": "web"}}})
    obs = e.observer.observe(e.reconciler.release("shop", "web"), e.now)
    assert round(obs.effective_weight or 0, 2) == 33.33


def test_a_slot_is_ready_only_once_no_pod_of_an_older_template_is_left() -> None:
    e = rolling_out()
    d = e.stores.deployments.get("shop", "web-b")
    assert d is not None
    # the controller made one pod of the new template; a rolled-back version's pod is still Ready
    d["metadata"]["generation"] = 5
    d["status"] = {"observedGeneration": 5, "replicas": 2, "updatedReplicas": 1, "readyReplicas": 1}
    body = e.reconciler.release("shop", "web")
    assert e.observer.observe(body, e.now).slots["b"].ready == 0  # the Deployment says 1: the old pod's

    d["status"] = {"observedGeneration": 5, "replicas": 2, "updatedReplicas": 1, "readyReplicas": 2}
    assert e.observer.observe(body, e.now).slots["b"].ready == 0  # the old pod would still be served

    d["status"] = {"observedGeneration": 5, "replicas": 1, "updatedReplicas": 1, "readyReplicas": 1}  # it is gone
    assert e.observer.observe(body, e.now).slots["b"].ready == 1


def test_the_canary_s_replica_set_is_read_from_its_pods() -> None:
    e = with_release()
    settled(e)
    old = pod("web-b-7c4f00-old00", "b", ready=False, template="older")
    new = pod("web-b-5d8f9c-new00", "b", ready=True, template="current")
    old["metadata"]["labels"]["pod-template-hash"] = "7c4f00"
    new["metadata"]["labels"]["pod-template-hash"] = "5d8f9c"
    e.stores.pods.apply("ADDED", old)
    e.stores.pods.apply("ADDED", new)
    assert e.observer._replica_set("shop", "web", "b", "current") == "5d8f9c"
    assert e.observer._replica_set("shop", "web", "a", "current") is None
    assert e.observer._replica_set("shop", "web", "b", None) is None
