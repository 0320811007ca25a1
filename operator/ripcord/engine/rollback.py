"""Rolling back: traffic to the stable first; done only once the data plane serves the canary 0%."""
from __future__ import annotations

import datetime as dt
from typing import Optional

from ripcord.api import wording
from ripcord.api.models import MetricResult, ReleaseSpec, RollbackReason
from ripcord.engine.context import Decision
from ripcord.engine.timefmt import iso, parse_iso, rounded

OUTCOME_OF_REASON = {"Manual": "Aborted", "Reverted": "Superseded", "Drill": "Drilled"}


def swap_back(d: Decision, spec: ReleaseSpec, reason: RollbackReason) -> None:
    """A breach in the watch: the warm previous stable takes the traffic back at once."""
    st = d.st
    assert st.previous is not None
    st.canary, st.stable, st.previous = st.stable, st.previous, None
    st.watch_until = None
    start_rollback(d, spec, reason)


def start_rollback(d: Decision, spec: ReleaseSpec, reason: RollbackReason) -> None:
    st = d.st
    ro = st.rollout
    assert ro is not None
    if ro.state == "Watching" and st.previous is not None:
        swap_back(d, spec, reason)
        return
    ro.state, ro.reason = "RollingBack", reason
    ro.weight, ro.settled_at = 0, None
    verb = {"Manual": "Aborting", "Reverted": "Reverting", "Drill": "DrillRollingBack"}.get(reason.kind, "RollingBack")
    d.timeline(verb, reason.message, 0)
    d.event(verb, f"rollout {ro.id}: {reason.message}", warning=reason.kind not in ("Reverted", "Drill"))


def finish_rollback_when_drained(d: Decision) -> None:
    obs, st = d.obs, d.st
    ro, canary = st.rollout, st.canary
    assert ro is not None and ro.reason is not None
    ro.effective_weight = rounded(obs.effective_weight)
    if obs.effective_weight is None or obs.effective_weight > 0:
        return
    outcome = OUTCOME_OF_REASON.get(ro.reason.kind, "RolledBack")
    entry = d.current_entry()
    if entry is not None:
        entry.outcome, entry.ended_at, entry.reason = outcome, iso(d.now), ro.reason
    version = canary.version if canary else "?"
    if outcome == "Drilled":
        restored = round((d.now - parse_iso(ro.reason.at)).total_seconds(), 2)
        if entry is not None:
            entry.restore_seconds = restored
        msg = f"drill {ro.id}: the stable serves 100% again {restored:g}s after the rollback was decided"
        d.timeline("Drilled", msg, 0)
        d.event("Drilled", msg)
        st.rollout, st.canary = None, None  # a drill changes no outcome: nothing stalls, nobody is paged
        return
    msg = f"{version} {wording.outcome_words(outcome)}: the data plane serves the canary 0%"
    d.timeline(outcome, msg, 0)
    d.event(outcome, f"rollout {ro.id}: {msg}; reason: {ro.reason.message}", warning=outcome != "Superseded")
    if outcome != "Superseded":
        d.notify("rollback", ro.id, f"{version} {wording.outcome_words(outcome)}: {ro.reason.message}")
        st.stalled_template_hash = canary.template_hash if canary else None
    st.last_outcome = outcome
    st.rollout, st.canary = None, None


def metric_reason(m: Optional[MetricResult], spec: ReleaseSpec, weight: int, now: dt.datetime,
                  watching: bool) -> RollbackReason:
    """The reason of a metric's Fail, in one voice with the CLI and notifications (``ripcord.api.wording``)."""
    kind = "PostPromotionWatch" if watching else "Metric"
    if m is None:
        return RollbackReason(kind=kind, message="analysis failed", weight=weight, at=iso(now))
    metric = next((x for x in spec.analysis.metrics if x.name == m.name), None)
    msg = wording.breach(m.name, m.value, m.bound, metric.type if metric else None,
                         judge=metric.judge if metric else None, last_interval=m.message or None)
    return RollbackReason(kind=kind, message=msg, metric=m.name, value=m.value, bound=m.bound,
                          weight=weight, at=iso(now))
