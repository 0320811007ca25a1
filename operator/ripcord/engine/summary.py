"""The status's summary for readers: phase, message, and the conditions kstatus, Argo CD and people read.

Derived from the status the transitions built and what was observed; decides nothing.
"""
from __future__ import annotations

from typing import Optional

from ripcord.api import wording
from ripcord.api.conditions import set_condition
from ripcord.api.models import ReleaseSpec, ReleaseStatus, parse_duration
from ripcord.contract import deployment_name
from ripcord.engine import gating
from ripcord.engine.context import Decision
from ripcord.engine.rollout import canary_unhealthy, paused
from ripcord.engine.scaling import stable_size
from ripcord.engine.timefmt import parse_iso, short

# Conditions that only mean something while a rollout is in flight: dropped at rest.
ROLLOUT_CONDITIONS = ("JudgeFeasible", "CanaryUnhealthy")


def summarise(d: Decision, spec: ReleaseSpec) -> None:
    st, obs, now, gen = d.st, d.obs, d.now, d.obs.generation
    ro = st.rollout
    stable_ready = st.stable is not None and obs.slot(st.stable.slot).ready >= stable_size(spec, obs, st.stable.slot)
    st.weight = ro.weight if ro and ro.state != "Watching" else 0
    st.effective_weight = round(obs.effective_weight, 2) if ro and obs.effective_weight is not None else None
    for w in (st.stable, st.canary, st.previous):
        if w is not None:
            w.deployment = deployment_name(obs.name, w.slot)
    stalled_here = (st.rollout is None and st.stalled_template_hash is not None
                    and obs.desired_hash == st.stalled_template_hash)
    template_refused = any(c.type == "Stalled" and c.status == "True" and c.reason == "InvalidSpec"
                           for c in st.conditions) and bool(obs.template_error)

    if template_refused:
        phase, msg = "InvalidSpec", f"the pod template was refused: {obs.template_error}"
        ready, reconciling, stalled = ("False", "InvalidSpec"), ("False", "InvalidSpec"), ("True", "InvalidSpec")
    elif ro is None and st.stable is None:
        phase, msg = "Initializing", st.message or "waiting"
        ready, reconciling, stalled = ("Unknown", "Initializing"), ("True", "Initializing"), ("False", "Initializing")
    elif ro is None:
        if stalled_here:
            last = st.history[0] if st.history else None
            why = last.reason.message if last and last.reason else "rolled back"
            phase = "RolledBack" if st.last_outcome != "Aborted" else "Aborted"
            words = "rolled back" if phase == "RolledBack" else "aborted"
            msg = f"{last.version if last else '?'} {words} ({why}); {st.stable.version if st.stable else '?'} serves. " \
                  f"Change the template or retry."
            ready, reconciling, stalled = ("False", phase), ("False", phase), ("True", phase)
        elif stable_ready:
            phase, msg = "Stable", f"{st.stable.version if st.stable else '?'} serves all traffic"
            ready, reconciling, stalled = ("True", "Stable"), ("False", "Stable"), ("False", "Stable")
        else:
            phase, msg = "Initializing", f"waiting for {spec.replicas} ready pods of {st.stable.version if st.stable else '?'}"
            ready, reconciling, stalled = ("Unknown", "Initializing"), ("True", "Initializing"), ("False", "Initializing")
    else:
        if ro.state == "Progressing":
            if ro.held:
                phase, reason = "Holding", "NoVerdict"
            elif paused(d, spec):
                phase, reason = "Paused", "Paused"
            else:
                phase, reason = "Progressing", "Progressing"
            msg = f"rollout {ro.id}: step {ro.step + 1}/{len(spec.weights())}, canary {st.canary.version if st.canary else '?'} at " \
                  f"{ro.weight}% (effective {short(obs.effective_weight)}%)"
            if phase == "Progressing" and (gated := gating.summary(d, spec)) is not None:
                phase, reason, msg = gated  # a gate, a hook, a pause step or the approval holds it
        else:
            phase = reason = ro.state
            msg = f"rollout {ro.id}: {ro.state}" + (f" ({ro.reason.message})" if ro.reason else "")
        ready, reconciling, stalled = ("Unknown", reason), ("True", reason), ("False", reason)
    st.phase, st.message = phase, msg
    set_condition(st.conditions, "Ready", ready[0], ready[1], msg, now, gen)
    set_condition(st.conditions, "Reconciling", reconciling[0], reconciling[1], msg if reconciling[0] == "True" else "",
                  now, gen)
    set_condition(st.conditions, "Stalled", stalled[0], stalled[1], msg if stalled[0] == "True" else "", now, gen)
    an = st.analysis
    if an is not None and an.unavailable_since and ro is not None:
        set_condition(st.conditions, "MetricsUnavailable", "True", "QueryFailed",
                      f"since {an.unavailable_since}; weight held", now, gen)
    else:
        set_condition(st.conditions, "MetricsUnavailable", "False", "MetricsAvailable", "", now, gen)
    if ro is not None and ro.held:
        set_condition(st.conditions, "NoVerdict", "True", "MaxDurationReached",
                      f"no verdict by {spec.analysis.max_duration}; holding", now, gen)
    else:
        set_condition(st.conditions, "NoVerdict", "False", "NotHeld", "", now, gen)
    _weight_condition(d, spec)
    _served_condition(d, spec)
    _rollout_conditions(d)
    _display(d, spec, phase)


ACTIVITY_MAX = 28
LAST_MAX = 40


def _display(d: Decision, spec: ReleaseSpec, phase: str) -> None:
    """The printer columns' words: what is happening, how the last rollout ended (short)."""
    st = d.st
    ro, canary = st.rollout, st.canary
    st.canary_weight = ro.weight if ro is not None and canary is not None and ro.state != "Watching" else None
    activity: Optional[str] = None
    if phase == "InvalidSpec":
        activity = "invalid spec"
    elif phase == "Initializing":
        activity = f"installing {spec.version}"
    elif phase in ("RolledBack", "Aborted"):
        activity = "stalled: retry or change"
    elif ro is not None:
        shown = canary or st.stable
        version = shown.version if shown is not None else "?"
        activity = {"Promoting": f"promoting {version}", "Watching": f"watching {version}",
                    "RollingBack": f"rolling back {version}"}.get(ro.state)
        if activity is None:
            held = " held" if ro.held else {"Paused": " paused", "AwaitingApproval": " needs approval",
                                            "Waiting": " waiting on hook"}.get(phase, "")
            unhealthy = " unhealthy" if any(c.type == "CanaryUnhealthy" and c.status == "True"
                                            for c in st.conditions) else ""
            activity = f"{version} at {ro.weight}%{held or unhealthy}"
    st.activity = activity[:ACTIVITY_MAX] if activity else None
    st.last = _last(st, spec)


def _last(st: ReleaseStatus, spec: ReleaseSpec) -> Optional[str]:
    entry = next((h for h in st.history if h.outcome != "Progressing"), None)
    if entry is None:
        return None
    text = f"{wording.outcome_words(entry.outcome)} {entry.version}"
    r = entry.reason
    if r is not None and entry.outcome in ("RolledBack", "Aborted", "Failed"):
        why = {"PodHealth": r.metric or "pod health", "MetricsUnavailable": "no metrics",
               "Manual": "by hand"}.get(r.kind)
        if why is None and r.metric:
            kind = next((m.type for m in spec.analysis.metrics if m.name == r.metric), None)
            why = r.metric + (f" {wording.metric_value(r.value, kind)}" if r.value is not None else "")
        if r.kind == "PostPromotionWatch":
            why = f"{why or r.metric or 'watch'} after promotion"
        text += f": {why}" if why else ""
    return text if len(text) <= LAST_MAX else text[:LAST_MAX - 1] + "…"


def _rollout_conditions(d: Decision) -> None:
    """JudgeFeasible (the pre-flight) and CanaryUnhealthy (exposure held): only while a rollout runs."""
    st, obs, now, gen = d.st, d.obs, d.now, d.obs.generation
    ro = st.rollout
    if ro is None or ro.state not in ("Progressing", "Promoting"):
        st.conditions = [c for c in st.conditions if c.type not in ROLLOUT_CONDITIONS]
        return
    pre = obs.preflight  # observed once, when the rollout starts; the condition then stays until it ends
    if pre is not None:
        status, reason = ("True", "Feasible") if pre.feasible is True else \
            ("False", "CannotDecideInTime") if pre.feasible is False else ("Unknown", "NotKnown")
        message = pre.message + (f"; fix: {pre.fix}" if pre.fix else "")
        set_condition(st.conditions, "JudgeFeasible", status, reason, message, now, gen)
    why = canary_unhealthy(d) if ro.state == "Progressing" and ro.weight > 0 else None
    if why is not None:
        set_condition(st.conditions, "CanaryUnhealthy", "True", "ExposureHeld",
                      f"holding at {ro.weight}%: {why}", now, gen)
    else:
        set_condition(st.conditions, "CanaryUnhealthy", "False", "CanaryHealthy", "", now, gen)


def _served_condition(d: Decision, spec: ReleaseSpec) -> None:
    """Warn when the data plane does not serve the asked weight in time (e.g. a route never accepted)."""
    st, obs = d.st, d.obs
    ro = st.rollout
    late = (ro is not None and ro.state == "Progressing" and ro.weight > 0 and ro.settled_at is None
            and (d.now - parse_iso(ro.step_started_at)).total_seconds()
            > parse_duration(spec.analysis.pod_health.ready_deadline))
    if late:
        assert ro is not None
        msg = (f"the data plane has not served {ro.weight}% since {ro.step_started_at} (it serves "
               f"{short(obs.effective_weight)}%); check the {spec.traffic.provider} provider"
               + (" (is the HTTPRoute accepted by the Gateway?)" if spec.traffic.provider == "gateway-api" else ""))
        was = next((c for c in obs.status.conditions if c.type == "TrafficNotServed"), None)
        if was is None or was.status != "True":
            d.event("TrafficNotServed", msg, warning=True)
        set_condition(st.conditions, "TrafficNotServed", "True", "WeightNotServed", msg, d.now, obs.generation)
    else:
        set_condition(st.conditions, "TrafficNotServed", "False", "WeightServed", "", d.now, obs.generation)


def _weight_condition(d: Decision, spec: ReleaseSpec) -> None:
    st, obs = d.st, d.obs
    ro = st.rollout
    eff = obs.effective_weight
    if ro is not None and ro.state == "Progressing" and ro.weight > 0 and eff is not None \
            and eff - ro.weight > spec.traffic.max_weight_drift:
        set_condition(st.conditions, "WeightQuantised", "True", "FewReplicas",
                      f"asked {ro.weight}%, the data plane serves {short(eff)}% (replicas provider: one canary pod "
                      f"beside {spec.replicas} stable pods); use more replicas or the gateway-api provider",
                      d.now, obs.generation)
    else:
        set_condition(st.conditions, "WeightQuantised", "False", "WeightAsAsked", "", d.now, obs.generation)

