"""The gateway stand-in on the sandbox: routing, records, metrics, HTTPRoute status."""

from __future__ import annotations

import time
from typing import Iterator

import pytest
from kubernetes import client

from sandbox.gateway.client import GatewayClient, summarize
from sandbox.testing import prometheus_query, wait_until
from tests.integration.sandbox.demo_objects import (
    GROUP, VERSION, create, deployment, httproute, our_conditions, read_route, service, wait_available)


class Loads:
    """The gateway's client, deleting the loads a test created when it ends."""

    def __init__(self, gw: GatewayClient, prefix: str) -> None:
        self.gw, self.prefix, self.names = gw, prefix, []

    def put(self, suffix: str, namespace: str, **kw) -> str:
        name = f"{self.prefix}-{suffix}"
        self.gw.put_load(name, namespace, **kw)
        self.names.append(name)
        return name


@pytest.fixture
def loads(sandbox, namespace) -> Iterator[Loads]:
    gw = GatewayClient(sandbox.gateway_url)
    gw.wait_synced(30)
    lds = Loads(gw, namespace)
    yield lds
    for name in lds.names:
        gw.delete_load(name)


def routed(rows: list[dict]) -> int:
    """Requests that reached a pod (``none``: the gateway answered itself)."""
    return sum(n for w, n in summarize(rows)["by_workload"].items() if w != "none")


def warm(loads: Loads, name: str, workloads: set[str], timeout_s: float = 30) -> int:
    """Wait until a whole second of the load was answered by ``workloads``; returns the next second."""
    rows = loads.gw.wait_rows(name, lambda r: any(
        x["total"] and set(x["by_workload"]) == workloads and x["failed"] < x["total"] for x in r[-3:]), timeout_s)
    return rows[-1]["t"] + 1


def test_service_load_answers_with_versions_and_metrics(kube, namespace, sandbox, loads):
    create(kube, namespace, deployment("web-old", "1.0.0", replicas=2, labels={"app": "web"}),
           deployment("web-new", "2.0.0", labels={"app": "web"}), service("web", {"app": "web"}))
    wait_available(kube, namespace, "web-old", 2)
    wait_available(kube, namespace, "web-new", 1)
    name = loads.put("svc", namespace, service="web", rps=60, paths=["/api/status", "/health"])

    since = warm(loads, name, {"web-old", "web-new"})
    rows = loads.gw.wait_rows(name, lambda r: summarize(r)["total"] >= 300, 30, since=since)
    s = summarize(rows)
    assert set(s["by_version"]) == {"1.0.0", "2.0.0"}
    assert s["failed_by_version"] == {"2.0.0": s["by_version"]["2.0.0"]}  # 2.0.0 fails every request
    assert 0.2 < s["by_workload"]["web-new"] / s["total"] < 0.47  # one pod of three, at random
    row = rows[-1]
    assert set(row) >= {"t", "total", "ok", "failed", "by_code", "by_version", "by_workload",
                        "failed_by_version", "latency_ms_p50", "latency_ms_p99"}

    def gateway_series() -> set[tuple[str, str, str]]:
        # Prometheus drops empty labels: route="" (a Service load) and flags="" are absent.
        got = {(m["metric"]["backend_workload"], m["metric"]["code"], m["metric"].get("route", "")) for m in prometheus_query(
            sandbox.prometheus_url, f'gateway_requests_total{{namespace="{namespace}",backend_service="web"}}')}
        return got if {("web-old", "200", ""), ("web-new", "500", "")} <= got else set()

    wait_until(gateway_series, 30, "the gateway's series in Prometheus")

    def app_series() -> set[tuple[str, str]]:
        # the pods' own counters, scraped on their own schedule: waited for like the gateway's
        got = {(m["metric"]["workload"], m["metric"]["code"]) for m in prometheus_query(
            sandbox.prometheus_url, f'sum by (workload, code) (http_requests_total{{namespace="{namespace}"}})')}
        return got if {("web-old", "200"), ("web-new", "500")} <= got else set()

    wait_until(app_series, 30, "the pods' own series in Prometheus")
    hist = prometheus_query(sandbox.prometheus_url, f'gateway_request_duration_seconds_bucket{{namespace="{namespace}",backend_workload="web-old"}}')
    assert "0.005" in {m["metric"]["le"] for m in hist}


def test_route_split_95_5_is_accepted_and_exact(kube, namespace, loads):
    create(kube, namespace,
           deployment("web-a", "1.0.0", replicas=2), deployment("web-b", "2.0.1"),
           service("web-a", {"slot": "web-a"}), service("web-b", {"slot": "web-b"}),
           httproute("web", [("web-a", 95), ("web-b", 5)]))

    accepted = wait_until(lambda: our_conditions(read_route(kube, namespace, "web")).get("Accepted"), 30,
                          "the route's Accepted condition")
    assert (accepted["status"], accepted["reason"], accepted["observedGeneration"]) == ("True", "Accepted", 1)
    assert our_conditions(read_route(kube, namespace, "web"))["ResolvedRefs"]["status"] == "True"
    wait_available(kube, namespace, "web-a", 2)
    wait_available(kube, namespace, "web-b", 1)

    name = loads.put("split", namespace, route="web", rps=400, paths=["/api/status", "/health"])
    since = warm(loads, name, {"web-a", "web-b"})
    rows = loads.gw.wait_rows(name, lambda r: routed(r) >= 4000, 40, since=since)
    loads.gw.put_load(name, namespace, route="web", rps=20)  # high rate only briefly
    s = summarize(rows)
    share = s["by_workload"]["web-b"] / routed(rows)
    assert abs(share - 0.05) <= 0.01, s
    # Both versions are good: any failure is the gateway's own (a stalled, busy machine can
    # push a load over its in-flight bound), never an application's answer.
    assert set(s["failed_by_version"]) <= {"none"} and s["by_version"].keys() - {"none"} == {"1.0.0", "2.0.1"}

    # A weight change applies from the next requests on, and is reflected in status.
    custom = client.CustomObjectsApi(kube)
    custom.patch_namespaced_custom_object(GROUP, VERSION, namespace, "httproutes", "web", {"spec": {"rules": [
        {"backendRefs": [{"name": "web-a", "port": 80, "weight": 0}, {"name": "web-b", "port": 80, "weight": 100}]}]}})
    wait_until(lambda: our_conditions(read_route(kube, namespace, "web"))["Accepted"]["observedGeneration"] == 2,
               30, "status for generation 2")
    changed = int(time.time()) + 2
    rows = loads.gw.wait_rows(name, lambda r: routed(r) >= 40, 30, since=changed)
    assert summarize(rows)["by_workload"].keys() - {"none"} == {"web-b"}


def test_route_to_a_missing_service_is_not_accepted(kube, namespace, loads):
    create(kube, namespace, httproute("broken", [("ghost", 1)]))
    cond = wait_until(lambda: our_conditions(read_route(kube, namespace, "broken")).get("Accepted"), 30,
                      "the route's Accepted condition")
    assert (cond["status"], cond["reason"]) == ("False", "BackendNotFound")
    assert f"{namespace}/ghost" in cond["message"]
    assert our_conditions(read_route(kube, namespace, "broken"))["ResolvedRefs"]["status"] == "False"

    name = loads.put("broken", namespace, route="broken", rps=20)
    rows = loads.gw.wait_rows(name, lambda r: summarize(r)["total"] >= 20, 20)
    assert summarize(rows)["by_code"] == {"500": summarize(rows)["total"]}  # Gateway API: invalid backend → 500

    create(kube, namespace, service("ghost", {"slot": "ghost"}))  # the Service appears: the route is accepted
    wait_until(lambda: our_conditions(read_route(kube, namespace, "broken"))["Accepted"]["status"] == "True", 30,
               "the route to be accepted once its Service exists")


def test_hangs_time_out_and_missing_pods_are_unavailable(kube, namespace, sandbox, loads):
    create(kube, namespace, deployment("hung", "1.0.0", env={"HANG_RATE": "1"}), service("hung", {"slot": "hung"}),
           service("empty", {"slot": "nothing"}))
    wait_available(kube, namespace, "hung", 1)
    hung = loads.put("hung", namespace, service="hung", rps=10, timeout_s=0.5)
    empty = loads.put("empty", namespace, service="empty", rps=10)
    rows = loads.gw.wait_rows(hung, lambda r: summarize(r)["by_code"].get("504", 0) >= 10, 30)
    assert summarize(rows)["by_flags"] == {"UT": summarize(rows)["total"]}
    rows = loads.gw.wait_rows(empty, lambda r: summarize(r)["total"] >= 10, 30)
    assert summarize(rows)["by_flags"] == {"UH": summarize(rows)["total"]}  # Envoy: no healthy upstream

    def flags() -> set[tuple[str, str, str, str, str]]:
        got = {(m["metric"]["backend_service"], m["metric"]["code"], m["metric"]["flags"],
                m["metric"].get("backend_workload", ""), m["metric"].get("backend_pod", ""))
               for m in prometheus_query(sandbox.prometheus_url, f'gateway_requests_total{{namespace="{namespace}"}}')}
        want = {("hung", "504", "UT", "unknown", "unknown"), ("empty", "503", "UH", "unknown", "unknown")}
        return got if want <= got else set()

    # labelled as Istio labels them: the Service the request went to, no pod answered
    got = wait_until(flags, 30, "timeouts and unavailable upstreams in the gateway's metrics")
    assert all(g[3] == "unknown" for g in got), got
    # A hung app never reports what it did not answer: its own counters stay empty.
    assert prometheus_query(sandbox.prometheus_url, f'http_requests_total{{namespace="{namespace}"}}') == []
