"""The vocabulary every layer shares, and nothing else.

API coordinates, the labels and annotations Ripcord writes and reads, the names of the
objects a Release owns, owner references, and the two intents that carry a plan from the
engine to the actuator. The bottom layer: it imports nothing from Ripcord, so the engine,
the edge and the kubectl plugin all name things the same way.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Mapping, Optional

# ----------------------------------------------------------------------------- the Release API

GROUP = "ripcord.dev"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
KIND = "Release"
PLURAL = "releases"
FINALIZER = "ripcord.dev/finalizer"

# Gateway API coordinates of the HTTPRoute the gateway-api provider writes.
ROUTE_GROUP = "gateway.networking.k8s.io"
ROUTE_VERSION = "v1"
ROUTE_PLURAL = "httproutes"

# Kinds Ripcord writes beside its Deployments and Services. Their API version is the server's
# (``ripcord.kube.discovery``); these are the groups and resources.
AUTOSCALING_GROUP = "autoscaling"
HPA_PLURAL = "horizontalpodautoscalers"
POLICY_GROUP = "policy"
PDB_PLURAL = "poddisruptionbudgets"
ISTIO_GROUP = "networking.istio.io"
VIRTUAL_SERVICE_PLURAL = "virtualservices"
DESTINATION_RULE_PLURAL = "destinationrules"
FIELD_MANAGER = "ripcord"  # server-side apply to a user's HTTPRoute

# ----------------------------------------------------------------------------- labels, annotations

PREFIX = "ripcord.dev/"
RELEASE_LABEL = "ripcord.dev/release"  # on every object a Release owns, and on its pods
SLOT_LABEL = "ripcord.dev/slot"  # a|b: fixed per Deployment, never changed at promotion
SHARD_LABEL = "ripcord.dev/shard"  # on a Release: which operator shard reconciles it
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY = {MANAGED_BY_LABEL: "ripcord"}
HASH_ANNOTATION = "ripcord.dev/template-hash"
VERSION_ANNOTATION = "ripcord.dev/version"
ADOPT_ANNOTATION = "ripcord.dev/adopt"  # on a Service or HTTPRoute: the Release that may take it over

# Manual actions are annotations on the Release: ``ripcord.dev/<action>: <rollout-id>/<nonce>``.
ACTIONS = ("promote", "abort", "pause", "resume", "retry", "drill")


def action_annotation(action: str) -> str:
    return f"{PREFIX}{action}"


# ----------------------------------------------------------------------------- derived names

SLOTS = ("a", "b")


def other_slot(slot: str) -> str:
    return "b" if slot == "a" else "a"


def deployment_name(release: str, slot: str) -> str:
    """A slot's Deployment; its Service has the same name."""
    return f"{release}-{slot}"


def slot_service_name(release: str, slot: str) -> str:
    return deployment_name(release, slot)


def app_service_name(release: str) -> str:
    """The application's Service (and, for gateway-api, its HTTPRoute)."""
    return release


def autoscaler_name(release: str) -> str:
    """The HPA that follows the stable slot."""
    return release


def budget_name(release: str, slot: str) -> str:
    """A slot's PodDisruptionBudget."""
    return deployment_name(release, slot)


def port_route_name(release: str, port: int, first: bool) -> str:
    """The generated HTTPRoute of a Service port: the Release's name for the first routed port."""
    return release if first else f"{release}-{port}"


def slot_selector(release: str, slot: str) -> dict[str, str]:
    return {RELEASE_LABEL: release, SLOT_LABEL: slot}


def release_labels(release: str) -> dict[str, str]:
    """Labels on every object a Release owns (the watches select on the release label)."""
    return {**MANAGED_BY, RELEASE_LABEL: release}


def owner_reference(release: Mapping[str, Any]) -> dict[str, Any]:
    meta = release["metadata"]
    return {"apiVersion": API_VERSION, "kind": KIND, "name": meta["name"], "uid": meta["uid"],
            "controller": True, "blockOwnerDeletion": True}


def controller_uid(obj: Mapping[str, Any]) -> Optional[str]:
    """The uid of the object's controlling owner, if any."""
    for ref in (obj.get("metadata") or {}).get("ownerReferences") or []:
        if isinstance(ref, Mapping) and ref.get("controller"):
            uid = ref.get("uid")
            return str(uid) if uid else None
    return None


# ----------------------------------------------------------------------------- intents

@dataclasses.dataclass(frozen=True)
class SlotIntent:
    """A slot's Deployment as it should be. ``template`` None means: leave the template as is.

    ``keep_replicas``: the replica count is not Ripcord's to set (an HPA scales the stable; a
    warm previous stable stays as it was); ``replicas`` is then only the size it is created at.
    """

    slot: str
    replicas: int
    template: Optional[Mapping[str, Any]] = None
    template_hash: Optional[str] = None
    version: Optional[str] = None
    keep_replicas: bool = False


@dataclasses.dataclass(frozen=True)
class TrafficIntent:
    """Which slot is stable, which (if any) is the canary, and the canary's asked share."""

    stable_slot: str
    canary_slot: Optional[str]
    weight: int  # canary share asked, percent; 0 when there is no canary
    testers: bool = False  # requests matching traffic.testers go to the canary (whatever the weight)
    mirror: int = 0  # percent of live requests mirrored to the canary (gateway-api, the mirror phase)
