"""The control plane and Prometheus around the kubelet stand-in."""

from __future__ import annotations

import json
import urllib.request

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from sandbox.testing import prometheus_query, wait_until


def test_node_is_ready(kube):
    node = client.CoreV1Api(kube).read_node("sandbox-node")
    assert {c.type: c.status for c in node.status.conditions}["Ready"] == "True"
    lease = client.CoordinationV1Api(kube).read_namespaced_lease("sandbox-node", "kube-node-lease")
    assert lease.spec.holder_identity == "sandbox-node"


def test_operator_identity_is_the_service_account_without_admin_rights(operator_kube):
    """The operator's token authenticates as its ServiceAccount, which RBAC alone empowers."""
    with pytest.raises(ApiException) as err:
        client.CoreV1Api(operator_kube).read_node("sandbox-node")  # no shipped RBAC grants nodes
    assert err.value.status == 403
    assert 'User "system:serviceaccount:ripcord-system:ripcord"' in json.loads(err.value.body)["message"]
    review = client.AuthorizationV1Api(operator_kube).create_self_subject_access_review(
        client.V1SelfSubjectAccessReview(spec=client.V1SelfSubjectAccessReviewSpec(
            resource_attributes=client.V1ResourceAttributes(verb="delete", resource="namespaces"))))
    assert review.status.allowed is False


def test_prometheus_discovers_a_new_pod(kube, namespace, sandbox):
    labels = {"app": "scraped", "ripcord.dev/slot": "b"}
    client.AppsV1Api(kube).create_namespaced_deployment(namespace, {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "scraped"},
        "spec": {"replicas": 1, "selector": {"matchLabels": labels},
                 "template": {"metadata": {"labels": labels}, "spec": {"containers": [
                     {"name": "app", "image": "ripcord/demo-app:1.0.0",
                      "ports": [{"name": "http", "containerPort": 8080}]}]}}}})
    query = f'up{{job="pods", namespace="{namespace}", workload="scraped"}} == 1'
    series = wait_until(lambda: prometheus_query(sandbox.prometheus_url, query), 60, "the pod's up series")
    metric = series[0]["metric"]
    pod = client.CoreV1Api(kube).list_namespaced_pod(namespace, label_selector="app=scraped").items[0]
    assert metric["pod"] == pod.metadata.name
    assert metric["instance"] == f"{pod.status.pod_ip}:8080"
    assert metric["pod_template_hash"] == pod.metadata.labels["pod-template-hash"]
    assert metric["label_ripcord_dev_slot"] == "b" and metric["label_app"] == "scraped"
    # The app's own series carry the same target labels.
    urllib.request.urlopen(f"http://{pod.status.pod_ip}:8080/api/status", timeout=5).read()
    series = wait_until(lambda: prometheus_query(
        sandbox.prometheus_url, f'http_requests_total{{namespace="{namespace}", path="/api/status"}}'),
        30, "the app's request counter")
    assert series[0]["metric"]["pod"] == pod.metadata.name
    assert series[0]["metric"]["label_ripcord_dev_slot"] == "b"
