"""The pure helpers every provider shares: names, selectors, ready shares, quantised pod counts."""
from __future__ import annotations

from typing import Any

import pytest

from ripcord.api.models import ReleaseSpec
from ripcord.traffic import PROVIDERS, provider_for
from ripcord.contract import deployment_name, other_slot, slot_selector
from ripcord.traffic.base import quantised_canary_pods, ready_share, service_ports, slot_service


def pod(slot: str, ready: bool = True, deleting: bool = False) -> dict[str, Any]:
    meta: dict[str, Any] = {"labels": {"ripcord.dev/release": "demo", "ripcord.dev/slot": slot}}
    if deleting:
        meta["deletionTimestamp"] = "2026-01-29T14:30:00Z"
    return {"metadata": meta, "status": {"conditions": [{"type": "PodScheduled", "status": "True"},
                                                        {"type": "Ready", "status": "True" if ready else "False"}]}}


def test_slots_and_names() -> None:
    assert other_slot("a") == "b" and other_slot("b") == "a"
    assert deployment_name("shop", "a") == "shop-a"
    assert slot_selector("shop", "b") == {"ripcord.dev/release": "shop", "ripcord.dev/slot": "b"}


def test_slot_service_selects_one_slot_with_the_spec_ports() -> None:
    spec = ReleaseSpec.model_validate({"version": "1", "workloadRef": {"name": "x"},
                                       "service": {"ports": [{"name": "web", "port": 80, "targetPort": 8080},
                                                             {"name": "grpc", "port": 9090, "targetPort": 9090}]}})
    svc = slot_service("shop", "ns", "a", spec)
    assert svc["metadata"]["name"] == "shop-a" and svc["metadata"]["namespace"] == "ns"
    assert svc["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "ripcord"
    assert svc["spec"]["selector"] == slot_selector("shop", "a")
    assert svc["spec"]["ports"] == service_ports(spec) == [
        {"name": "web", "port": 80, "targetPort": 8080, "protocol": "TCP"},
        {"name": "grpc", "port": 9090, "targetPort": 9090, "protocol": "TCP"}]


def test_ready_share_counts_ready_pods_only() -> None:
    pods = [pod("a"), pod("a"), pod("a"), pod("b"), pod("b", ready=False), pod("b", deleting=True)]
    assert ready_share(pods, "b") == 25.0
    assert ready_share(pods, "a") == 75.0


def test_ready_share_is_unknown_with_no_ready_pod() -> None:
    assert ready_share([], "b") is None
    assert ready_share([pod("a", ready=False)], "b") is None


def test_a_pod_without_conditions_is_not_ready() -> None:
    assert ready_share([{"metadata": {"labels": {"ripcord.dev/slot": "b"}}}, pod("a")], "b") == 0.0


@pytest.mark.parametrize("stable,weight,expected", [
    (3, 0, 0), (3, 5, 1), (3, 10, 1), (3, 25, 1), (3, 50, 3), (3, 100, 3),
    (10, 5, 1), (10, 10, 1), (10, 25, 3), (10, 50, 10), (19, 5, 1), (20, 20, 5), (1, 50, 1),
])
def test_quantised_canary_pods(stable: int, weight: int, expected: int) -> None:
    assert quantised_canary_pods(stable, weight) == expected


@pytest.mark.parametrize("stable", [1, 2, 3, 5, 10, 19, 40])
@pytest.mark.parametrize("weight", [1, 5, 10, 20, 25, 33, 50])
def test_quantised_share_is_the_nearest_reachable(stable: int, weight: int) -> None:
    """No other pod count (of at least one) gives a share closer to the weight asked."""
    n = quantised_canary_pods(stable, weight)
    share = 100 * n / (n + stable)
    best = min(abs(100 * k / (k + stable) - weight) for k in range(1, 4 * stable + 2))
    assert n >= 1 and abs(share - weight) <= best + 1e-9


def test_providers_are_registered_by_name() -> None:
    assert set(PROVIDERS) == {"replicas", "gateway-api", "istio"}
    for name in PROVIDERS:
        assert provider_for(name).name == name
    with pytest.raises(KeyError):
        provider_for("linkerd")
