"""Virtual pods (image ``ripcord/virtual-app``): real pod status without a process, synthesised
metrics in the sandbox's Prometheus with a real pod's labels, and Releases judged on them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

from kubernetes import client

from sandbox.prometheus import VIRTUAL_SCRAPE_INTERVAL_S
from sandbox.testing import prometheus_query, wait_until
from tests.integration.analysis.conftest import entry, metric, rollout_id
from tests.integration.sandbox.helpers import condition, container_status, events, read_pod
from tests.integration.support import OperatorProcess, Releases, release_manifest

VIRTUAL = "ripcord/virtual-app"


def _deployment(name: str, replicas: int, env: dict[str, str] | None = None) -> dict[str, Any]:
    labels = {"app": name, "ripcord.dev/slot": "a"}
    return {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
        "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                 "template": {"metadata": {"labels": labels}, "spec": {
                     "terminationGracePeriodSeconds": 5,
                     "containers": [{"name": "app", "image": f"{VIRTUAL}:1.0.0",
                                     "ports": [{"name": "http", "containerPort": 8080}],
                                     "env": [{"name": k, "value": v} for k, v in (env or {}).items()],
                                     "readinessProbe": {"httpGet": {"path": "/ready", "port": "http"},
                                                        "periodSeconds": 1}}]}}},
    }


def _pod(name: str, env: dict[str, str]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": {"app": name}},
            "spec": {"terminationGracePeriodSeconds": 5, "containers": [{
                "name": "c", "image": f"{VIRTUAL}:1.0.0", "ports": [{"name": "http", "containerPort": 8080}],
                "env": [{"name": k, "value": v} for k, v in env.items()],
                "readinessProbe": {"httpGet": {"path": "/ready", "port": 8080}, "periodSeconds": 1}}]}}


def test_virtual_pods_become_ready_and_their_metrics_reach_prometheus_with_pod_labels(
        kube: client.ApiClient, namespace: str, sandbox: Any) -> None:
    apps, core = client.AppsV1Api(kube), client.CoreV1Api(kube)
    apps.create_namespaced_deployment(namespace, _deployment("virt", 2, {"REQUEST_RATE": "50"}))
    wait_until(lambda: (apps.read_namespaced_deployment("virt", namespace).status.available_replicas or 0) == 2,
               60, "2 available virtual replicas")
    pods = [kube.sanitize_for_serialization(p) for p in
            core.list_namespaced_pod(namespace, label_selector="app=virt").items]
    for pod in pods:
        st = pod["status"]
        assert st["phase"] == "Running" and condition(pod, "Ready") == "True", st
        cs = container_status(pod, "app")
        assert cs["ready"] and cs["restartCount"] == 0 and "running" in cs["state"], cs
        assert "/virtual-" in cs["containerID"], cs  # no process behind it
    # no file_sd target: the kubelet serves their series itself
    targets = json.loads((Path(sandbox.state_dir) / "prometheus" / "targets" / "pods.json").read_text())
    assert not [t for t in targets if t["labels"].get("namespace") == namespace], targets

    by_pod = {p["metadata"]["name"]: p for p in pods}
    query = f'http_request_duration_seconds_count{{namespace="{namespace}"}}'
    found = wait_until(lambda: len(r := prometheus_query(sandbox.prometheus_url, query)) == 2 and r,
                       6 * VIRTUAL_SCRAPE_INTERVAL_S, "both pods' series in Prometheus")
    for series in found:
        labels = series["metric"]
        pod = by_pod[labels["pod"]]
        h = pod["metadata"]["labels"]["pod-template-hash"]
        assert labels == {"__name__": "http_request_duration_seconds_count", "job": "pods",
                          "instance": f"{pod['status']['podIP']}:8080", "namespace": namespace,
                          "pod": labels["pod"], "workload": "virt", "pod_template_hash": h,
                          "label_app": "virt", "label_ripcord_dev_slot": "a", "label_pod_template_hash": h,
                          "method": "GET", "path": "/api/status"}, labels
    # the operator's own selector (namespace and the Deployment's pod regex) finds them, and they count
    # requests at the rate asked: read the raw samples, as the operator does (no rate() extrapolation)
    selector = f'http_requests_total{{namespace="{namespace}",pod=~"virt-[a-z0-9]+-[a-z0-9]+"}}[1m]'
    ranges = wait_until(lambda: len(r := prometheus_query(sandbox.prometheus_url, selector)) == 2 and
                        all(len(s["values"]) >= 3 for s in r) and r,
                        8 * VIRTUAL_SCRAPE_INTERVAL_S, "three samples of each pod's request counter")
    for series in ranges:
        (t0, v0), (t1, v1) = series["values"][0], series["values"][-1]
        assert 30 < (float(v1) - float(v0)) / (t1 - t0) < 75, series  # 50/s per pod


def test_a_crashing_virtual_pod_restarts_and_its_counters_reset(kube: client.ApiClient, namespace: str,
                                                                 sandbox: Any) -> None:
    """CRASH_AFTER_S ends the "process"; the kubelet restarts it (then backs off) and the new
    instance counts from zero, which Prometheus sees as a counter reset."""
    client.CoreV1Api(kube).create_namespaced_pod(namespace, _pod("crash", {"CRASH_AFTER_S": "12",
                                                                           "REQUEST_RATE": "100"}))
    wait_until(lambda: condition(read_pod(kube, namespace, "crash"), "Ready") == "True", 30, "Ready")
    status = wait_until(lambda: (s := container_status(read_pod(kube, namespace, "crash"), "c"))
                        .get("restartCount", 0) >= 1 and s, 40, "a restart")
    assert status["lastState"]["terminated"]["exitCode"] == 1, status
    query = f'resets(http_request_duration_seconds_count{{namespace="{namespace}",pod="crash"}}[2m])'
    wait_until(lambda: (r := prometheus_query(sandbox.prometheus_url, query)) and float(r[0]["value"][1]) >= 1,
               8 * VIRTUAL_SCRAPE_INTERVAL_S, "Prometheus to see the counter reset")
    wait_until(lambda: container_status(read_pod(kube, namespace, "crash"), "c")
               .get("state", {}).get("waiting", {}).get("reason") == "CrashLoopBackOff", 40, "CrashLoopBackOff")


def test_a_never_ready_virtual_pod_fails_its_readiness_probe(kube: client.ApiClient, namespace: str) -> None:
    client.CoreV1Api(kube).create_namespaced_pod(namespace, _pod("unready", {"READY_FAIL": "1"}))
    wait_until(lambda: any(e.reason == "Unhealthy" and "statuscode: 503" in e.message
                           for e in events(kube, namespace, "unready")), 30, "a failed readiness probe event")
    # the probe's Event can be written before the pod's status: wait for the status too
    pod = wait_until(lambda: ((p := read_pod(kube, namespace, "unready")).get("status") or {}).get("phase") == "Running" and p,
                     30, "the unready pod's status: Running")
    assert condition(pod, "Ready") == "False"
    cs = container_status(pod, "c")
    assert "running" in cs["state"] and cs["ready"] is False, cs


def test_release_of_virtual_pods_promotes_a_good_version_and_rolls_back_a_bad_one_on_synthesised_metrics(
        releases: Releases, operator_factory: Callable[..., OperatorProcess]) -> None:
    operator_factory(scrape_interval_s=VIRTUAL_SCRAPE_INTERVAL_S)
    name = "virt"
    analysis = {"interval": f"{2 * VIRTUAL_SCRAPE_INTERVAL_S}s", "stepDuration": f"{2 * VIRTUAL_SCRAPE_INTERVAL_S}s",
                "postPromotionWatch": f"{2 * VIRTUAL_SCRAPE_INTERVAL_S}s",
                "metrics": [{"name": "error-rate", "type": "error-rate", "source": "app", "judge": "threshold",
                             "max": 0.05},
                            {"name": "latency", "type": "latency", "source": "app", "judge": "threshold",
                             "maxRatio": 1.5, "quantile": 0.99}]}

    def manifest(version: str) -> dict[str, Any]:
        return release_manifest(name, version, virtual=True, analysis=analysis, env={"REQUEST_RATE": "50"})

    releases.apply(manifest("1.0.0"))
    releases.wait_phase(name, "Stable", timeout=90)

    releases.apply(manifest("1.0.1"))
    good = rollout_id(releases, name)
    status = releases.wait_outcome(name, "Promoted", rollout_id=good, timeout=180)
    promoted = entry(status, good)
    assert promoted["version"] == "1.0.1" and status["stable"]["version"] == "1.0.1", promoted
    errors = metric(status, "error-rate")
    assert errors["verdict"] == "Pass" and errors["value"] == 0.0 and errors["stableValue"] == 0.0, errors
    assert metric(status, "latency")["verdict"] == "Pass", status["analysis"]

    releases.apply(manifest("2.0.0"))  # the demo app's bad version: every request a 500
    bad = rollout_id(releases, name, above=good)
    status = releases.wait_outcome(name, "RolledBack", rollout_id=bad, timeout=120)
    reason = entry(status, bad)["reason"]
    assert reason["kind"] == "Metric" and reason["metric"] == "error-rate" and reason["value"] == 1.0, reason
    assert status["stable"]["version"] == "1.0.1", status["stable"]
