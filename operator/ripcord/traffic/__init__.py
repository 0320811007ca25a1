"""Traffic providers, one module each, behind ``ripcord.traffic.base.TrafficProvider``."""
from __future__ import annotations

from ripcord.traffic.base import TrafficProvider
from ripcord.traffic.gateway_api import GatewayApiProvider
from ripcord.traffic.istio import IstioProvider
from ripcord.traffic.replicas import ReplicasProvider

PROVIDERS: dict[str, TrafficProvider] = {"replicas": ReplicasProvider(), "gateway-api": GatewayApiProvider(),
                                         "istio": IstioProvider()}


def provider_for(name: str) -> TrafficProvider:
    return PROVIDERS[name]
