"""The demo app as the sandbox runs it: versions, readiness, knobs, metrics in Prometheus."""

from __future__ import annotations

import requests
from kubernetes import client

from sandbox.testing import prometheus_query, wait_until
from tests.integration.sandbox.demo_objects import create, deployment, pod_ips, wait_available

HTTP = requests.Session()
HTTP.trust_env = False  # loopback only


def get(ip: str, path: str) -> requests.Response:
    return HTTP.get(f"http://{ip}:8080{path}", timeout=5)


def test_versions_answer_as_the_seed_postmortem_says(kube, namespace, sandbox):
    create(kube, namespace, deployment("good", "1.0.0"), deployment("seed", "2.0.0"), deployment("fix", "2.0.1"))
    for name in ("good", "seed", "fix"):  # 2.0.0 becomes Ready too: /ready is not /health
        wait_available(kube, namespace, name, 1)
    [good], [seed], [fix] = (pod_ips(kube, namespace, f"slot={n}") for n in ("good", "seed", "fix"))

    for ip, version in ((good, "1.0.0"), (fix, "2.0.1")):
        for path in ("/health", "/api/status"):
            r = get(ip, path)
            assert (r.status_code, r.headers["X-App-Version"], r.json()["version"]) == (200, version, version)
    r = get(seed, "/health")
    assert (r.status_code, r.text) == (500, "TypeError: Cannot read property 'toString' of undefined")
    r = get(seed, "/api/status")
    assert (r.status_code, r.text, r.headers["X-App-Version"]) == (500, "Error: Database connection failed", "2.0.0")

    # Prometheus scrapes every pod with namespace/pod/workload target labels (docs/design.md).
    def series() -> dict[str, set[str]]:
        out: dict[str, set[str]] = {}
        for s in prometheus_query(sandbox.prometheus_url, f'http_requests_total{{namespace="{namespace}"}}'):
            out.setdefault(s["metric"]["workload"], set()).add(s["metric"]["code"])
        return out if {"good", "seed", "fix"} <= set(out) else {}

    found = wait_until(series, 30, "the app's request counters in Prometheus")
    assert found["seed"] == {"500"} and found["good"] == {"200"}
    buckets = prometheus_query(sandbox.prometheus_url,
                               f'http_request_duration_seconds_bucket{{namespace="{namespace}",workload="good",path="/health"}}')
    assert {b["metric"]["le"] for b in buckets} == {
        "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1.0", "2.5", "5.0", "10.0", "+Inf"}


def test_readiness_knobs(kube, namespace):
    create(kube, namespace, deployment("slow", "1.0.0", env={"SLOW_START_S": "4"}),
           deployment("never", "1.0.0", env={"READY_FAIL": "1"}))
    core = client.CoreV1Api(kube)

    def ready(slot: str) -> bool:
        pods = core.list_namespaced_pod(namespace, label_selector=f"slot={slot}").items
        return bool(pods) and all(c.status == "True" for p in pods for c in p.status.conditions or []
                                  if c.type == "Ready")

    wait_until(lambda: pod_ips(kube, namespace, "slot=slow"), 30, "the slow pod to run")
    assert not ready("slow")  # not ready during its first seconds
    wait_available(kube, namespace, "slow", 1, timeout=30)
    [never] = wait_until(lambda: pod_ips(kube, namespace, "slot=never"), 30, "the never-ready pod to run")
    assert get(never, "/ready").status_code == 503 and get(never, "/health").status_code == 200
    assert not ready("never")


def test_error_rate_and_crash_knobs(kube, namespace):
    create(kube, namespace, deployment("flaky", "1.0.0", env={"ERROR_RATE": "0.5", "SEED": "1"}),
           deployment("crashy", "1.0.0", env={"CRASH_AFTER_S": "1"}))
    wait_available(kube, namespace, "flaky", 1)
    [ip] = pod_ips(kube, namespace, "slot=flaky")
    codes = [get(ip, "/api/status").status_code for _ in range(200)]
    assert 70 <= codes.count(500) <= 130 and set(codes) == {200, 500}

    core = client.CoreV1Api(kube)

    def restarts() -> int:
        pods = core.list_namespaced_pod(namespace, label_selector="slot=crashy").items
        return sum(cs.restart_count for p in pods for cs in p.status.container_statuses or [])

    wait_until(lambda: restarts() >= 1, 60, "the crashing app to be restarted")
