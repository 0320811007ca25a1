"""HTTPRoute status.parents as the sandbox gateway writes it."""

from __future__ import annotations

from sandbox.gateway import CONTROLLER_NAME
from sandbox.gateway.model import parse_service
from sandbox.gateway.routes import desired_status, resolve_refs
from tests.unit.sandbox.gwobjects import route, service

SERVICES = {("demo", n): parse_service(service(n, {"app": n})) for n in ("web-a", "web-b")}


def lookup(ns: str, name: str):
    return SERVICES.get((ns, name))


def conds(entry: dict) -> dict[str, tuple]:
    return {c["type"]: (c["status"], c["reason"], c["observedGeneration"]) for c in entry["conditions"]}


def test_accepted_when_every_backend_exists() -> None:
    st = desired_status(route("web", [("web-a", 95), ("web-b", 5)], generation=3), lookup, "T1")
    [entry] = st["parents"]
    assert entry["controllerName"] == CONTROLLER_NAME
    assert entry["parentRef"] == {"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "sandbox-gateway"}
    assert conds(entry) == {"Accepted": ("True", "Accepted", 3), "ResolvedRefs": ("True", "ResolvedRefs", 3)}
    assert all(c["lastTransitionTime"] == "T1" and c["message"] for c in entry["conditions"])


def test_missing_service_is_not_accepted() -> None:
    st = desired_status(route("web", [("web-a", 95), ("ghost", 5)]), lookup, "T1")
    [entry] = st["parents"]
    assert conds(entry) == {"Accepted": ("False", "BackendNotFound", 1),
                            "ResolvedRefs": ("False", "BackendNotFound", 1)}
    assert "demo/ghost" in entry["conditions"][0]["message"]


def test_other_problems_have_their_reasons() -> None:
    wrong_port = route("p", [("web-a", 1)], port=8443)
    assert resolve_refs(wrong_port, lookup)[0] == "BackendNotFound"
    cross = route("x", [("web-a", 1)])
    cross["spec"]["rules"][0]["backendRefs"][0]["namespace"] = "other"
    assert resolve_refs(cross, lookup)[0] == "RefNotPermitted"
    kind = route("k", [("web-a", 1)])
    kind["spec"]["rules"][0]["backendRefs"][0]["kind"] = "ConfigMap"
    assert resolve_refs(kind, lookup)[0] == "InvalidKind"


def test_no_write_when_nothing_changed_and_transition_time_kept() -> None:
    obj = route("web", [("web-a", 1)])
    obj["status"] = desired_status(obj, lookup, "T1")
    assert desired_status(obj, lookup, "T2") is None
    obj["metadata"]["generation"] = 2  # spec edited: observedGeneration moves, the transition time does not
    st = desired_status(obj, lookup, "T2")
    assert conds(st["parents"][0])["Accepted"] == ("True", "Accepted", 2)
    assert {c["lastTransitionTime"] for c in st["parents"][0]["conditions"]} == {"T1"}


def test_other_parents_are_left_alone_and_stale_entries_removed() -> None:
    foreign = {"parentRef": {"name": "istio"}, "controllerName": "istio.io/gateway-controller",
               "conditions": [{"type": "Accepted", "status": "True"}]}
    obj = route("web", [("web-a", 1)], status={"parents": [foreign]})
    st = desired_status(obj, lookup, "T1")
    assert st["parents"][0] == foreign and len(st["parents"]) == 2
    obj["status"] = st
    obj["spec"]["parentRefs"] = [{"name": "istio"}]  # detached from our gateway
    assert desired_status(obj, lookup, "T2")["parents"] == [foreign]


def test_routes_of_other_gateways_are_ignored() -> None:
    assert desired_status(route("web", [("web-a", 1)], parent="other-gw"), lookup, "T1") is None
