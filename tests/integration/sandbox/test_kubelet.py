"""The kubelet stand-in: pods run as local processes with real status."""

from __future__ import annotations

import ipaddress
import os
import socket

from kubernetes import client

from sandbox.testing import wait_until
from tests.integration.sandbox.helpers import (
    condition, container, container_status, create_pod, events, pid_of, pod_manifest, read_pod)


def _demo_deployment(name: str, replicas: int) -> dict:
    labels = {"app": name, "ripcord.dev/slot": "a"}
    return {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
        "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                 "template": {"metadata": {"labels": labels}, "spec": {
                     "terminationGracePeriodSeconds": 5,
                     "containers": [{"name": "app", "image": "ripcord/demo-app:1.0.0",
                                     "ports": [{"name": "http", "containerPort": 8080}],
                                     "readinessProbe": {"httpGet": {"path": "/ready", "port": "http"},
                                                        "periodSeconds": 1}}]}}},
    }


def test_deployment_pods_become_ready_with_loopback_ips(kube, namespace):
    client.AppsV1Api(kube).create_namespaced_deployment(namespace, _demo_deployment("demo", 3))
    apps, core = client.AppsV1Api(kube), client.CoreV1Api(kube)
    wait_until(lambda: (apps.read_namespaced_deployment("demo", namespace).status.available_replicas or 0) == 3,
               60, "3 available replicas")
    pods = core.list_namespaced_pod(namespace, label_selector="app=demo").items
    ips = {p.status.pod_ip for p in pods}
    assert len(ips) == 3
    for p in pods:
        ip = ipaddress.IPv4Address(p.status.pod_ip)
        assert ip.is_loopback and str(ip) != "127.0.0.1"
        assert p.spec.node_name == "sandbox-node" and p.status.phase == "Running"
        with socket.create_connection((p.status.pod_ip, 8080), timeout=2):
            pass  # the demo app listens on the pod's own address


def test_crashing_container_is_restarted_into_crashloopbackoff(kube, namespace):
    crash = container(args=["--exit-after", "0.2", "--exit-code", "3"])
    create_pod(kube, namespace, pod_manifest("crash", [crash]))

    def status() -> dict:
        return container_status(read_pod(kube, namespace, "crash"))

    first = wait_until(lambda: (s := status()).get("restartCount", 0) >= 1 and
                       s["state"].get("waiting", {}).get("reason") == "CrashLoopBackOff" and s,
                       30, "the first restart and CrashLoopBackOff")
    assert first["lastState"]["terminated"]["exitCode"] == 3
    assert "back-off 10s" in first["state"]["waiting"]["message"]
    # The back-off grows: the next restart comes after 10 s, then it waits 20 s.
    later = wait_until(lambda: (s := status())["restartCount"] > first["restartCount"] and
                       "back-off 20s" in s["state"].get("waiting", {}).get("message", "") and s,
                       30, "a later restart with a longer back-off")
    assert later["ready"] is False
    pod = read_pod(kube, namespace, "crash")
    assert pod["status"]["phase"] == "Running" and condition(pod, "Ready") == "False"


def test_failing_readiness_probe_keeps_pod_unready(kube, namespace):
    good = container("good", port=8081, readinessProbe={"httpGet": {"path": "/healthz", "port": 8081},
                                                          "periodSeconds": 1})
    bad = container("bad", port=8082, readinessProbe={"httpGet": {"path": "/fail", "port": "http"},
                                                        "periodSeconds": 1, "failureThreshold": 2})
    create_pod(kube, namespace, pod_manifest("unready", [good, bad]))
    wait_until(lambda: any(e.reason == "Unhealthy" and "statuscode: 500" in e.message
                           for e in events(kube, namespace, "unready")), 30, "a failed readiness probe event")
    pod = wait_until(lambda: (p := read_pod(kube, namespace, "unready")) and
                     container_status(p, "good").get("ready") and p, 30, "the good container to be ready")
    assert container_status(pod, "bad")["ready"] is False
    assert "running" in container_status(pod, "bad")["state"]
    assert condition(pod, "Ready") == "False" and condition(pod, "ContainersReady") == "False"


def test_exec_probe_sees_env_from_field_refs(kube, namespace):
    c = container(env=[{"name": "MY_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                       {"name": "GREETING", "value": "hello $(MY_NAME)"}],
                  readinessProbe={"exec": {"command": ["sh", "-c", 'test "$GREETING" = "hello envpod"']},
                                  "periodSeconds": 1})
    create_pod(kube, namespace, pod_manifest("envpod", [c]))
    wait_until(lambda: condition(read_pod(kube, namespace, "envpod"), "Ready") == "True", 30, "Ready")


def test_failing_liveness_probe_restarts_container(kube, namespace):
    c = container(livenessProbe={"tcpSocket": {"port": 9999}, "periodSeconds": 1, "failureThreshold": 2})
    create_pod(kube, namespace, pod_manifest("dead", [c]))
    wait_until(lambda: container_status(read_pod(kube, namespace, "dead")).get("restartCount", 0) >= 1,
               30, "a restart after failed liveness probes")
    assert any(e.reason == "Unhealthy" and e.message.startswith("Liveness probe failed")
               for e in events(kube, namespace, "dead"))


def test_unknown_image_waits_with_errimagepull(kube, namespace):
    create_pod(kube, namespace, pod_manifest("nope", [container(image="nginx:1.25")]))
    s = wait_until(lambda: (w := container_status(read_pod(kube, namespace, "nope")).get("state", {})
                            .get("waiting", {})).get("reason") == "ErrImagePull" and w, 30, "ErrImagePull")
    assert "nginx:1.25" in s["message"]
    assert read_pod(kube, namespace, "nope")["status"]["phase"] == "Pending"


def test_deleting_a_pod_stops_its_process(kube, namespace):
    create_pod(kube, namespace, pod_manifest("victim", [container()]))
    pod = wait_until(lambda: (p := read_pod(kube, namespace, "victim")) and
                     condition(p, "Ready") == "True" and p, 30, "Ready")
    pid, ip = pid_of(pod), pod["status"]["podIP"]
    assert os.path.exists(f"/proc/{pid}")
    core = client.CoreV1Api(kube)
    core.delete_namespaced_pod("victim", namespace)
    wait_until(lambda: not core.list_namespaced_pod(namespace, field_selector="metadata.name=victim").items,
               30, "the pod object to be deleted")
    wait_until(lambda: not os.path.exists(f"/proc/{pid}"), 10, f"process {pid} to exit")
    try:
        socket.create_connection((ip, 8080), timeout=1).close()
        raise AssertionError(f"{ip}:8080 still answers")
    except OSError:
        pass
