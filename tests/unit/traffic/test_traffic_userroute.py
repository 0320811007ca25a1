"""The user's own HTTPRoute: which rule, what its backendRefs become, what is never touched."""
from __future__ import annotations

import copy
from typing import Any

import pytest

from ripcord.contract import TrafficIntent
from ripcord.traffic import userroute as u


def route(**over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "metadata": {"name": "public", "namespace": "shop", "generation": 3},
        "spec": {"parentRefs": [{"name": "gw"}, {"name": "internal"}], "rules": [
            {"matches": [{"path": {"type": "PathPrefix", "value": "/static"}}], "backendRefs": [{"name": "cdn"}]},
            {"name": "web", "filters": [{"type": "RequestHeaderModifier"}],
             "backendRefs": [{"name": "web", "port": 80, "filters": [{"type": "URLRewrite"}]}]}]}}
    body["spec"].update(over)
    return body


@pytest.mark.parametrize("rule", [1, "web", None])
def test_the_rule_by_index_by_name_or_the_one_sending_to_the_release(rule: Any) -> None:
    assert u.find_rule(route(), "web", rule) == u.RuleFound(index=1)


@pytest.mark.parametrize("rule,words", [
    (7, "HTTPRoute public has no rule 7 (it has 2; 0 is the first)"),
    ("api", "has no rule named 'api' (named rules: web)"),
    (0, "rule 0 of HTTPRoute public has no backendRef to Service web"),
])
def test_a_rule_that_does_not_fit_names_the_field(rule: Any, words: str) -> None:
    found = u.find_rule(route(), "web", rule)
    assert found.index is None and found.problem is not None
    assert found.problem.startswith("spec.traffic.routeRef.rule: ") and words in found.problem


def test_a_rule_shared_with_other_backends_is_refused() -> None:
    r = route()
    r["spec"]["rules"][1]["backendRefs"].append({"name": "legacy", "port": 80})
    assert "also sends to legacy" in (u.find_rule(r, "web", "web").problem or "")


def test_without_a_rule_named_several_candidates_are_ambiguous() -> None:
    r = route()
    r["spec"]["rules"][0]["backendRefs"] = [{"name": "web"}]
    assert "rules 0, 1 send to Service web" in (u.find_rule(r, "web", None).problem or "")


def test_the_canary_goes_next_to_the_stable_as_its_copy() -> None:
    refs = u.rule_refs(route(), 1)
    out = u.desired_refs(refs, "shop", "web", TrafficIntent("a", "b", 20))
    assert out == [{"name": "web", "port": 80, "filters": [{"type": "URLRewrite"}], "weight": 80},
                   {"name": "web-b", "port": 80, "filters": [{"type": "URLRewrite"}], "weight": 20}]
    assert u.desired_refs(out, "shop", "web", TrafficIntent("b", None, 0)) == \
        [{"name": "web", "port": 80, "filters": [{"type": "URLRewrite"}]}], "at rest: the stable's alone"
    assert u.desired_refs(refs, "shop", "web", TrafficIntent("a", "b", 0)) == refs, "weight 0 writes nothing"
    assert u.fingerprint(out) == "web:80=80,web-b:80=20"


def test_only_the_rules_backend_refs_change() -> None:
    r = route()
    before = copy.deepcopy(r)
    rules = u.with_rule_refs(r, 1, [{"name": "web", "port": 80, "weight": 50}])
    assert r == before, "the route itself is not modified"
    assert rules[0] == before["spec"]["rules"][0]
    assert {k: v for k, v in rules[1].items() if k != "backendRefs"} == \
        {k: v for k, v in before["spec"]["rules"][1].items() if k != "backendRefs"}


def test_the_canary_share_and_acceptance() -> None:
    refs = [{"name": "web", "weight": 75}, {"name": "web-b", "weight": 25}]
    assert u.canary_share(refs, "shop", "web", TrafficIntent("a", "b", 25)) == 25.0
    assert u.canary_share([{"name": "web"}], "shop", "web", TrafficIntent("a", "b", 25)) == 0.0
    r = route(parentRefs=[{"name": "gw"}])
    r["status"] = {"parents": [{"conditions": [{"type": "Accepted", "status": "True", "observedGeneration": 2}]}]}
    assert not u.accepted(r), "accepted an older generation"
    r["status"]["parents"][0]["conditions"][0]["observedGeneration"] = 3
    assert u.accepted(r)
