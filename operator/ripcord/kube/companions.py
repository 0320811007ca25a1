"""Objects that follow a slot's role (pure): the HPA on the stable, a PodDisruptionBudget per slot.

The engine says which slot plays which role (``Plan.roles``); these are the bodies the
actuator writes for it. The HPA is one object, ``<release>``, whose ``scaleTargetRef`` names
the stable slot's Deployment: at a promotion it moves to the new stable (and back, if the
watch swaps back). A slot's PDB (``<release>-<slot>``, selecting that slot's pods) carries
the budget of the slot's role: the stable's budget for the stable and, through the
post-promotion watch, the previous stable; the canary's for the canary; an idle slot has none.
Bodies carry the newest API versions; the actuator writes the versions the server serves.
"""
from __future__ import annotations

from typing import Any, Mapping, Optional

from ripcord.api.models import Budget, ReleaseSpec
from ripcord.contract import (AUTOSCALING_GROUP, POLICY_GROUP, SLOT_LABEL, autoscaler_name, budget_name,
                              deployment_name, release_labels, slot_selector)

BUDGET_OF_ROLE = {"stable": "stable", "previous": "stable", "canary": "canary"}


def autoscaler(release: str, namespace: str, spec: ReleaseSpec, stable_slot: str) -> dict[str, Any]:
    a = spec.autoscaling
    assert a is not None
    body: dict[str, Any] = {
        "apiVersion": f"{AUTOSCALING_GROUP}/v2", "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": autoscaler_name(release), "namespace": namespace, "labels": release_labels(release)},
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment",
                                    "name": deployment_name(release, stable_slot)},
                 "minReplicas": a.min_replicas, "maxReplicas": a.max_replicas,
                 "metrics": [dict(m) for m in a.metrics]},
    }
    if a.behavior is not None:
        body["spec"]["behavior"] = dict(a.behavior)
    return body


def _budget_spec(b: Budget) -> dict[str, Any]:
    # Both keys, the absent one null: a merge patch then drops the other when the kind of bound changes.
    return {"minAvailable": b.min_available, "maxUnavailable": b.max_unavailable}


def budget(release: str, namespace: str, slot: str, b: Budget) -> dict[str, Any]:
    return {
        "apiVersion": f"{POLICY_GROUP}/v1", "kind": "PodDisruptionBudget",
        "metadata": {"name": budget_name(release, slot), "namespace": namespace,
                     "labels": {**release_labels(release), SLOT_LABEL: slot}},
        "spec": {"selector": {"matchLabels": slot_selector(release, slot)}, **_budget_spec(b)},
    }


def budgets(release: str, namespace: str, spec: ReleaseSpec, roles: Mapping[str, str]) -> list[dict[str, Any]]:
    """The PDB of each slot whose role has a budget, in slot order."""
    out = []
    for slot in sorted(roles):
        b = _budget_for(spec, roles[slot])
        if b is not None:
            out.append(budget(release, namespace, slot, b))
    return out


def _budget_for(spec: ReleaseSpec, role: str) -> Optional[Budget]:
    budgets_ = spec.disruption_budgets
    which = BUDGET_OF_ROLE.get(role)
    if budgets_ is None or which is None:
        return None
    return budgets_.stable if which == "stable" else budgets_.canary


def companions(release: str, namespace: str, spec: ReleaseSpec, roles: Mapping[str, str]) -> list[dict[str, Any]]:
    """Every HPA and PDB the roles ask for (the actuator deletes the Release's others of those kinds)."""
    out: list[dict[str, Any]] = []
    stable = next((s for s, r in roles.items() if r == "stable"), None)
    if spec.autoscaling is not None and stable is not None:
        out.append(autoscaler(release, namespace, spec, stable))
    return out + budgets(release, namespace, spec, roles)
