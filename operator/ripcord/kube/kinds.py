"""API coordinates of the kinds Ripcord writes through the generic (custom objects) API.

Their version is the server's (:mod:`ripcord.kube.discovery`); Services and Deployments go
through their typed APIs and are not here.
"""
from __future__ import annotations

from typing import Optional

from ripcord.contract import (AUTOSCALING_GROUP, DESTINATION_RULE_PLURAL, HPA_PLURAL, ISTIO_GROUP, PDB_PLURAL,
                              POLICY_GROUP, ROUTE_GROUP, ROUTE_PLURAL, VIRTUAL_SERVICE_PLURAL)
from ripcord.kube.discovery import PREFERENCES, ApiVersions

#: kind -> (group, plural)
GENERIC: dict[str, tuple[str, str]] = {
    "HTTPRoute": (ROUTE_GROUP, ROUTE_PLURAL),
    "HorizontalPodAutoscaler": (AUTOSCALING_GROUP, HPA_PLURAL),
    "PodDisruptionBudget": (POLICY_GROUP, PDB_PLURAL),
    "VirtualService": (ISTIO_GROUP, VIRTUAL_SERVICE_PLURAL),
    "DestinationRule": (ISTIO_GROUP, DESTINATION_RULE_PLURAL),
}


def coordinates(kind: str, versions: ApiVersions) -> tuple[str, str, str]:
    """(group, version, plural) of ``kind`` on this server (the newest Ripcord knows if it serves none)."""
    group, plural = GENERIC[kind]
    return group, versions.of(group) or PREFERENCES[group][0], plural


def served(kind: str, versions: ApiVersions) -> Optional[str]:
    """The version the server serves for ``kind``, or None."""
    return versions.of(GENERIC[kind][0])
