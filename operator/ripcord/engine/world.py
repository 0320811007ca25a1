"""The world a status implies: each slot's Deployment and the traffic intent.

Derived from the recorded status alone (plus the spec's templates), so an operator killed at
any point converges the cluster to the same place after a restart.
"""
from __future__ import annotations

from typing import Any, Mapping, Optional

from ripcord.api.models import ReleaseSpec, ReleaseStatus, Workload
from ripcord.contract import SLOTS, SlotIntent, TrafficIntent
from ripcord.engine.hooks import confirmed_rollout
from ripcord.engine.observed import Observed
from ripcord.engine.scaling import canary_size, stable_size


def slot_intents(st: ReleaseStatus, spec: ReleaseSpec, obs: Observed) -> list[SlotIntent]:
    """Each slot's Deployment as the status says it should be."""
    intents: dict[str, SlotIntent] = {}
    ro = st.rollout
    autoscaled = spec.autoscaling is not None  # the HPA sets the stable's replicas, never Ripcord
    if st.stable is not None:
        intents[st.stable.slot] = SlotIntent(st.stable.slot, stable_size(spec, obs, st.stable.slot),
                                             _template_for(st.stable, spec, obs), st.stable.template_hash,
                                             st.stable.version, keep_replicas=autoscaled)
    if st.canary is not None and ro is not None and st.stable is not None:
        if ro.state == "Promoting":
            n = stable_size(spec, obs, st.stable.slot)
        elif ro.state == "RollingBack":
            n = obs.slot(st.canary.slot).replicas
        elif ro.weight == 0 and ro.step == 0 and ro.mirror is None and not confirmed_rollout(st, spec):
            n = 0  # confirm-rollout hooks have not said yes: the canary is not scaled up yet (never once it serves)
        else:
            n = canary_size(spec, obs, st.stable.slot, max(ro.weight, spec.weights()[0]))
        template = spec.template if obs.desired_hash == st.canary.template_hash else None
        intents[st.canary.slot] = SlotIntent(st.canary.slot, n, template, st.canary.template_hash, st.canary.version)
    if st.previous is not None:
        intents[st.previous.slot] = SlotIntent(st.previous.slot, spec.replicas, None, None, None,
                                               keep_replicas=autoscaled)  # warm as it was when it last served
    for slot in SLOTS:
        if slot not in intents and st.stable is not None:
            intents[slot] = SlotIntent(slot, 0, None, None, None)
    return [intents[s] for s in sorted(intents)]


def _template_for(w: Workload, spec: ReleaseSpec, obs: Observed) -> Optional[Mapping[str, Any]]:
    if spec.template is not None and obs.desired_hash == w.template_hash:
        return spec.template
    if obs.adopt is not None and obs.adopt.template_hash == w.template_hash:
        return obs.adopt.template
    return None


def traffic_intent(st: ReleaseStatus) -> Optional[TrafficIntent]:
    if st.stable is None:
        return None
    ro = st.rollout
    if ro is not None and ro.state == "Watching" and st.previous is not None:
        # All traffic on the new stable; the previous stable is measured as the canary would be
        # (its share must read 0 before it is scaled down). The objects are the same as at rest.
        return TrafficIntent(stable_slot=st.stable.slot, canary_slot=st.previous.slot, weight=0)
    if ro is None or st.canary is None or ro.state == "Watching":
        return TrafficIntent(stable_slot=st.stable.slot, canary_slot=None, weight=0)
    mirror = ro.mirror if ro.state == "Progressing" and ro.mirror else 0
    return TrafficIntent(stable_slot=st.stable.slot, canary_slot=st.canary.slot, weight=ro.weight,
                         testers=ro.state in ("Progressing", "Promoting"), mirror=mirror)


def adopt_scale_down(st: ReleaseStatus, spec: ReleaseSpec, obs: Observed) -> Optional[str]:
    """workloadRef: the adopted Deployment goes to zero once the stable slot serves in its place."""
    if spec.workload_ref is None or st.stable is None or obs.adopt is None or not obs.adopt.exists:
        return None
    if obs.adopt.replicas == 0:
        return None
    return spec.workload_ref.name if obs.slot(st.stable.slot).ready >= stable_size(spec, obs, st.stable.slot) \
        else None


def slot_roles(st: ReleaseStatus) -> dict[str, str]:
    """Each slot's role (stable, canary, previous, idle): what its HPA and PodDisruptionBudget follow."""
    if st.stable is None:
        return {}
    roles = {s: "idle" for s in SLOTS}
    roles[st.stable.slot] = "stable"
    if st.canary is not None and st.rollout is not None:
        roles[st.canary.slot] = "canary"
    if st.previous is not None:
        roles[st.previous.slot] = "previous"
    return roles
