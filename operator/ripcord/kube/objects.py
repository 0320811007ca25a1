"""The Deployment a slot intent stands for (pure): the actuator writes it, the template check dry-runs it.

Services and routes are built by the traffic providers; this is the workload's half.
"""
from __future__ import annotations

import copy
from typing import Any, Mapping

from ripcord.contract import (HASH_ANNOTATION, RELEASE_LABEL, SLOT_LABEL, VERSION_ANNOTATION, SlotIntent,
                              deployment_name, release_labels, slot_selector)

# Labels a GitOps tool uses to track the objects it applied: a Deployment Ripcord generates
# must not carry them, or the tool would prune it as its own.
TRACKING_LABELS = ("app.kubernetes.io/instance",)
TRACKING_LABEL_PREFIXES = ("kustomize.toolkit.fluxcd.io/",)


def pod_template(release: str, intent: SlotIntent) -> dict[str, Any]:
    assert intent.template is not None
    template = copy.deepcopy(dict(intent.template))
    meta = template.setdefault("metadata", {})
    labels = {k: v for k, v in (meta.get("labels") or {}).items()
              if k not in TRACKING_LABELS and not k.startswith(TRACKING_LABEL_PREFIXES)}
    labels.update(slot_selector(release, intent.slot))
    meta["labels"] = labels
    meta["annotations"] = {**(meta.get("annotations") or {}), HASH_ANNOTATION: intent.template_hash or ""}
    return template


def deployment_body(namespace: str, release: str, intent: SlotIntent, owner: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": deployment_name(release, intent.slot), "namespace": namespace,
                     "labels": {**release_labels(release), RELEASE_LABEL: release, SLOT_LABEL: intent.slot},
                     "annotations": {HASH_ANNOTATION: intent.template_hash or "",
                                     VERSION_ANNOTATION: intent.version or ""},
                     "ownerReferences": [dict(owner)]},
        "spec": {"replicas": intent.replicas, "selector": {"matchLabels": slot_selector(release, intent.slot)},
                 "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 0}},
                 "template": pod_template(release, intent)},
    }
