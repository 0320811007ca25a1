"""The analysis against a real Prometheus.

* On the sandbox: two Deployments of the demo app (good, and ERROR_RATE=0.5), each behind
  its own Service as Ripcord's slots are, split 50/50 by an HTTPRoute and loaded through
  the gateway stand-in. The analyzer must measure each workload's
  error rate from the app's own metrics and from the gateway's, agree with what clients
  saw, and its counts must telescope exactly over successive intervals.
* A private Prometheus process (never the shared one) SIGSTOPped: ``analyze`` must return
  Unavailable within its deadline, and recover when the process continues.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
import yaml
from kubernetes import client

from ripcord.analysis.analyzer import Analyzer, Target
from ripcord.analysis.metrics import MetricReader, Window
from ripcord.analysis.prometheus import Deadline, PrometheusClient
from ripcord.api.models import AnalysisSpec, MetricSpec
from ripcord.config import parse_config
from ripcord.traffic.gateway_api import ROUTE_GROUP as GROUP, ROUTE_VERSION as VERSION
from sandbox.faults import stop_process
from sandbox.gateway.client import GatewayClient
from sandbox.testing import prometheus_query, wait_until

PROMETHEUS_BIN = "/usr/bin/prometheus"
RPS = 40.0
WINDOW_S = 20.0


def deployment(name: str, env: dict[str, str]) -> dict[str, Any]:
    labels = {"app": "web", "slot": name}
    return {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
        "spec": {
            "replicas": 2, "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": {
                "terminationGracePeriodSeconds": 2,
                "containers": [{
                    "name": "app", "image": "ripcord/demo-app:1.0.0",
                    "ports": [{"name": "http", "containerPort": 8080}],
                    "env": [{"name": k, "value": v} for k, v in env.items()],
                    "readinessProbe": {"httpGet": {"path": "/ready", "port": 8080}, "periodSeconds": 1},
                }]}},
        },
    }


def operator_config(prometheus_url: str, *, timeout_s: float = 2.0, deadline_s: float = 5.0):
    return parse_config({"prometheus": {"default": {"url": prometheus_url, "timeoutSeconds": timeout_s,
                                                    "scrapeIntervalSeconds": 1}},
                         "analysis": {"deadlineSeconds": deadline_s}}, env={})


def latest_sample_time(prometheus_url: str, query: str) -> float:
    result = prometheus_query(prometheus_url, f"max(timestamp({query}))")
    return float(result[0]["value"][1]) if result else 0.0


def start_two_workloads(sandbox: Any, namespace: str, kube: client.ApiClient, canary_env: dict[str, str],
                        load_timeout_s: float = 2.0) -> Callable[[], None]:
    """web-a (good) and web-b (``canary_env``), each behind its own Service (named like the
    Deployment, as Ripcord's slots), split 50/50 by the HTTPRoute web, with load running.
    The gateway labels a request no pod answered (a hang) with the Service only, as Istio does.

    Returns the function that stops the load."""
    apps, core = client.AppsV1Api(kube), client.CoreV1Api(kube)
    apps.create_namespaced_deployment(namespace, deployment("web-a", {}))
    apps.create_namespaced_deployment(namespace, deployment("web-b", canary_env))
    for name in ("web-a", "web-b"):
        core.create_namespaced_service(namespace, {
            "apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
            "spec": {"selector": {"app": "web", "slot": name},
                     "ports": [{"name": "http", "port": 80, "targetPort": 8080}]}})
    client.CustomObjectsApi(kube).create_namespaced_custom_object(GROUP, VERSION, namespace, "httproutes", {
        "apiVersion": f"{GROUP}/{VERSION}", "kind": "HTTPRoute", "metadata": {"name": "web"},
        "spec": {"parentRefs": [{"name": "sandbox-gateway"}],
                 "rules": [{"backendRefs": [{"name": n, "port": 80, "weight": 50} for n in ("web-a", "web-b")]}]}})
    for name in ("web-a", "web-b"):
        wait_until(lambda: (apps.read_namespaced_deployment_status(name, namespace).status.ready_replicas or 0) >= 2,
                   90, f"deployment {name} ready")
    gw = GatewayClient(sandbox.gateway_url)
    gw.wait_synced()
    load = namespace  # unique per test
    gw.put_load(load, namespace, route="web", rps=RPS, timeout_s=load_timeout_s)
    try:
        gw.wait_rows(load, lambda rows: sum(r["by_workload"].get("web-b", 0) for r in rows) > 0
                     and sum(r["by_workload"].get("web-a", 0) for r in rows) > 0, timeout_s=30)
    except BaseException:
        gw.delete_load(load)
        raise
    return lambda: gw.delete_load(load) and None


@pytest.fixture
def two_workloads(sandbox: Any, namespace: str, kube: client.ApiClient) -> Iterator[str]:
    """web-a (good) and web-b (50% errors)."""
    stop = start_two_workloads(sandbox, namespace, kube, {"ERROR_RATE": "0.5", "SEED": "7"})
    try:
        yield namespace
    finally:
        stop()


def wait_for_samples_past(prometheus_url: str, namespace: str, t: float) -> None:
    """Wait (on data, not on time) until both sources have samples past ``t``."""
    for q in (f'http_requests_total{{namespace="{namespace}"}}', f'gateway_requests_total{{namespace="{namespace}"}}'):
        wait_until(lambda: latest_sample_time(prometheus_url, q) >= t + 0.5, WINDOW_S + 30,
                   f"samples of {q} past the window")


def test_error_rate_of_each_workload_from_app_and_gateway_metrics(sandbox: Any, namespace: str,
                                                                  two_workloads: str) -> None:
    cfg = operator_config(sandbox.prometheus_url)
    endpoint = cfg.resolve_prometheus({"name": "default"})
    target = Target(namespace=namespace, release="web", canary="web-b", stable="web-a")
    t0 = time.time() + 1.0
    t1, t2 = t0 + WINDOW_S / 2, t0 + WINDOW_S
    wait_for_samples_past(sandbox.prometheus_url, namespace, t2)

    # 1. The analyzer's verdict and values, from both sources.
    app = MetricSpec(name="app-errors", type="error-rate", source="app", judge="threshold", max=0.2)
    gw = MetricSpec(name="gateway-errors", type="error-rate", source="gateway", judge="threshold", max=0.2)
    spec = AnalysisSpec(metrics=[app, gw], interval="10s", min_requests=20)
    out = Analyzer(cfg).analyze(spec, target, since=t0, now=t2, step=0, weight=50.0, judge_state=None,
                                failed_checks=0)
    assert out.verdict == "Fail", out
    by_name = {m.name: m for m in out.metrics}
    for name in ("app-errors", "gateway-errors"):
        m = by_name[name]
        assert m.verdict == "Fail", m
        assert 0.35 <= (m.value or 0) <= 0.65, m  # 50% injected; ~400 canary requests: 5 sigma is 0.125
        assert m.stable_value == 0.0, m  # the good version never fails
        assert m.bound == "<= 0.2"
    assert out.failing is not None and out.failing.name == "app-errors"

    # 2. The counts, against what the clients saw, and their exact additivity.
    reader = MetricReader(PrometheusClient(endpoint), cfg.metric_sources, deadline=Deadline(20),
                          query_timeout_s=endpoint.timeout_s)

    def counts(metric: MetricSpec, a: float, b: float) -> tuple[float, float, float, float]:
        w = Window(t_prev=a - endpoint.settle_s, t_now=b - endpoint.settle_s, step=0, weight=50,
                   scrape_interval_s=1)
        e = reader.measure(metric, target, w).evidence
        assert e is not None
        return e.canary.requests, e.canary.bad, e.stable.requests, e.stable.bad

    rows = GatewayClient(sandbox.gateway_url).record(two_workloads)
    seen = [r for r in rows if t0 - endpoint.settle_s <= r["t"] < t2 - endpoint.settle_s]
    seen_canary = sum(r["by_workload"].get("web-b", 0) for r in seen)
    seen_stable = sum(r["by_workload"].get("web-a", 0) for r in seen)
    seen_failed = sum(r["failed"] for r in seen)
    slack = RPS * 3  # window edges: scrape offsets and per-second rows, a few seconds of traffic at most
    for metric in (app, gw):
        c_req, c_bad, s_req, s_bad = counts(metric, t0, t2)
        print(f"{metric.source}: canary {c_bad:.0f}/{c_req:.0f}, stable {s_bad:.0f}/{s_req:.0f}; "
              f"clients saw canary {seen_canary}, stable {seen_stable}, failed {seen_failed}")
        assert abs(c_req - seen_canary) <= slack, (metric.source, c_req, seen_canary)
        assert abs(s_req - seen_stable) <= slack, (metric.source, s_req, seen_stable)
        assert abs(c_bad - seen_failed) <= slack / 2, (metric.source, c_bad, seen_failed)
        assert s_bad == 0
        # evidence of successive intervals adds up exactly (same evaluation instants)
        first, second = counts(metric, t0, t1), counts(metric, t1, t2)
        assert tuple(x + y for x, y in zip(first, second)) == (c_req, c_bad, s_req, s_bad)


def test_hangs_are_seen_by_the_gateway_only_and_latency_by_both(sandbox: Any, namespace: str,
                                                                kube: client.ApiClient) -> None:
    """A canary that hangs 20% of requests and adds 300 ms to the rest: its own metrics show
    no errors (a hung request is never reported), the gateway's show the 504s; both show
    the latency."""
    stop = start_two_workloads(sandbox, namespace, kube, {"HANG_RATE": "0.2", "LATENCY_MS": "300", "SEED": "3"},
                               load_timeout_s=1.0)
    try:
        cfg = operator_config(sandbox.prometheus_url)
        target = Target(namespace=namespace, release="web", canary="web-b", stable="web-a")
        t0 = time.time() + 1.0
        t2 = t0 + WINDOW_S
        wait_for_samples_past(sandbox.prometheus_url, namespace, t2)
        metrics = [
            MetricSpec(name="app-errors", type="error-rate", source="app", judge="threshold", max=0.05),
            MetricSpec(name="gateway-errors", type="error-rate", source="gateway", judge="threshold", max=0.05),
            MetricSpec(name="app-latency", type="latency", source="app", judge="threshold", quantile=0.5,
                       max_ratio=2.0, threshold_seconds=0.25),
            MetricSpec(name="gateway-latency", type="latency", source="gateway", judge="threshold", quantile=0.5,
                       max_ratio=2.0, threshold_seconds=0.25),
        ]
        out = Analyzer(cfg).analyze(AnalysisSpec(metrics=metrics, interval="10s", min_requests=20), target,
                                    since=t0, now=t2, step=0, weight=50.0, judge_state=None, failed_checks=0)
    finally:
        stop()
    m = {r.name: r for r in out.metrics}
    print({k: (v.verdict, v.value, v.stable_value) for k, v in m.items()})
    assert out.verdict == "Fail"
    assert m["app-errors"].value == 0.0 and m["app-errors"].verdict == "Pass", m["app-errors"]
    assert 0.08 <= (m["gateway-errors"].value or 0) <= 0.35, m["gateway-errors"]  # 20% hang -> 504 UT
    assert m["gateway-errors"].verdict == "Fail"
    for name in ("app-latency", "gateway-latency"):
        assert (m[name].value or 0) >= 0.25 and (m[name].stable_value or 1) < 0.1, m[name]
        assert m[name].verdict == "Fail"


def test_a_scrape_gap_does_not_count_a_pod_twice(sandbox: Any, namespace: str, kube: client.ApiClient) -> None:
    """A canary pod whose scrapes fail for a while (here: its process SIGSTOPped) has its
    series marked stale; when it comes back with its old cumulative value, it must not be
    taken for a new series counted from zero. Evidence over an interval boundary that falls
    inside the gap must still add up exactly."""
    stop = start_two_workloads(sandbox, namespace, kube, {})
    core = client.CoreV1Api(kube)
    try:
        pod = sorted(p.metadata.name for p in core.list_namespaced_pod(namespace, label_selector="slot=web-b").items)[0]
        status = kube.sanitize_for_serialization(core.read_namespaced_pod(pod, namespace))["status"]
        pid = int(status["containerStatuses"][0]["containerID"].rsplit("/", 1)[1])
        plain = f'http_requests_total{{namespace="{namespace}",pod="{pod}"}}'
        t0 = time.time()
        wait_until(lambda: prometheus_query(sandbox.prometheus_url, plain), 30, f"series of {pod}")

        stop_process(pid)
        try:
            wait_until(lambda: not prometheus_query(sandbox.prometheus_url, plain), 30,
                       f"series of {pod} marked stale")
            t_gap = time.time() - 0.5
        finally:
            os.kill(pid, signal.SIGCONT)
        wait_until(lambda: prometheus_query(sandbox.prometheus_url, plain), 30, f"series of {pod} back")
        t_end = time.time() + 2.0
        wait_for_samples_past(sandbox.prometheus_url, namespace, t_end)
    finally:
        stop()
    assert prometheus_query_at(sandbox.prometheus_url, plain, t_gap) == [], "the gap was not inside the interval"

    cfg = operator_config(sandbox.prometheus_url)
    endpoint = cfg.resolve_prometheus({"name": "default"})
    reader = MetricReader(PrometheusClient(endpoint), cfg.metric_sources, deadline=Deadline(20),
                          query_timeout_s=endpoint.timeout_s)
    target = Target(namespace=namespace, release="web", canary="web-b", stable="web-a")
    metric = MetricSpec(name="errors", type="error-rate", source="app", judge="threshold", max=0.1)

    def pod_requests(a: float, b: float) -> float:
        e = reader.measure(metric, target, Window(t_prev=a, t_now=b, step=0, weight=50, scrape_interval_s=1)).evidence
        assert e is not None
        return e.canary.per_pod.get(pod, (0.0, 0.0))[0]

    whole, first, second = pod_requests(t0, t_end), pod_requests(t0, t_gap), pod_requests(t_gap, t_end)
    print(f"{pod}: whole {whole:.0f} = {first:.0f} + {second:.0f}")
    assert whole > 0
    assert first + second == whole


def prometheus_query_at(prometheus_url: str, query: str, at: float) -> list[dict]:
    url = f"{prometheus_url}/api/v1/query?" + urllib.parse.urlencode({"query": query, "time": f"{at:.3f}"})
    with urllib.request.urlopen(url, timeout=5) as resp:
        return json.load(resp)["data"]["result"]


# ------------------------------------------------------------------ hung Prometheus

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ready(url: str) -> bool:
    with urllib.request.urlopen(f"{url}/-/ready", timeout=1) as resp:
        return resp.status == 200


@pytest.fixture
def private_prometheus(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen]]:
    """A Prometheus process of this test's own: stopping it harms no one else."""
    if not os.path.exists(PROMETHEUS_BIN):
        pytest.skip(f"{PROMETHEUS_BIN} is not installed")
    conf = tmp_path / "prometheus.yml"
    conf.write_text(yaml.safe_dump({"global": {"scrape_interval": "1s"}, "scrape_configs": []}))
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = open(tmp_path / "prometheus.log", "wb")
    proc = subprocess.Popen([PROMETHEUS_BIN, f"--config.file={conf}", f"--storage.tsdb.path={tmp_path / 'data'}",
                             f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: proc.poll() is None and _ready(url), 60, f"private Prometheus at {url}")
        yield url, proc
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGCONT)
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        log.close()


ERRORS = MetricSpec(name="error-rate", type="error-rate", judge="threshold", max=0.1)
TARGET = Target(namespace="nowhere", release="web", canary="web-b", stable="web-a")


def _analyze(analyzer: Analyzer) -> Any:
    now = time.time()
    spec = AnalysisSpec(metrics=[ERRORS], interval="10s")
    return analyzer.analyze(spec, TARGET, since=now - 5, now=now, step=0, weight=10.0,
                            judge_state={"v": 1, "threshold": {"failedChecks": 1}}, failed_checks=1)


def test_sigstopped_prometheus_gives_unavailable_within_the_deadline(private_prometheus) -> None:
    url, proc = private_prometheus
    deadline_s = 3.0
    analyzer = Analyzer(operator_config(url, timeout_s=1.0, deadline_s=deadline_s))

    before = _analyze(analyzer)
    assert before.verdict == "Inconclusive", before  # it answers: no data for these workloads

    try:
        stop_process(proc.pid)
        t = time.monotonic()
        hung = _analyze(analyzer)
        elapsed = time.monotonic() - t
        assert hung.verdict == "Unavailable", hung
        assert "Prometheus default" in (hung.error or ""), hung.error
        assert hung.failed_checks == 1 and hung.judge_state["threshold"]["failedChecks"] == 1
        assert elapsed < deadline_s + 1.0, f"analyze took {elapsed:.1f}s with a {deadline_s}s deadline"

        t = time.monotonic()
        pf = analyzer.preflight(AnalysisSpec(metrics=[ERRORS], interval="10s"), TARGET, weights=[5],
                                canary_pods=1, stable_pods=2)
        assert pf.feasible is None and "metrics unavailable" in pf.message, pf  # unknown, not a verdict
        assert time.monotonic() - t < deadline_s + 1.0
    finally:
        os.kill(proc.pid, signal.SIGCONT)

    after = wait_until(lambda: (r := _analyze(analyzer)).verdict != "Unavailable" and r, 30,
                       "analysis to recover after SIGCONT")
    assert after.verdict == "Inconclusive"


def test_stopped_prometheus_gives_unavailable_at_once(private_prometheus) -> None:
    url, proc = private_prometheus
    proc.terminate()
    proc.wait(timeout=15)
    analyzer = Analyzer(operator_config(url, timeout_s=1.0, deadline_s=3.0))
    t = time.monotonic()
    out = _analyze(analyzer)
    assert out.verdict == "Unavailable" and (out.error or "").endswith("refused the connection"), out
    assert time.monotonic() - t < 2.0
