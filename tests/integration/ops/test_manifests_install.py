"""The shipped manifests on the sandbox's real API server (Kubernetes 1.20).

- `manifests/sandbox` (CRD, namespace, RBAC, ConfigMap) applies, and applies again unchanged.
- `manifests/base` as a whole is accepted by the API server (server-side dry run: the
  operator's Deployment would only wait for an image the sandbox cannot run).
- The operator identity is allowed exactly what the shipped roles say, asked of the API
  server's own authorizer (SelfSubjectAccessReview), and denied what they leave out.
- The ConfigMap's configuration, read back from the cluster, is valid.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client

from ripcord.config import parse_config
from tests.integration.ops.conftest import kubectl, kustomize

ROOT = Path(__file__).resolve().parents[3]
OPERATOR_NS = "ripcord-system"


def built(name: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(kustomize(name)) if d]


def allowed(api: client.ApiClient, verb: str, group: str, resource: str, namespace: str | None) -> bool:
    sub = None
    if "/" in resource:
        resource, sub = resource.split("/", 1)
    review = client.V1SelfSubjectAccessReview(spec=client.V1SelfSubjectAccessReviewSpec(
        resource_attributes=client.V1ResourceAttributes(verb=verb, group=group, resource=resource,
                                                        subresource=sub, namespace=namespace)))
    return bool(client.AuthorizationV1Api(api).create_self_subject_access_review(review).status.allowed)


@pytest.fixture
def installed(sandbox_install: Any) -> Any:
    return sandbox_install


@pytest.mark.integration
def test_the_whole_base_applies(installed: Any) -> None:
    """`kubectl apply -k manifests/base` for real. The sandbox has no container runtime, so the
    operator's pods cannot start from its image (test_installed_operator.py runs the same
    Deployment's command as processes); the Deployment is removed again afterwards."""
    base = str(ROOT / "manifests" / "base")
    try:
        out = kubectl(installed.admin_kubeconfig, "apply", "-k", base)
        kinds = {line.split("/", 1)[0] for line in out.strip().splitlines()}
        assert {"deployment.apps", "service", "configmap", "serviceaccount", "clusterrole.rbac.authorization.k8s.io",
                "customresourcedefinition.apiextensions.k8s.io"} <= kinds, out
        again = kubectl(installed.admin_kubeconfig, "apply", "-k", base)
        assert "deployment.apps/ripcord-operator unchanged" in again, again
    finally:
        kubectl(installed.admin_kubeconfig, "-n", "ripcord-system", "delete", "deployment", "ripcord-operator",
                "--ignore-not-found")


@pytest.mark.integration
def test_the_namespaced_install_is_accepted_by_the_api_server(installed: Any, namespace: str) -> None:
    rendered = built("namespaced")
    for doc in rendered:
        doc["metadata"]["namespace"] = namespace
        for subject in doc.get("subjects", []):
            subject["namespace"] = namespace
    kubectl(installed.admin_kubeconfig, "apply", "--dry-run=server", "-f", "-", stdin=yaml.safe_dump_all(rendered))


def shipped_rules(kind: str, name: str, source: str = "base") -> list[tuple[str, str, str]]:
    role = next(d for d in built(source) if d["kind"] == kind and d["metadata"]["name"] == name)
    return [(g, r, v) for rule in role["rules"] for g in rule["apiGroups"] for r in rule["resources"]
            for v in rule["verbs"]]


@pytest.mark.integration
def test_the_operator_identity_has_exactly_the_shipped_rights(installed: Any, operator_kube: client.ApiClient,
                                                              namespace: str) -> None:
    granted = shipped_rules("ClusterRole", "ripcord-operator")
    leases = shipped_rules("Role", "ripcord-leader-election")
    assert len(granted) > 30 and leases
    for group, resource, verb in granted:
        # Namespaced resources are asked in an application namespace; CRDs are cluster-scoped.
        ns = None if resource in ("customresourcedefinitions", "namespaces") else namespace
        assert allowed(operator_kube, verb, group, resource, ns), (verb, group, resource)
    for group, resource, verb in leases:
        assert allowed(operator_kube, verb, group, resource, OPERATOR_NS), (verb, group, resource)

    # Secrets: get/list/watch are granted (the metadata-only watch and the reads of referenced
    # Secrets, ripcord.kube.configwatch); writing one never is.
    denied = [
        ("create", "", "secrets", namespace), ("update", "", "secrets", namespace), ("patch", "", "secrets", namespace),
        ("delete", "apps", "deployments", namespace), ("update", "apps", "deployments", namespace),
        ("delete", "", "services", namespace), ("get", "", "pods", namespace),
        ("delete", "", "pods", namespace), ("create", "", "pods/exec", namespace),
        ("delete", "ripcord.dev", "releases", namespace), ("create", "ripcord.dev", "releases", namespace),
        ("get", "coordination.k8s.io", "leases", namespace), ("delete", "coordination.k8s.io", "leases", OPERATOR_NS),
        ("get", "", "namespaces", None), ("delete", "", "namespaces", None), ("get", "", "nodes", None),
        ("create", "rbac.authorization.k8s.io", "clusterrolebindings", None),
        ("create", "apiextensions.k8s.io", "customresourcedefinitions", None),
        ("impersonate", "", "users", None), ("update", "apps", "deployments/scale", namespace),
        ("create", "apps", "replicasets", namespace), ("patch", "", "configmaps", namespace),
    ]
    wrongly = [d for d in denied if allowed(operator_kube, d[0], d[1], d[2], d[3])]
    assert wrongly == []


@pytest.mark.integration
def test_the_configmap_in_the_cluster_is_a_valid_configuration(installed: Any, kube: client.ApiClient) -> None:
    cm = client.CoreV1Api(kube).read_namespaced_config_map("ripcord-config", OPERATOR_NS)
    text = cm.data["config.yaml"]
    assert text == (ROOT / "manifests" / "sandbox" / "config.yaml").read_text()
    cfg = parse_config(yaml.safe_load(text), env={})
    # The sandbox's Prometheus, unless this sandbox runs at a port offset (RIPCORD_SANDBOX_PORT_OFFSET).
    assert cfg.prometheus_default.url == "http://127.0.0.1:19090"
