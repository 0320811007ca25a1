"""workloadRef: an existing Deployment is adopted as the first stable with no failed request."""
from __future__ import annotations

from typing import Any

import pytest
from kubernetes import client

from sandbox.gateway.client import GatewayClient, summarize
from tests.integration.support import Releases, demo_template, wait_for


@pytest.mark.integration
def test_existing_deployment_is_adopted_without_a_failed_request(releases: Releases, operator: Any, namespace: str,
                                                                 kube: client.ApiClient) -> None:
    apps, core = client.AppsV1Api(kube), client.CoreV1Api(kube)
    template = demo_template("1.0.0")
    template["metadata"]["labels"] = {"app": "legacy"}
    apps.create_namespaced_deployment(namespace, {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "legacy"},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "legacy"}}, "template": template}})
    core.create_namespaced_service(namespace, {
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": "legacy"},
        "spec": {"selector": {"app": "legacy"}, "ports": [{"name": "http", "port": 80, "targetPort": 8080}]}})
    wait_for(lambda: (apps.read_namespaced_deployment("legacy", namespace).status.ready_replicas or 0) == 2,
             90, "the legacy Deployment ready")

    gw, load = GatewayClient(), f"{namespace}-legacy"
    gw.put_load(load, namespace, service="legacy", rps=40, paths=["/api/status"])
    try:
        gw.wait_rows(load, lambda rows: summarize(rows)["ok"] >= 40, timeout_s=30)
        releases.apply({"apiVersion": "ripcord.dev/v1alpha1", "kind": "Release", "metadata": {"name": "web"},
                        "spec": {"version": "1.0.0", "replicas": 2, "workloadRef": {"name": "legacy"},
                                 "service": {"ports": [{"name": "http", "port": 80, "targetPort": 8080}]}}})
        status = releases.wait_phase("web", "Stable", timeout=90)
        assert status["stable"]["version"] == "1.0.0"
        wait_for(lambda: apps.read_namespaced_deployment("legacy", namespace).spec.replicas == 0, 30,
                 "the adopted Deployment scaled to zero")
        wait_for(lambda: not core.list_namespaced_pod(namespace, label_selector="app=legacy,!ripcord.dev/slot").items,
                 60, "the adopted Deployment's pods gone")
        end = max(r["t"] for r in gw.record(load))
        rows = gw.wait_rows(load, lambda rows: max(r["t"] for r in rows) >= end + 3, timeout_s=30)
        summary = summarize(rows)
        assert summary["failed"] == 0, f"requests failed during the adoption: {summary}"
        assert summary["by_workload"].get("web-a", 0) > 0, summary
        history = status["history"]
        assert len(history) == 1 and "adopting Deployment legacy" in history[0]["timeline"][0]["message"]
    finally:
        gw.delete_load(load)
