"""Spec validation of the fields that fit existing clusters: each refusal names the field."""
from __future__ import annotations

from typing import Any

import pytest

from ripcord.api.models import ReleaseSpec
from tests.unit.api.test_api_spec_validation import rejected, valid

GW = {"provider": "gateway-api", "gatewayRef": {"name": "gw"}}


@pytest.mark.parametrize("traffic,words", [
    ({"provider": "gateway-api", "gatewayRef": {"name": "gw"}, "routeRef": {"name": "r"}}, "not both"),
    ({"provider": "istio", "routeRef": {"name": "r"}}, "spec.traffic.routeRef: is for the gateway-api provider"),
    ({"provider": "gateway-api", "routeRef": {"name": "r"}, "testers": [{"header": "x", "value": "1"}]},
     "spec.traffic.testers: shapes the route Ripcord generates"),
    ({"provider": "gateway-api", "routeRef": {"name": "r"}, "matches": [{}]}, "spec.traffic.matches: shapes"),
    ({"provider": "replicas", "testers": [{"header": "x", "value": "1"}]}, "spec.traffic.testers: needs a provider"),
    ({**GW, "istio": {"subsets": True}}, "spec.traffic.istio: is for the istio provider"),
    ({**GW, "testers": [{"header": "x", "cookie": "y", "value": "1"}]}, "exactly one of header or cookie"),
    ({**GW, "testers": [{"cookie": "c", "value": "a;b"}]}, "spec.traffic.testers[0].value"),
    ({**GW, "matches": [{"path": {"value": "api"}}]}, "must start with '/'"),
    ({"provider": "gateway-api", "routeRef": {"name": "r", "rule": 99}}, "rule index 99 is out of range"),
    ({"provider": "gateway-api", "routeRef": {"name": "r", "rule": "Bad Name"}}, "is not a valid rule name"),
])
def test_traffic_fields_that_do_not_go_together(traffic: dict[str, Any], words: str) -> None:
    assert words in rejected(valid(traffic=traffic))


@pytest.mark.parametrize("autoscaling,words", [
    ({"minReplicas": 2}, "spec.autoscaling.maxReplicas: Field required"),
    ({"maxReplicas": 5}, "spec.autoscaling.minReplicas: Field required"),
    ({"minReplicas": 6, "maxReplicas": 5}, "minReplicas (6) is above maxReplicas (5)"),
    ({"minReplicas": 0, "maxReplicas": 5}, "spec.autoscaling.minReplicas"),
    ({"minReplicas": 1, "maxReplicas": 5, "metrics": [{"type": "Memory"}]}, "metrics[0].type 'Memory'"),
    ({"minReplicas": 1, "maxReplicas": 5, "metrics": [{"type": "Pods"}]}, "type Pods needs its 'pods' field"),
])
def test_an_hpa_without_bounds_is_refused(autoscaling: dict[str, Any], words: str) -> None:
    assert words in rejected(valid(autoscaling=autoscaling))


@pytest.mark.parametrize("budget,words", [
    ({}, "exactly one of minAvailable or maxUnavailable"),
    ({"minAvailable": 1, "maxUnavailable": 1}, "exactly one of"),
    ({"maxUnavailable": "half"}, "neither a count nor a percentage"),
    ({"minAvailable": -1}, "is negative"),
])
def test_a_budget_names_exactly_one_bound(budget: dict[str, Any], words: str) -> None:
    msg = rejected(valid(disruptionBudgets={"stable": budget}))
    assert "spec.disruptionBudgets.stable" in msg and words in msg


def test_the_new_fields_take_their_defaults() -> None:
    s = ReleaseSpec.model_validate(valid(autoscaling={"minReplicas": 2, "maxReplicas": 4},
                                         disruptionBudgets={"canary": {"maxUnavailable": "25%"}},
                                         traffic={"provider": "gateway-api", "routeRef": {"name": "public"}}))
    assert s.autoscaling is not None and s.autoscaling.metrics[0]["resource"]["name"] == "cpu"
    assert s.disruption_budgets is not None and s.disruption_budgets.stable is None
    assert s.traffic.route_ref is not None and s.traffic.route_ref.rule is None
    assert ReleaseSpec.model_validate(valid(traffic={"provider": "gateway-api", "routeRef": {
        "name": "p", "rule": "1"}})).traffic.route_ref.rule == "1", "a quoted number is a name"  # type: ignore[union-attr]
