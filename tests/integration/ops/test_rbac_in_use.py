"""The operator's ClusterRole is what the operator calls: proved from the API server's audit log.

One operator runs as the shipped identity, cluster-wide like the shipped Deployment (only the
Releases of its own shard, so it leaves the other tests' alone), through a tour of what it
does: installs and rollouts with the gateway-api provider (two routed ports, one removed
again), a referenced ConfigMap changed, the istio provider with subsets, an autoscaler and
disruption budgets switched on and off, a rollback, and both deletion policies. The sandbox's
API server audits every request of that identity (metadata only); the requests this
operator made (its user agents: ``ripcord/...`` for its client, ``kopf/...`` for Kopf's
watches) are compared with the ClusterRole:

* nothing it asked was refused (no 403: nothing it needs is missing);
* every (group, resource, verb) the ClusterRole grants was used, except the few listed in
  ``NOT_IN_THE_TOUR``, each with why it is granted and which test covers it.
"""
from __future__ import annotations

import collections
import datetime as dt
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from ripcord.contract import SHARD_LABEL
from sandbox.audit import Request, operator_requests
from sandbox.releases import VIRTUAL_APP, OperatorProcess, demo_template, write_operator_config
from tests.integration.ops.test_manifests_install import shipped_rules
from tests.integration.support import Releases, release_manifest, wait_for

NOT_IN_THE_TOUR = {
    ("ripcord.dev", "releases/finalizers", "update"):
        "never called: the API server checks it when Ripcord sets blockOwnerDeletion in an ownerReference "
        "(OwnerReferencesPermissionEnforcement); every create in the tour depended on it",
    ("ripcord.dev", "releases/status", "patch"):
        "the ReconcileError condition, written when a reconcile fails (tests/unit/kube/test_reconciler.py)",
    ("", "services", "get"): "a create that finds the object already there reads it to check its owner "
                             "(adoption, a store behind the API server): tests/unit/kube",
    ("autoscaling", "horizontalpodautoscalers", "get"): "as services get",
    ("policy", "poddisruptionbudgets", "get"): "as services get",
    ("networking.istio.io", "virtualservices", "get"): "as services get",
    ("networking.istio.io", "destinationrules", "get"): "as services get",
    ("gateway.networking.k8s.io", "httproutes", "get"): "as services get; and a user's own route not yet "
                                                        "delivered by the watch (test_user_route.py)",
    ("", "namespaces", "list"): "Kopf lists namespaces only for --namespace patterns (team-*), which the "
                                "shipped Deployment does not use but a namespaced install may",
    ("", "namespaces", "watch"): "as namespaces list",
}


def labelled(name: str, version: str, shard: str, **spec: Any) -> dict[str, Any]:
    body = release_manifest(name, version, virtual=True, **spec)
    body["metadata"]["labels"] = {SHARD_LABEL: shard}
    return body


def _put(replace: Any, create: Any, name: str, ns: str, body: dict[str, Any]) -> None:
    """Replace the object, or create it the first time."""
    try:
        replace(name, ns, body)
    except client.ApiException as exc:
        if exc.status != 404:
            raise
        create(ns, body)


def config_map(core: client.CoreV1Api, ns: str, value: str) -> None:
    _put(core.replace_namespaced_config_map, core.create_namespaced_config_map, "tour-config", ns,
         {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "tour-config"}, "data": {"mode": value}})


def secret(core: client.CoreV1Api, ns: str, value: str) -> None:
    _put(core.replace_namespaced_secret, core.create_namespaced_secret, "tour-secret", ns,
         {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "tour-secret"}, "stringData": {"token": value}})


def audited(log: Path, since: dt.datetime, namespace: str) -> collections.Counter[Request]:
    """This operator's requests: its user agents, in the tour's namespace or cluster-scoped."""
    return collections.Counter(r for r in operator_requests(log, since=since)
                               if r.user_agent.startswith(("ripcord/", "kopf/")) and r.namespace in (namespace, None))


def promoted(releases: Releases, name: str, version: str, timeout: float = 120) -> dict[str, Any]:
    return wait_for(lambda: (s := releases.status(name)).get("stable", {}).get("version") == version
                    and not s.get("rollout") and s, timeout, f"{name} {version} promoted and at rest")


@pytest.mark.integration
def test_every_verb_the_cluster_role_grants_is_one_the_operator_calls(
        ripcord_installed: Any, kube: client.ApiClient, namespace: str, tmp_path: Path) -> None:
    sandbox = ripcord_installed
    if not sandbox.operator_audit_log.exists():
        pytest.fail(f"{sandbox.operator_audit_log} is missing: this sandbox was started before it audited the "
                    f"operator; restart it (make sandbox-down; make sandbox-up)")
    shard = f"rbac-{uuid.uuid4().hex[:6]}"
    core = client.CoreV1Api(kube)
    releases = Releases(kube, namespace)
    started = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1)
    config = write_operator_config(tmp_path / "ripcord.yaml", sandbox.prometheus_url, scrape_interval_s=5)
    operator = OperatorProcess(sandbox.operator_kubeconfig, [], tmp_path / "operator.log", config,
                               args=["--shard", shard]).start()
    quick = {"stepDuration": "2s", "postPromotionWatch": "2s", "interval": "10s"}
    try:
        # gateway-api, two routed ports, a referenced ConfigMap
        config_map(core, namespace, "one")
        secret(core, namespace, "one")
        two_ports = {"ports": [{"name": "http", "port": 80, "targetPort": 8080},
                               {"name": "grpc", "port": 9000, "targetPort": 9000}]}
        env_from_config = [{"name": "MODE", "valueFrom": {"configMapKeyRef": {"name": "tour-config", "key": "mode"}}},
                           {"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "tour-secret", "key": "token"}}}]

        def web(version: str, **spec: Any) -> dict[str, Any]:
            body = labelled("web", version, shard, provider="gateway-api", analysis=quick, **spec)
            body["spec"]["template"]["spec"]["containers"][0]["env"].extend(env_from_config)
            return body

        releases.apply(web("1.0.0", service=two_ports))
        promoted(releases, "web", "1.0.0")
        releases.apply(web("1.1.0", service=two_ports))
        promoted(releases, "web", "1.1.0")
        config_map(core, namespace, "two")  # a rollout of the same version: the ConfigMap's data moved
        wait_for(lambda: len(releases.status("web").get("history") or []) >= 3, 60, "a rollout for the ConfigMap")
        promoted(releases, "web", "1.1.0")
        secret(core, namespace, "two")  # and one for the Secret's
        wait_for(lambda: len(releases.status("web").get("history") or []) >= 4, 60, "a rollout for the Secret")
        promoted(releases, "web", "1.1.0")
        releases.apply(web("1.1.0"))  # one port again: its route is pruned
        wait_for(lambda: not any(r["metadata"]["name"] == "web-9000" for r in client.CustomObjectsApi(kube)
                                 .list_namespaced_custom_object("gateway.networking.k8s.io", "v1", namespace,
                                                                "httproutes")["items"]), 60, "web-9000 pruned")

        # istio with subsets, an autoscaler and budgets, switched off again; a rollback
        custom = client.CustomObjectsApi(kube)
        def mesh(version: str, **spec: Any) -> dict[str, Any]:
            return labelled("mesh", version, shard, provider="istio", **{"analysis": quick, **spec})

        extras = {"autoscaling": {"minReplicas": 2, "maxReplicas": 4},
                  "disruptionBudgets": {"stable": {"maxUnavailable": 1}, "canary": {"minAvailable": "50%"}}}
        releases.apply(mesh("1.0.0", traffic={"provider": "istio", "istio": {"subsets": True}}, **extras))
        promoted(releases, "mesh", "1.0.0")
        releases.apply(mesh("2.0.0", traffic={"provider": "istio", "istio": {"subsets": True}}, **extras))
        promoted(releases, "mesh", "2.0.0")
        dr = custom.get_namespaced_custom_object("networking.istio.io", "v1", namespace, "destinationrules", "mesh")
        subsets = [{**s, "labels": {"edited": "by-hand"}} for s in dr["spec"]["subsets"]]
        custom.patch_namespaced_custom_object("networking.istio.io", "v1", namespace, "destinationrules", "mesh",
                                              {"spec": {"subsets": subsets}})  # an owned object edited by hand
        wait_for(lambda: "edited" not in json.dumps(custom.get_namespaced_custom_object(
            "networking.istio.io", "v1", namespace, "destinationrules", "mesh")["spec"]), 60, "the DR put back")
        # no subsets, autoscaler or budgets (a merge patch: null removes a field)
        releases.apply(mesh("2.0.0", traffic={"provider": "istio", "istio": None}, autoscaling=None,
                            disruptionBudgets=None))
        wait_for(lambda: not custom.list_namespaced_custom_object("autoscaling", "v2beta2", namespace,
                                                                  "horizontalpodautoscalers")["items"], 60,
                 "the HPA pruned")
        wait_for(lambda: not custom.list_namespaced_custom_object("networking.istio.io", "v1", namespace,
                                                                  "destinationrules")["items"], 60, "the DR pruned")
        releases.apply(mesh("3.0.0", traffic={"provider": "istio"}, analysis={**quick, "stepDuration": "10m"}))
        rid = wait_for(lambda: (releases.status("mesh").get("rollout") or {}).get("id"), 60, "the 3.0.0 rollout")
        releases.annotate("mesh", "ripcord.dev/abort", f"{rid}/tour")  # a rollback, by hand
        wait_for(lambda: (releases.status("mesh").get("history") or [{}])[0].get("outcome") == "Aborted",
                 120, "3.0.0 rolled back")

        releases.apply(labelled("mesh", "2.0.0", shard, provider="replicas", analysis=quick))  # the VS pruned
        wait_for(lambda: not custom.list_namespaced_custom_object("networking.istio.io", "v1", namespace,
                                                                  "virtualservices")["items"], 60, "the VS pruned")
        # an existing Deployment adopted (workloadRef): read directly, it carries no Ripcord label
        template = demo_template("1.0.0", image=f"{VIRTUAL_APP}:1.0.0")
        template["metadata"]["labels"] = {"app": "legacy"}
        client.AppsV1Api(kube).create_namespaced_deployment(namespace, {
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "legacy"},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "legacy"}}, "template": template}})
        adopting = labelled("adopter", "1.0.0", shard, analysis=quick)
        adopting["spec"].pop("template")
        adopting["spec"]["workloadRef"] = {"name": "legacy"}
        releases.apply(adopting)
        promoted(releases, "adopter", "1.0.0")
        # both deletion policies
        releases.custom.patch_namespaced_custom_object("ripcord.dev", "v1alpha1", namespace, "releases", "mesh",
                                                       {"spec": {"deletionPolicy": "Delete"}})
        for name in ("web", "mesh", "adopter"):
            releases.delete(name)
        wait_for(lambda: not releases.custom.list_namespaced_custom_object(
            "ripcord.dev", "v1alpha1", namespace, "releases")["items"], 60, "both Releases gone")
    except BaseException:
        print(f"\n--- operator log (tail) ---\n{operator.log_tail(60)}")
        raise
    finally:
        operator.stop()

    # The API server writes a watch's audit events when it ends, just after the operator stopped.
    seen: list[collections.Counter[Request]] = [collections.Counter()]

    def settled() -> bool:
        now = audited(sandbox.operator_audit_log, started, namespace)
        done, seen[0] = now == seen[0], now
        return done
    wait_for(settled, 20, "the audit log to stop growing", interval=1.0)
    used: collections.Counter[tuple[str, str, str]] = collections.Counter()
    for r, n in seen[0].items():
        used[r.rule] += n
    refused = [r for r in seen[0] if r.code in (401, 403)]
    granted = set(shipped_rules("ClusterRole", "ripcord-operator"))
    print("\nrequests by rule in the tour:")
    for rule in sorted(granted | set(used)):
        print(f"  {used.get(rule, 0):6d}  {'/'.join(p for p in rule[:2] if p) or 'core'} {rule[2]}"
              f"{'' if rule in granted else '   (not granted)'}")
    assert refused == [], f"requests the API server refused: {refused[:5]}"
    assert set(used) <= granted, f"called without a grant: {sorted(set(used) - granted)}"
    unused = granted - set(used) - set(NOT_IN_THE_TOUR)
    assert unused == set(), f"granted and never called in the tour (remove them, or say why): {sorted(unused)}"
    assert set(NOT_IN_THE_TOUR) <= granted, "every exception is a grant"
