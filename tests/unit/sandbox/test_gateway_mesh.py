"""The gateway stand-in's request matching (headers, cookies, queries) and its mesh side
(VirtualService weights, DestinationRule subsets, Istio's metrics). Pure, no cluster."""

from __future__ import annotations

from collections import Counter
from typing import Any

from ripcord.traffic.matching import cookie_regex
from sandbox.gateway.discovery import ClusterState
from sandbox.gateway.metrics import GatewayMetrics
from sandbox.gateway.model import parse_route, parse_virtual_service
from sandbox.gateway.routing import Router, Target, select_mesh_route, select_rule
from tests.unit.sandbox.gwobjects import pod, route, service


def vs(name: str, http: list[dict[str, Any]], hosts: tuple[str, ...] = ("web",), ns: str = "demo") -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": ns}, "spec": {"hosts": list(hosts), "http": http}}


def weighted(a: int, b: int, subsets: bool = False) -> list[dict[str, Any]]:
    def dest(slot: str) -> dict[str, Any]:
        return {"host": "web", "subset": slot} if subsets else {"host": f"web-{slot}.demo.svc.cluster.local"}
    return [{"destination": {**dest("a"), "port": {"number": 80}}, "weight": a},
            {"destination": {**dest("b"), "port": {"number": 80}}, "weight": b}]


def cluster(vss: list[dict[str, Any]], drs: list[dict[str, Any]] | None = None) -> ClusterState:
    st = ClusterState()
    st.reset("pods", [pod(f"web-{s}-abc12-p{i}", f"127.0.9.{i}", {"app": "web", "slot": s}, rs=f"web-{s}-abc12")
                      for i, s in enumerate("ab", start=1)])
    st.reset("services", [service("web", {"app": "web"}), service("web-a", {"app": "web", "slot": "a"}),
                          service("web-b", {"app": "web", "slot": "b"})])
    st.reset("httproutes", [])
    st.reset("virtualservices", vss)
    st.reset("destinationrules", drs or [])
    return st


# ------------------------------------------------------------------ Gateway API matches

def test_a_header_match_takes_precedence_over_the_same_path_without_it() -> None:
    rt = parse_route(route("web", [("web-a", 1)], matches=[{"path": {"type": "PathPrefix", "value": "/"}}]))
    tester = parse_route(route("t", [("web-b", 1)], matches=[
        {"path": {"type": "PathPrefix", "value": "/"},
         "headers": [{"type": "Exact", "name": "X-Canary", "value": "always"}]}]))
    both = type(rt)(rt.namespace, rt.name, rt.generation, (rt.rules[0], tester.rules[0]))
    assert select_rule(both, "/api/status", headers={"x-canary": "always"}) == 1
    assert select_rule(both, "/api/status", headers={"x-canary": "never"}) == 0
    assert select_rule(both, "/api/status") == 0


def test_a_cookie_matches_on_its_boundaries_only() -> None:
    rt = parse_route(route("t", [("web-b", 1)], matches=[{"headers": [
        {"type": "RegularExpression", "name": "Cookie", "value": cookie_regex("canary", "always")}]}]))
    for cookie, hit in (("canary=always", True), ("a=1; canary=always", True), ("canary=always; b=2", True),
                        ("xcanary=always", False), ("canary=alwaysx", False), ("a=canary=always", False)):
        assert (select_rule(rt, "/", headers={"cookie": cookie}) == 0) is hit, cookie


def test_query_params_match_when_the_path_carries_them() -> None:
    rt = parse_route(route("q", [("web-b", 1)], matches=[{"queryParams": [{"name": "v", "value": "2"}]}]))
    assert select_rule(rt, "/api?v=2") == 0
    assert select_rule(rt, "/api?v=1") is None and select_rule(rt, "/api") is None


# ------------------------------------------------------------------ Istio

def test_the_first_matching_mesh_route_wins() -> None:
    v = parse_virtual_service(vs("web", [
        {"name": "testers", "match": [{"headers": {"x-canary": {"exact": "always"}}}],
         "route": [{"destination": {"host": "web-b"}}]},
        {"name": "weighted", "route": weighted(100, 0)}]))
    assert select_mesh_route(v, "/", "GET", {"x-canary": "always"}, None) == 0
    assert select_mesh_route(v, "/", "GET", {}, None) == 1
    only_port = parse_virtual_service(vs("p", [{"match": [{"port": 8080}], "route": weighted(100, 0)}]))
    assert select_mesh_route(only_port, "/", "GET", {}, 80) is None
    assert select_mesh_route(only_port, "/", "GET", {}, 8080) == 0


def test_virtual_service_weights_are_served_exactly() -> None:
    st = cluster([vs("web", [{"name": "weighted-80", "route": weighted(80, 20)}])])
    r = Router()
    picks = Counter(r.pick(st.snapshot(), Target("demo", host="web"), "/").service for _ in range(100))
    assert picks == {"web-a": 80, "web-b": 20}
    p = r.pick(st.snapshot(), Target("demo", host="web.demo.svc.cluster.local"), "/")
    assert p.route == "web" and p.pod is not None


def test_subsets_pick_pods_by_the_destination_rules_labels() -> None:
    dr = {"metadata": {"name": "web", "namespace": "demo"},
          "spec": {"host": "web", "subsets": [{"name": "a", "labels": {"slot": "a"}},
                                               {"name": "b", "labels": {"slot": "b"}}]}}
    st = cluster([vs("web", [{"route": weighted(0, 100, subsets=True)}])], [dr])
    p = Router().pick(st.snapshot(), Target("demo", host="web"), "/")
    assert p.service == "web" and p.pod is not None and p.pod.name.startswith("web-b-")
    no_rule = cluster([vs("web", [{"route": weighted(0, 100, subsets=True)}])])
    p = Router().pick(no_rule.snapshot(), Target("demo", host="web"), "/")
    assert p.pod is None and p.code == 503 and p.flags == "UH"


def test_without_a_virtual_service_the_host_s_service_answers() -> None:
    p = Router().pick(cluster([]).snapshot(), Target("demo", host="web-a"), "/")
    assert p.service == "web-a" and p.pod is not None and p.route == ""


def test_mesh_metrics_are_labelled_as_istio_s_client_side() -> None:
    m = GatewayMetrics()
    m.observe_mesh("demo", "web-b", "demo", "web-b", 500, "", 0.012)
    m.observe_mesh("demo", "web-b", "demo", "unknown", 503, "UF", 0.001)
    text = m.exposition().decode()
    answered = ('istio_requests_total{destination_service="web-b.demo.svc.cluster.local",'
                'destination_service_name="web-b",destination_service_namespace="demo",'
                'destination_workload="web-b",destination_workload_namespace="demo",reporter="source",'
                'response_code="500",response_flags="-",source_workload="sandbox-gateway",'
                'source_workload_namespace="demo"} 1.0')
    refused = ('destination_service_name="web-b",destination_service_namespace="demo",'
               'destination_workload="unknown",destination_workload_namespace="unknown",reporter="source",'
               'response_code="503",response_flags="UF"')
    assert answered in text and refused in text
    assert 'istio_request_duration_milliseconds_bucket{' in text and 'le="25.0"' in text
