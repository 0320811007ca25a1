"""Rollback drills (``kubectl ripcord drill``): the rollback path exercised on a live Release.

A drill is a rollout of the stable's own template into the other slot, to the first step's
weight; the moment the data plane serves that weight it is rolled back, and the time from
that decision to the data plane serving the stable 100% again is recorded
(``history[].restoreSeconds``, outcome ``Drilled``). The version never changes, no
notification is sent and nothing stalls: it is the post-mortem's monthly drill, measured.
"""
from __future__ import annotations

from typing import Optional

from ripcord.api.models import AnalysisStatus, HistoryEntry, ReleaseSpec, RollbackReason, RolloutStatus, Workload
from ripcord.contract import other_slot
from ripcord.engine.context import Decision
from ripcord.engine.timefmt import iso


def refusal(d: Decision, spec: ReleaseSpec) -> Optional[str]:
    """Why a drill cannot start now, or None."""
    st = d.st
    if st.rollout is not None:
        return f"rollout {st.rollout.id} is in flight"
    if st.stable is None:
        return "nothing is installed yet"
    if spec.template is None:
        return "the Release has no spec.template (a workloadRef Release drills once its template is in the spec)"
    if d.obs.desired_hash != st.stable.template_hash:
        return "the template differs from the stable's: a rollout is due, not a drill"
    return None


def start_drill(d: Decision, spec: ReleaseSpec) -> None:
    st = d.st
    assert st.stable is not None
    rid = st.next_rollout_id
    st.next_rollout_id += 1
    slot = other_slot(st.stable.slot)
    st.canary = Workload(slot=slot, deployment="", version=st.stable.version, template_hash=st.stable.template_hash)
    st.rollout = RolloutStatus(id=rid, state="Progressing", step=0, weight=0, step_started_at=iso(d.now),
                               started_at=iso(d.now), drill=True)
    st.analysis = AnalysisStatus()
    d.record(HistoryEntry(id=rid, version=st.stable.version, template_hash=st.stable.template_hash,
                          outcome="Progressing", started_at=iso(d.now), drill=True))
    msg = (f"rollback drill {rid}: a canary of {st.stable.version}'s own template in slot {slot}, to "
           f"{spec.weights()[0]}%, then rolled back")
    d.timeline("DrillStarted", msg, 0)
    d.event("DrillStarted", msg)


def drill_step(d: Decision, spec: ReleaseSpec) -> bool:
    """Once the first step's weight is served, roll back; True when the rollback started."""
    from ripcord.engine.rollback import start_rollback
    ro = d.st.rollout
    assert ro is not None and ro.drill
    if ro.weight == 0 or ro.settled_at is None:
        return False
    start_rollback(d, spec, RollbackReason(kind="Drill", message=f"drill: rolled back at {ro.weight}% on purpose",
                                           weight=ro.weight, at=iso(d.now)))
    return True
