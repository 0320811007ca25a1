"""A rollout in flight: steps, verdicts, promotion, supersede. Rollback and the watch live beside it."""
from __future__ import annotations

import datetime as dt
from typing import Optional

from ripcord.api.models import AnalysisStatus, ReleaseSpec, RollbackReason, parse_duration
from ripcord.engine import holds, pretraffic
from ripcord.engine.context import Decision
from ripcord.engine.drill import drill_step
from ripcord.engine.observed import AnalysisResult
from ripcord.engine.rest import at_rest, invalid_template, start_rollout
from ripcord.engine.rollback import finish_rollback_when_drained, metric_reason, start_rollback
from ripcord.engine.scaling import stable_size
from ripcord.engine.timefmt import iso, parse_iso, rounded, short
from ripcord.engine.watch import watch
from ripcord.traffic import provider_for


def step_rollout(d: Decision, spec: ReleaseSpec) -> None:
    obs, st = d.obs, d.st
    ro = st.rollout
    assert ro is not None and st.stable is not None
    desired = obs.desired_hash if spec.template is not None else None

    if ro.state == "RollingBack":
        # The effective weight was read for the traffic the *recorded* status asks for. A rollback
        # decided in this very decision (an abort request) has not reached the data plane yet, and
        # after a swap back from the watch the canary slot is not the one that was measured.
        was = obs.status.rollout
        if was is not None and was.id == ro.id and was.state == "RollingBack":
            finish_rollback_when_drained(d)
        if st.rollout is None:
            at_rest(d, spec)
        return

    if ro.state == "Watching":
        watch(d, spec, desired)
        return

    assert st.canary is not None
    refused = False
    if desired is not None and desired != st.canary.template_hash:
        if desired == st.stable.template_hash:
            start_rollback(d, spec, RollbackReason(kind="Reverted", message="template set back to the stable's",
                                                   weight=ro.weight, at=iso(d.now)))
            return
        if not obs.template_error:
            supersede(d, spec, desired)
            return
        # The new template is refused: supersede nothing, hold the running canary where it is
        # (a breach or an abort still rolls it back) until the template is fixed or set back.
        invalid_template(d)
        refused = True
    elif st.canary.version != spec.version:
        st.canary.version = spec.version
        if (entry := d.current_entry()) is not None:
            entry.version = spec.version

    if obs.health_breach is not None:
        b = obs.health_breach
        start_rollback(d, spec, RollbackReason(kind="PodHealth", message=f"{b.gate}: {b.message}",
                                               metric=b.gate, weight=ro.weight, at=iso(d.now)))
        return
    if refused:
        return

    if ro.state == "Promoting":
        promote_when_full(d, spec)
        return

    progress(d, spec)


def supersede(d: Decision, spec: ReleaseSpec, desired: str) -> None:
    st = d.st
    assert st.rollout is not None and st.canary is not None
    entry = d.current_entry()
    why = f"a new template (rollout {st.next_rollout_id}, {spec.version}) replaced it at {st.rollout.weight}%"
    d.timeline("Superseded", why, st.rollout.weight)
    if entry is not None:
        entry.outcome, entry.ended_at = "Superseded", iso(d.now)
        entry.reason = RollbackReason(kind="Superseded", message=why, weight=st.rollout.weight, at=iso(d.now))
    d.event("Superseded", f"rollout {st.rollout.id} ({st.canary.version}) {why}")
    st.last_outcome = "Superseded"
    st.rollout, st.canary = None, None
    start_rollout(d, spec, desired)


def paused(d: Decision, spec: ReleaseSpec) -> bool:
    ro = d.st.rollout
    return spec.paused or (ro is not None and ro.paused)


def restarted_in_step(d: Decision) -> Optional[str]:
    """A canary container that restarted since the step began (a container new since then counts from 0)."""
    ro = d.st.rollout
    assert ro is not None
    for container, n in sorted(d.obs.health.restarts.items()):
        more = n - ro.restarts_at_step.get(container, 0)
        if more > 0:
            pod, _, name = container.partition("/")
            return f"pod {pod}: container {name} restarted {more} time{'s' if more != 1 else ''} in this step"
    return None


def canary_unhealthy(d: Decision) -> Optional[str]:
    """Why exposure must not grow now: a canary pod restarted in this step, or is not Ready."""
    health = d.obs.health
    if health.not_ready:
        pods = ", ".join(health.not_ready[:3]) + (" ..." if len(health.not_ready) > 3 else "")
        return f"canary pod{'s' if len(health.not_ready) > 1 else ''} {pods} not ready"
    return restarted_in_step(d)


def progress(d: Decision, spec: ReleaseSpec) -> None:
    obs, st = d.obs, d.st
    ro, canary = st.rollout, st.canary
    assert ro is not None and canary is not None
    provider = provider_for(spec.traffic.provider)
    weights = spec.weights()
    canary_ready = obs.slot(canary.slot).ready
    ro.effective_weight = rounded(obs.effective_weight)
    unhealthy = canary_unhealthy(d)

    if ro.promote_requested and unhealthy is None and pretraffic.checked(d, spec) \
            and holds.promotion_confirmed(d, spec):
        start_promotion(d, spec, "promotion asked by request")
        return

    # Step 0 starts at weight 0 until the canary's pods are up and through the pre-traffic checks
    # (engine/pretraffic.py: gate, hooks, mirror phase, pause); then the first weight.
    if ro.weight == 0 and ro.step == 0 and ro.mirror is None:
        if pretraffic.scaled_up(d, spec) and canary_ready >= provider.canary_replicas(spec, weights[0]) \
                and not paused(d, spec) and unhealthy is None and pretraffic.cleared_for_traffic(d, spec):
            set_step(d, 0, weights[0])
        return

    if ro.settled_at is None:
        if provider.settled(spec, ro.weight, obs.effective_weight, canary_ready) \
                and (ro.mirror is None or pretraffic.mirror_served(d)):
            ro.settled_at = iso(d.now)
            st.analysis = st.analysis or AnalysisStatus()
            start = d.now.timestamp()
            st.analysis.since = st.analysis.since or start
            st.analysis.last_sample_at = start
            # analysis.step moves only with a verdict taken at this step (fold_analysis): a step
            # never passes on the verdict of the step before it.
            d.timeline("WeightServed", f"data plane serves {short(obs.effective_weight)}% (asked {ro.weight}%)",
                       ro.weight)
        return

    if ro.drill:
        drill_step(d, spec)
        return
    result = obs.analysis
    if result is not None and fold_analysis(d, spec, result):
        return  # rolled back

    if (restarted := restarted_in_step(d)) is not None:
        # A restart in this step starts the step over: it must again run its full duration, with a
        # fresh verdict, before exposure may grow (the pod-health gates still roll back beyond maxRestarts).
        ro.restarts_at_step = dict(obs.health.restarts)
        ro.settled_at = iso(d.now)
        if st.analysis is not None:
            st.analysis.step = None
        msg = f"{restarted}: step {ro.step + 1} starts over at {ro.weight}%"
        d.timeline("StepRestarted", msg, ro.weight)
        d.event("StepRestarted", f"rollout {ro.id}: {msg}", warning=True)
        return

    if spec.analysis.pod_health_only:
        judged_now(d, spec)
    elapsed = (d.now - parse_iso(ro.settled_at)).total_seconds()
    verdict = st.analysis.verdict if st.analysis else None
    analysed_this_step = st.analysis is not None and st.analysis.step == ro.step and verdict is not None
    last = ro.step >= len(weights) - 1
    step_s = pretraffic.mirror_seconds(spec) if ro.mirror is not None else parse_duration(spec.analysis.step_duration)
    if elapsed < step_s or not analysed_this_step:
        return
    if verdict in ("Fail", "Unavailable") or unhealthy is not None:
        return
    if ro.mirror is not None:
        pretraffic.end_mirror(d, spec)
        return
    if not last:
        if not paused(d, spec) and not holds.held_before_step(d, spec, ro.step + 1):
            set_step(d, ro.step + 1, weights[ro.step + 1])
        return
    if verdict == "Pass" and not paused(d, spec):
        if not holds.held_before_promotion(d, spec):
            start_promotion(d, spec, _basis(spec))
        return
    started = parse_iso(ro.started_at)
    if not ro.held and (d.now - started).total_seconds() > parse_duration(spec.analysis.max_duration):
        ro.held = True
        msg = (f"no verdict after {spec.analysis.max_duration}: holding at {ro.weight}%, never promoting "
               f"without evidence; promote or abort by hand")
        d.timeline("NoVerdict", msg, ro.weight)
        d.event("NoVerdict", msg, warning=True)
        d.notify("stall", ro.id, msg)


def _basis(spec: ReleaseSpec) -> str:
    """What a promotion rests on, in words."""
    if spec.analysis.pod_health_only:
        return "pod health only (analysis.podHealthOnly: no metric judged the canary)"
    names = ", ".join(m.name for m in spec.analysis.metrics)
    return f"every metric passed ({names}) and the canary pods stayed healthy"


def judged_now(d: Decision, spec: ReleaseSpec) -> None:
    """podHealthOnly: the step's verdict is its pods' health, taken without any metric."""
    ro = d.st.rollout
    assert ro is not None
    an = d.st.analysis or AnalysisStatus()
    d.st.analysis = an
    if an.step != ro.step or an.verdict != "Pass":
        an.at, an.verdict, an.step, an.metrics = iso(d.now), "Pass", ro.step, []


def set_step(d: Decision, step: int, weight: int) -> None:
    ro = d.st.rollout
    assert ro is not None
    ro.step, ro.weight = step, weight
    ro.step_started_at, ro.settled_at = iso(d.now), None
    ro.restarts_at_step = dict(d.obs.health.restarts)
    entry = d.current_entry()
    if entry is not None:
        entry.step_reached, entry.weight_reached = step + 1, max(entry.weight_reached, weight)
    d.timeline("StepStarted", f"step {step + 1}: canary weight {weight}%", weight)
    d.event("StepStarted", f"rollout {ro.id}: step {step + 1}, canary weight {weight}%")


def fold_analysis(d: Decision, spec: ReleaseSpec, result: AnalysisResult) -> bool:
    """Record an analysis; start a rollback when it says so. True when a rollback started."""
    st = d.st
    ro = st.rollout
    assert ro is not None
    an = st.analysis or AnalysisStatus()
    st.analysis = an
    an.at, an.verdict, an.step = iso(d.now), result.verdict, ro.step
    an.attempted_at = d.now.timestamp()  # a hung Prometheus is asked once per interval, not on every tick
    an.metrics = list(result.metrics) or an.metrics
    if result.verdict == "Unavailable":
        an.unavailable_since = an.unavailable_since or iso(d.now)
        outage = (d.now - parse_iso(an.unavailable_since)).total_seconds()
        if outage >= parse_duration(spec.analysis.metrics_unavailable_limit):
            start_rollback(d, spec, RollbackReason(
                kind="MetricsUnavailable", message=f"metrics unavailable for {outage:.0f}s: {result.error}",
                weight=ro.weight, at=iso(d.now)))
            return True
        return False
    an.unavailable_since = None
    an.judge_state = dict(result.judge_state)
    an.failed_checks = result.failed_checks
    an.last_sample_at = result.until if result.until is not None else d.now.timestamp()
    if result.verdict == "Fail":
        failing = result.failing or next((m for m in result.metrics if m.verdict == "Fail"), None)
        reason = metric_reason(failing, spec, ro.weight, d.now, ro.state == "Watching")
        if ro.mirror is not None:
            reason.message += f" on {ro.mirror}% mirrored requests (weight 0)"
        start_rollback(d, spec, reason)
        return True
    return False


def start_promotion(d: Decision, spec: ReleaseSpec, why: str) -> None:
    ro = d.st.rollout
    assert ro is not None
    ro.state = "Promoting"
    assert d.st.stable is not None
    d.timeline("Promoting", f"{why}: bringing the canary to {stable_size(spec, d.obs, d.st.stable.slot)} pods",
               ro.weight)
    d.event("Promoting", f"rollout {ro.id}: {why}")


def promote_when_full(d: Decision, spec: ReleaseSpec) -> None:
    st = d.st
    ro, canary, stable = st.rollout, st.canary, st.stable
    assert ro is not None and canary is not None and stable is not None
    if d.obs.slot(canary.slot).ready < stable_size(spec, d.obs, stable.slot):
        return
    st.previous, st.stable, st.canary = stable, canary, None
    ro.state, ro.weight = "Watching", 100
    ro.settled_at = iso(d.now)
    watch_s = parse_duration(spec.analysis.post_promotion_watch)
    st.watch_until = iso(d.now + dt.timedelta(seconds=watch_s))
    st.analysis = AnalysisStatus(since=d.now.timestamp(), last_sample_at=d.now.timestamp(), step=ro.step)
    entry = d.current_entry()
    if entry is not None:
        entry.weight_reached = 100
    msg = f"{canary.version} takes all traffic; {stable.version} kept warm for {spec.analysis.post_promotion_watch}"
    d.timeline("Switched", msg, 100)
    d.event("Switched", f"rollout {ro.id}: {msg}")
