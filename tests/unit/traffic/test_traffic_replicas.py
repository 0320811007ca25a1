"""The `replicas` provider: weight is the canary's share of ready pods behind the application Service."""
from __future__ import annotations

from typing import Any

import pytest

from ripcord.api.models import ReleaseSpec
from ripcord.contract import TrafficIntent
from ripcord.traffic.replicas import ReplicasProvider
from tests.unit.traffic.test_traffic_base import pod

P = ReplicasProvider()
ALL = {"ripcord.dev/release": "demo"}


def spec(replicas: int = 3) -> ReleaseSpec:
    return ReleaseSpec.model_validate({"version": "1", "replicas": replicas, "workloadRef": {"name": "x"}})


def app_service(objects: list[dict[str, Any]]) -> dict[str, Any]:
    return next(o for o in objects if o["metadata"]["name"] == "demo")


@pytest.mark.parametrize("weight,pods", [(0, 0), (5, 1), (10, 1), (25, 1), (50, 3)])
def test_canary_replicas_beside_a_full_stable(weight: int, pods: int) -> None:
    assert P.canary_replicas(spec(3), weight) == pods


def test_expected_weight_is_quantised() -> None:
    assert P.expected_weight(spec(3), 5) == 25.0
    assert P.expected_weight(spec(2), 5) == pytest.approx(100 / 3)
    assert P.expected_weight(spec(19), 5) == 5.0
    assert P.expected_weight(spec(3), 0) == 0.0


def test_settled_needs_the_canary_pods_ready_and_a_share_served() -> None:
    s = spec(3)
    assert P.settled(s, 10, 25.0, canary_ready=1)
    assert not P.settled(s, 10, 25.0, canary_ready=0)
    assert not P.settled(s, 10, 0.0, canary_ready=1), "the Service does not select the canary yet"
    assert not P.settled(s, 10, None, canary_ready=1)
    assert not P.settled(s, 50, 25.0, canary_ready=1), "three canary pods are needed for 50%"
    assert P.settled(s, 0, 0.0, canary_ready=0)
    assert not P.settled(s, 0, 25.0, canary_ready=1)


def test_the_application_service_selects_every_pod_of_the_release_only_while_the_canary_has_weight() -> None:
    assert P.app_selector("demo", TrafficIntent("a", "b", 10)) == ALL
    stable_only = {"ripcord.dev/release": "demo", "ripcord.dev/slot": "a"}
    assert P.app_selector("demo", TrafficIntent("a", "b", 0)) == stable_only
    assert P.app_selector("demo", TrafficIntent("a", None, 0)) == stable_only


def test_objects_are_the_application_service_and_one_service_per_slot() -> None:
    objs = P.objects("demo", "ns", spec(), TrafficIntent("b", "a", 25))
    assert [o["metadata"]["name"] for o in objs] == ["demo", "demo-a", "demo-b"]
    assert all(o["kind"] == "Service" and o["metadata"]["namespace"] == "ns" for o in objs)
    assert app_service(objs)["spec"]["selector"] == ALL
    assert app_service(objs)["spec"]["ports"][0]["targetPort"] == 8080


def test_effective_weight_is_the_canary_share_of_ready_selected_pods() -> None:
    intent = TrafficIntent("a", "b", 10)
    fetched = {"service": {"spec": {"selector": ALL}}, "pods": [pod("a"), pod("a"), pod("a"), pod("b")]}
    assert P.effective_weight(intent, fetched) == 25.0
    fetched["pods"].append(pod("b", ready=False))
    assert P.effective_weight(intent, fetched) == 25.0


def test_effective_weight_without_the_service_is_unknown() -> None:
    assert P.effective_weight(TrafficIntent("a", "b", 10), {}) is None


def test_effective_weight_with_no_ready_pod_is_unknown() -> None:
    assert P.effective_weight(TrafficIntent("a", "b", 10), {"service": {"spec": {}}, "pods": []}) is None


def test_effective_weight_without_a_canary_is_zero() -> None:
    assert P.effective_weight(TrafficIntent("a", None, 0), {"service": {"spec": {}}, "pods": [pod("a")]}) == 0.0


def test_effective_weight_of_the_previous_stable_in_the_watch() -> None:
    """In the watch the engine measures the previous stable like a canary: its share must reach 0."""
    watch = TrafficIntent("b", "a", 0)
    lagging = {"service": {"spec": {}}, "pods": [pod("a"), pod("a"), pod("b"), pod("b")]}
    moved = {"service": {"spec": {}}, "pods": [pod("b"), pod("b")]}
    assert P.effective_weight(watch, lagging) == 50.0
    assert P.effective_weight(watch, moved) == 0.0
    rest = TrafficIntent("b", None, 0)
    assert P.objects("demo", "ns", spec(), watch) == P.objects("demo", "ns", spec(), rest)
