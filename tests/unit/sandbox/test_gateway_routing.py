"""Pure routing: Service selection, HTTPRoute weights, the gateway's own answers."""

from __future__ import annotations

import random
from collections import Counter


from sandbox.gateway.discovery import ClusterState
from sandbox.gateway.model import parse_pod, parse_route, workload_of
from sandbox.gateway.routing import Router, SmoothWRR, Target, select_rule
from tests.unit.sandbox.gwobjects import pod, route, service


def state(*objs: tuple[str, dict]) -> ClusterState:
    st = ClusterState()
    by_kind: dict[str, list] = {"services": [], "pods": [], "httproutes": []}
    for kind, obj in objs:
        by_kind[kind].append(obj)
    for kind, items in by_kind.items():
        st.reset(kind, items)
    return st


def web_cluster() -> ClusterState:
    return state(
        ("services", service("web", {"app": "web"})),
        ("services", service("web-a", {"app": "web", "slot": "a"})),
        ("services", service("web-b", {"app": "web", "slot": "b"})),
        ("pods", pod("web-a-5d8f-x1", "127.1.0.1", {"app": "web", "slot": "a"}, rs="web-a-5d8f")),
        ("pods", pod("web-a-5d8f-x2", "127.1.0.2", {"app": "web", "slot": "a"}, rs="web-a-5d8f")),
        ("pods", pod("web-b-77aa-y1", "127.1.0.3", {"app": "web", "slot": "b"}, rs="web-b-77aa")),
        ("pods", pod("web-b-77aa-y2", "127.1.0.4", {"app": "web", "slot": "b"}, rs="web-b-77aa", ready=False)),
        ("pods", pod("web-b-77aa-y3", "127.1.0.5", {"app": "web", "slot": "b"}, rs="web-b-77aa", terminating=True)),
        ("pods", pod("other", "127.1.0.9", {"app": "web"}, ns="elsewhere")),
    )


def test_workload_is_the_deployment_behind_the_replicaset() -> None:
    assert parse_pod(pod("web-a-5d8f-x1", "127.1.0.1", {}, rs="web-a-5d8f")).workload == "web-a"
    assert workload_of({"ownerReferences": [{"kind": "StatefulSet", "name": "db", "controller": True}]}) == "db"
    assert workload_of({"name": "bare"}) == ""


def test_service_spreads_over_ready_pods_only() -> None:
    snap = web_cluster().snapshot()
    r = Router(random.Random(1))
    seen = Counter(r.pick(snap, Target("demo", service="web"), "/").pod.name for _ in range(3000))
    assert set(seen) == {"web-a-5d8f-x1", "web-a-5d8f-x2", "web-b-77aa-y1"}  # not unready, terminating, other ns
    assert all(900 < n < 1100 for n in seen.values())
    p = r.pick(snap, Target("demo", service="web"), "/")
    assert p.port == 8080 and p.route == "" and p.service == "web"


def test_numeric_target_port_and_unknown_named_port() -> None:
    st = state(("services", service("num", {"app": "web"}, target=9090)),
               ("services", service("named", {"app": "web"}, target="metrics")),
               ("pods", pod("p", "127.1.0.1", {"app": "web"})))
    r = Router()
    assert r.pick(st.snapshot(), Target("demo", service="num"), "/").port == 9090
    p = r.pick(st.snapshot(), Target("demo", service="named"), "/")
    assert (p.pod, p.code, p.flags, p.service) == (None, 503, "UH", "named")  # no pod has that port


def test_gateway_answers_itself_without_backend() -> None:
    st = web_cluster()
    st.reset("pods", [])
    r = Router()
    snap = st.snapshot()
    p = r.pick(snap, Target("demo", service="web"), "/")
    assert (p.code, p.flags, p.service) == (503, "UH", "web")  # Envoy: no healthy upstream
    p = r.pick(snap, Target("demo", service="nope"), "/")
    assert (p.code, p.flags) == (503, "NC")
    p = r.pick(snap, Target("demo", route="nope"), "/")
    assert (p.code, p.flags) == (404, "NR")


def test_no_ready_canary_pod_keeps_the_service_the_route_chose() -> None:
    """Every canary pod crashed: the route still sends its share to the canary's Service, and
    the gateway answers 503 UH labelled with that Service (the canary's failure)."""
    st = web_cluster()
    st.apply("httproutes", "ADDED", route("web", [("web-a", 50), ("web-b", 50)]))
    st.reset("pods", [pod("web-a-5d8f-x1", "127.1.0.1", {"app": "web", "slot": "a"}, rs="web-a-5d8f"),
                      pod("web-b-77aa-y1", "127.1.0.3", {"app": "web", "slot": "b"}, rs="web-b-77aa", ready=False)])
    r = Router()
    picks = [r.pick(st.snapshot(), Target("demo", route="web"), "/") for _ in range(10)]
    to_b = [p for p in picks if p.service == "web-b"]
    assert len(to_b) == 5 and all((p.pod, p.code, p.flags, p.route) == (None, 503, "UH", "web") for p in to_b)
    assert all(p.pod is not None for p in picks if p.service == "web-a")


def test_route_weights_split_exactly_per_path() -> None:
    st = web_cluster()
    st.apply("httproutes", "ADDED", route("web", [("web-a", 95), ("web-b", 5)]))
    snap, r = st.snapshot(), Router(random.Random(2))
    counts: Counter = Counter()
    for i in range(2000):
        path = ("/api/status", "/health")[i % 2]
        p = r.pick(snap, Target("demo", route="web"), path)
        counts[(p.service, path)] += 1
        assert p.route == "web"
    assert counts[("web-b", "/api/status")] == counts[("web-b", "/health")] == 50
    assert counts[("web-a", "/api/status")] == counts[("web-a", "/health")] == 950


def test_route_weight_zero_and_missing_backend() -> None:
    st = web_cluster()
    st.apply("httproutes", "ADDED", route("zero", [("web-a", 100), ("web-b", 0)]))
    st.apply("httproutes", "ADDED", route("none", [("web-a", 0), ("web-b", 0)]))
    st.apply("httproutes", "ADDED", route("missing", [("ghost", 1)]))
    snap, r = st.snapshot(), Router()
    assert {r.pick(snap, Target("demo", route="zero"), "/").service for _ in range(50)} == {"web-a"}
    p = r.pick(snap, Target("demo", route="none"), "/")
    assert (p.code, p.flags) == (500, "NR")
    p = r.pick(snap, Target("demo", route="missing"), "/")
    assert (p.code, p.flags, p.service) == (500, "NR", "ghost")


def test_weight_change_takes_effect_at_once() -> None:
    st = web_cluster()
    st.apply("httproutes", "ADDED", route("web", [("web-a", 100), ("web-b", 0)]))
    r = Router()
    assert r.pick(st.snapshot(), Target("demo", route="web"), "/").service == "web-a"
    st.apply("httproutes", "MODIFIED", route("web", [("web-a", 0), ("web-b", 100)], generation=2))
    assert r.pick(st.snapshot(), Target("demo", route="web"), "/").service == "web-b"


def test_rule_precedence() -> None:
    obj = route("web", [("web-a", 1)], matches=[{"path": {"type": "PathPrefix", "value": "/api"}}])
    obj["spec"]["rules"].append({"matches": [{"path": {"type": "Exact", "value": "/api/status"}}],
                                 "backendRefs": [{"name": "web-b", "port": 80}]})
    obj["spec"]["rules"].append({"matches": [{"path": {"type": "PathPrefix", "value": "/"},
                                              "headers": [{"name": "x-canary", "value": "1"}]}],
                                 "backendRefs": [{"name": "web-b", "port": 80}]})
    rt = parse_route(obj)
    assert select_rule(rt, "/api/status") == 1
    assert select_rule(rt, "/api/other") == 0
    assert select_rule(rt, "/apix") is None  # prefixes match whole path elements
    assert select_rule(rt, "/health") is None  # the header match never matches the load's requests
    assert select_rule(parse_route(route("d", [("web-a", 1)])), "/anything") == 0  # no matches: all


def test_smooth_wrr_interleaves() -> None:
    w = SmoothWRR([2, 1])
    assert [w.next() for _ in range(6)] == [0, 1, 0, 0, 1, 0]
    assert SmoothWRR([0, 0]).next() is None
