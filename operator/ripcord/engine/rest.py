"""A Release with no rollout in flight: the first release, and what starts a rollout."""
from __future__ import annotations

from ripcord.api.conditions import holds, set_condition
from ripcord.api.models import AnalysisStatus, HistoryEntry, ReleaseSpec, RolloutStatus, TimelineEntry, Workload
from ripcord.contract import other_slot
from ripcord.engine.context import Decision
from ripcord.engine.timefmt import iso


def first_release(d: Decision, spec: ReleaseSpec) -> None:
    obs, st = d.obs, d.st
    if spec.workload_ref is not None and (obs.adopt is None or not obs.adopt.exists):
        st.phase, st.message = "Initializing", f"waiting for Deployment {spec.workload_ref.name} to adopt"
        return
    thash = obs.adopt.template_hash if spec.workload_ref is not None and obs.adopt else obs.desired_hash
    if thash is None:
        return
    if obs.template_error and spec.workload_ref is None:
        invalid_template(d)
        return
    rid = st.next_rollout_id
    st.next_rollout_id += 1
    st.stable = Workload(slot="a", deployment="", version=spec.version, template_hash=thash)
    how = "installed as the first stable" + (f", adopting Deployment {spec.workload_ref.name}"
                                              if spec.workload_ref else "")
    d.record(HistoryEntry(id=rid, version=spec.version, template_hash=thash, outcome="Installed",
                          started_at=iso(d.now), ended_at=iso(d.now), weight_reached=100,
                          timeline=[TimelineEntry(at=iso(d.now), event="Installed", message=how, weight=100)]))
    st.last_outcome = "Installed"
    d.event("Installed", f"{spec.version} {how}")


def at_rest(d: Decision, spec: ReleaseSpec) -> None:
    obs, st = d.obs, d.st
    assert st.stable is not None
    desired = obs.desired_hash if spec.template is not None else st.stable.template_hash
    if desired is None or desired == st.stable.template_hash:
        if st.stalled_template_hash and desired == st.stable.template_hash:
            st.stalled_template_hash = None
        if st.stable.version != spec.version and desired == st.stable.template_hash:
            st.stable.version = spec.version  # a label-only edit relabels, it does not roll out
        return
    if desired == st.stalled_template_hash:
        return
    if obs.template_error:
        invalid_template(d)
        return
    start_rollout(d, spec, desired)


def invalid_template(d: Decision) -> None:
    msg = f"the pod template was refused: {d.obs.template_error}"
    known = holds(d.obs.status.conditions, "Stalled", "True", msg)
    set_condition(d.st.conditions, "Stalled", "True", "InvalidSpec", msg, d.now, d.obs.generation)
    if not known:
        d.event("InvalidSpec", msg, warning=True)


def start_rollout(d: Decision, spec: ReleaseSpec, thash: str) -> None:
    st = d.st
    assert st.stable is not None
    rid = st.next_rollout_id
    st.next_rollout_id += 1
    slot = other_slot(st.stable.slot)
    st.stalled_template_hash = None  # the template changed: whatever was rolled back no longer stalls
    st.canary = Workload(slot=slot, deployment="", version=spec.version, template_hash=thash)
    st.rollout = RolloutStatus(id=rid, state="Progressing", step=0, weight=0, step_started_at=iso(d.now),
                               started_at=iso(d.now))
    pre = d.obs.preflight
    st.analysis = AnalysisStatus(preflight=(pre.detail or pre.message) if pre else None)
    d.record(HistoryEntry(id=rid, version=spec.version, template_hash=thash, outcome="Progressing",
                          started_at=iso(d.now)))
    msg = f"rollout {rid}: {st.stable.version} -> {spec.version} in slot {slot}, steps {spec.weights()}"
    d.timeline("Started", msg, 0)
    d.event("RolloutStarted", msg)
    d.notify("pre-rollout", rid, msg)
    if pre is not None and pre.feasible is False:
        warning = f"rollout {rid}: the judge cannot decide in time: {pre.message}" + (
            f"; fix: {pre.fix}" if pre.fix else "")
        d.timeline("PreflightInfeasible", warning, 0)
        d.event("PreflightInfeasible", warning, warning=True)
