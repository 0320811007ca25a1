"""The decision core: observed state in, a plan out. No I/O.

It reconciles in one fixed order (like Argo Rollouts' rollout/context.go) and returns
the whole new status, which the edge writes *before* it acts; the world to converge to
is derived from that status alone, so an operator killed at any point resumes exactly.

Transition table (``status.rollout.state``; "rest" means no rollout)::

  from          on                                           to            records
  ------------  -------------------------------------------  ------------  ---------------------------
  (no stable)   spec valid                                   rest          history: Promoted (first release)
  rest          template hash != stable, != stalled          Progressing   history: Progressing, Event
  rest          template hash == stalled hash                rest          Stalled=True (stays rolled back)
  rest          retry request                                rest          stalled hash cleared
  Progressing   canary ready and data plane at the weight    Progressing   settledAt (step clock starts)
  Progressing   pod-health gate breached                     RollingBack   reason PodHealth
  Progressing   analysis Fail                                RollingBack   reason Metric (value, bound, weight)
  Progressing   metrics unavailable beyond the limit         RollingBack   reason MetricsUnavailable
  Progressing   abort request                                RollingBack   reason Manual -> Aborted
  Progressing   template back to the stable's                RollingBack   reason Reverted -> Superseded
  Progressing   template changed again                       Progressing   old entry Superseded, new rollout
  Progressing   template changed, refused by the API server  Progressing   held, InvalidSpec (nothing superseded)
  Progressing   step time and a verdict taken at this step,  Progressing   next step's weight
                no Fail/Unavailable, not paused
  Progressing   last step, every metric Pass (or promote)    Promoting     canary scaled to full size
  Progressing   no verdict by maxDuration                    Progressing   held: NoVerdict, never promotes
  Promoting     canary at full size                          Watching      stable <-> canary swap, all traffic
  Watching      breach (pod health, analysis Fail, abort)    RollingBack   traffic straight to warm previous
  Watching      watch over / template changed, and the data  rest          history: Promoted, previous -> 0
                plane sends the previous stable nothing
  RollingBack   data plane shows canary weight 0 (read for   rest          history: RolledBack/Aborted/Superseded
                the RollingBack status already recorded)
"""
from __future__ import annotations

import datetime as dt
from typing import Optional

from ripcord.api.conditions import set_condition
from ripcord.api.models import (AnalysisStatus, HistoryEntry, MetricResult, ReleaseSpec, ReleaseStatus,
                                RollbackReason, RolloutStatus, TimelineEntry, Workload, parse_duration)
from ripcord.engine.observed import AnalysisResult, Observed
from ripcord.engine.plan import EventIntent, Notification, Plan, SlotIntent, TrafficIntent
from ripcord.traffic import provider_for
from ripcord.traffic.base import deployment_name, other_slot

HISTORY_LIMIT = 20
TIMELINE_LIMIT = 60
OUTCOME_OF_REASON = {"Manual": "Aborted", "Reverted": "Superseded"}


def iso(t: dt.datetime) -> str:
    return t.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")[:-4] + "Z"


def parse_iso(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


class _Ctx:
    """Mutable scratch for one decision: the status being built and what to tell the world."""

    def __init__(self, obs: Observed) -> None:
        self.obs = obs
        self.now = obs.now
        self.st = obs.status.model_copy(deep=True)
        self.events: list[EventIntent] = []
        self.notes: list[Notification] = []

    def event(self, reason: str, message: str, warning: bool = False) -> None:
        self.events.append(EventIntent("Warning" if warning else "Normal", reason, message))

    def timeline(self, event: str, message: str = "", weight: Optional[int] = None) -> None:
        entry = self.current_entry()
        if entry is not None:
            entry.timeline.append(TimelineEntry(at=iso(self.now), event=event, weight=weight, message=message))
            del entry.timeline[:-TIMELINE_LIMIT]

    def current_entry(self) -> Optional[HistoryEntry]:
        rid = self.st.rollout.id if self.st.rollout else None
        for entry in self.st.history:
            if entry.id == rid:
                return entry
        return None


# ------------------------------------------------------------------ entry point

def decide(obs: Observed) -> Plan:
    ctx = _Ctx(obs)
    st = ctx.st
    if obs.spec is None or obs.spec_error:
        return _invalid(ctx, obs.spec_error or "spec is missing", obs.spec_error_reason)
    spec = obs.spec
    _clear_invalid(ctx)
    _handle_requests(ctx, spec)

    if st.stable is None:
        _first_release(ctx, spec)
    elif st.rollout is None:
        _at_rest(ctx, spec)
    else:
        _step_rollout(ctx, spec)

    _summarise(ctx, spec)
    st.observed_generation = obs.generation
    return Plan(status=st, slots=tuple(world(st, spec, obs)), traffic=traffic_intent(st),
                events=tuple(ctx.events), notifications=tuple(ctx.notes),
                adopt_scale_down=_adopt_scale_down(st, spec, obs))


# ------------------------------------------------------------------ invalid spec

def _invalid(ctx: _Ctx, message: str, reason: str) -> Plan:
    st = ctx.st
    was = next((c for c in st.conditions if c.type == "Stalled" and c.reason == reason and c.message == message), None)
    set_condition(st.conditions, "Stalled", "True", reason, message, ctx.now, ctx.obs.generation)
    set_condition(st.conditions, "Ready", "False", reason, message, ctx.now, ctx.obs.generation)
    set_condition(st.conditions, "Reconciling", "False", reason, "", ctx.now, ctx.obs.generation)
    st.phase, st.message = "InvalidSpec", message
    st.observed_generation = ctx.obs.generation
    if was is None:
        ctx.event(reason, message, warning=True)
    return Plan(status=st, events=tuple(ctx.events), act=False)


def _clear_invalid(ctx: _Ctx) -> None:
    if ctx.obs.template_error:
        return  # still refused: keep the condition (and its transition time) as it is
    for cond in ctx.st.conditions:
        if cond.type == "Stalled" and cond.reason in ("InvalidSpec", "PrometheusNotAllowed") and cond.status == "True":
            set_condition(ctx.st.conditions, "Stalled", "False", "SpecValid", "", ctx.now, ctx.obs.generation)


# ------------------------------------------------------------------ manual requests

def _handle_requests(ctx: _Ctx, spec: ReleaseSpec) -> None:
    st = ctx.st
    for action, req in ctx.obs.requests.items():
        if getattr(st.acknowledged, action) == req.raw:
            continue  # already acted on
        setattr(st.acknowledged, action, req.raw)
        if action == "retry":
            last = st.history[0].id if st.history else None
            if st.rollout is None and st.stalled_template_hash and req.rollout_id == last:
                ctx.event("RetryRequested", f"retrying rollout {last}: the rolled-back template may roll out again")
                st.stalled_template_hash = None
            else:
                ctx.event("StaleRequest", f"retry {req.raw} ignored: nothing rolled back to retry for rollout "
                          f"{req.rollout_id}", warning=True)
            continue
        ro = st.rollout
        if ro is None or req.rollout_id != ro.id:
            ctx.event("StaleRequest", f"{action} {req.raw} ignored: it names rollout {req.rollout_id}, "
                      f"the current one is {ro.id if ro else 'none'}", warning=True)
            continue
        if action == "abort" and ro.state in ("Progressing", "Promoting", "Watching"):
            _start_rollback(ctx, spec, RollbackReason(kind="Manual", message="aborted by request",
                                                      weight=ro.weight, at=iso(ctx.now)))
        elif action == "promote" and ro.state == "Progressing":
            ro.promote_requested = True
            ctx.timeline("PromoteRequested", "promotion asked by request", ro.weight)
            ctx.event("PromoteRequested", f"rollout {ro.id}: promotion asked by request")
        elif action == "pause" and not ro.paused:
            ro.paused = True
            ctx.timeline("Paused", "paused by request", ro.weight)
            ctx.event("Paused", f"rollout {ro.id} paused at {ro.weight}%")
        elif action == "resume" and ro.paused:
            ro.paused = False
            ctx.timeline("Resumed", "resumed by request", ro.weight)
            ctx.event("Resumed", f"rollout {ro.id} resumed")


# ------------------------------------------------------------------ first release and rest

def _first_release(ctx: _Ctx, spec: ReleaseSpec) -> None:
    obs, st = ctx.obs, ctx.st
    if spec.workload_ref is not None and (obs.adopt is None or not obs.adopt.exists):
        st.phase, st.message = "Initializing", f"waiting for Deployment {spec.workload_ref.name} to adopt"
        return
    thash = obs.adopt.template_hash if spec.workload_ref is not None and obs.adopt else obs.desired_hash
    if thash is None:
        return
    if obs.template_error and spec.workload_ref is None:
        _invalid_template(ctx)
        return
    rid = st.next_rollout_id
    st.next_rollout_id += 1
    st.stable = Workload(slot="a", deployment="", version=spec.version, template_hash=thash)
    st.history.insert(0, HistoryEntry(
        id=rid, version=spec.version, template_hash=thash, outcome="Promoted", started_at=iso(ctx.now),
        ended_at=iso(ctx.now), weight_reached=100,
        timeline=[TimelineEntry(at=iso(ctx.now), event="Installed",
                                message="first release: installed as stable" +
                                (f", adopting Deployment {spec.workload_ref.name}" if spec.workload_ref else ""),
                                weight=100)]))
    del st.history[HISTORY_LIMIT:]
    st.last_outcome = "Promoted"
    ctx.event("Installed", f"{spec.version} installed as the first stable")


def _at_rest(ctx: _Ctx, spec: ReleaseSpec) -> None:
    obs, st = ctx.obs, ctx.st
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
        _invalid_template(ctx)
        return
    _start_rollout(ctx, spec, desired)


def _invalid_template(ctx: _Ctx) -> None:
    msg = f"the pod template was refused: {ctx.obs.template_error}"
    known = any(c.type == "Stalled" and c.status == "True" and c.message == msg for c in ctx.obs.status.conditions)
    set_condition(ctx.st.conditions, "Stalled", "True", "InvalidSpec", msg, ctx.now, ctx.obs.generation)
    if not known:
        ctx.event("InvalidSpec", msg, warning=True)


def _start_rollout(ctx: _Ctx, spec: ReleaseSpec, thash: str) -> None:
    st = ctx.st
    assert st.stable is not None
    rid = st.next_rollout_id
    st.next_rollout_id += 1
    slot = other_slot(st.stable.slot)
    st.stalled_template_hash = None  # the template changed: whatever was rolled back no longer stalls
    st.canary = Workload(slot=slot, deployment="", version=spec.version, template_hash=thash)
    st.rollout = RolloutStatus(id=rid, state="Progressing", step=0, weight=0, step_started_at=iso(ctx.now),
                               started_at=iso(ctx.now))
    st.analysis = AnalysisStatus(preflight=ctx.obs.preflight)
    st.history.insert(0, HistoryEntry(id=rid, version=spec.version, template_hash=thash, outcome="Progressing",
                                      started_at=iso(ctx.now)))
    del st.history[HISTORY_LIMIT:]
    msg = f"rollout {rid}: {st.stable.version} -> {spec.version} in slot {slot}, steps {spec.weights()}"
    ctx.timeline("Started", msg, 0)
    ctx.event("RolloutStarted", msg)
    ctx.notes.append(Notification("pre-rollout", rid, msg))


# ------------------------------------------------------------------ rollout in flight

def _step_rollout(ctx: _Ctx, spec: ReleaseSpec) -> None:
    obs, st = ctx.obs, ctx.st
    ro = st.rollout
    assert ro is not None and st.stable is not None
    desired = obs.desired_hash if spec.template is not None else None

    if ro.state == "RollingBack":
        # The effective weight was read for the traffic the *recorded* status asks for. A rollback
        # decided in this very decision (an abort request) has not reached the data plane yet, and
        # after a swap back from the watch the canary slot is not the one that was measured.
        was = obs.status.rollout
        if was is not None and was.id == ro.id and was.state == "RollingBack":
            _finish_rollback_when_drained(ctx, spec)
        if st.rollout is None:
            _at_rest(ctx, spec)
        return

    if ro.state == "Watching":
        _watch(ctx, spec, desired)
        return

    assert st.canary is not None
    refused = False
    if desired is not None and desired != st.canary.template_hash:
        if desired == st.stable.template_hash:
            _start_rollback(ctx, spec, RollbackReason(kind="Reverted", message="template set back to the stable's",
                                                      weight=ro.weight, at=iso(ctx.now)))
            return
        if not obs.template_error:
            _supersede(ctx, spec, desired)
            return
        # The new template is refused: supersede nothing, hold the running canary where it is
        # (a breach or an abort still rolls it back) until the template is fixed or set back.
        _invalid_template(ctx)
        refused = True
    elif st.canary.version != spec.version:
        st.canary.version = spec.version
        if (entry := ctx.current_entry()) is not None:
            entry.version = spec.version

    if obs.health_breach is not None:
        b = obs.health_breach
        _start_rollback(ctx, spec, RollbackReason(kind="PodHealth", message=f"{b.gate}: {b.message}",
                                                  metric=b.gate, weight=ro.weight, at=iso(ctx.now)))
        return
    if refused:
        return

    if ro.state == "Promoting":
        _promote_when_full(ctx, spec)
        return

    _progress(ctx, spec)


def _supersede(ctx: _Ctx, spec: ReleaseSpec, desired: str) -> None:
    st = ctx.st
    assert st.rollout is not None and st.canary is not None
    entry = ctx.current_entry()
    ctx.timeline("Superseded", f"template changed to {desired} mid-rollout", st.rollout.weight)
    if entry is not None:
        entry.outcome, entry.ended_at = "Superseded", iso(ctx.now)
    ctx.event("Superseded", f"rollout {st.rollout.id} ({st.canary.version}) superseded by a new template")
    st.last_outcome = "Superseded"
    st.rollout, st.canary = None, None
    _start_rollout(ctx, spec, desired)


def _progress(ctx: _Ctx, spec: ReleaseSpec) -> None:
    obs, st = ctx.obs, ctx.st
    ro, canary = st.rollout, st.canary
    assert ro is not None and canary is not None
    provider = provider_for(spec.traffic.provider)
    weights = spec.weights()
    canary_ready = obs.slot(canary.slot).ready
    ro.effective_weight = _round(obs.effective_weight)

    if ro.promote_requested:
        _start_promotion(ctx, spec, "promotion asked by request")
        return

    # Step 0 starts at weight 0 until the canary's pods are up; then the first weight.
    if ro.weight == 0 and ro.step == 0:
        if canary_ready >= provider.canary_replicas(spec, weights[0]) and not _paused(ro, spec):
            _set_step(ctx, 0, weights[0])
        return

    if ro.settled_at is None:
        if provider.settled(spec, ro.weight, obs.effective_weight, canary_ready):
            ro.settled_at = iso(ctx.now)
            st.analysis = st.analysis or AnalysisStatus()
            start = ctx.now.timestamp()
            st.analysis.since = st.analysis.since or start
            st.analysis.last_sample_at = start
            # analysis.step moves only with a verdict taken at this step (_fold_analysis): a step
            # never passes on the verdict of the step before it.
            ctx.timeline("WeightServed", f"data plane serves {_fmt(obs.effective_weight)}% "
                         f"(asked {ro.weight}%)", ro.weight)
        return

    result = obs.analysis
    if result is not None and _fold_analysis(ctx, spec, result):
        return  # rolled back

    elapsed = (ctx.now - parse_iso(ro.settled_at)).total_seconds()
    verdict = st.analysis.verdict if st.analysis else None
    analysed_this_step = st.analysis is not None and st.analysis.step == ro.step and verdict is not None
    last = ro.step >= len(weights) - 1
    if elapsed < parse_duration(spec.analysis.step_duration) or not analysed_this_step:
        return
    if verdict in ("Fail", "Unavailable"):
        return
    if not last:
        if not _paused(ro, spec):
            _set_step(ctx, ro.step + 1, weights[ro.step + 1])
        return
    if verdict == "Pass" and not _paused(ro, spec):
        _start_promotion(ctx, spec, "every metric passed")
        return
    started = parse_iso(ro.started_at)
    if not ro.held and (ctx.now - started).total_seconds() > parse_duration(spec.analysis.max_duration):
        ro.held = True
        msg = (f"no verdict after {spec.analysis.max_duration}: holding at {ro.weight}%, never promoting "
               f"without evidence; promote or abort by hand")
        ctx.timeline("NoVerdict", msg, ro.weight)
        ctx.event("NoVerdict", msg, warning=True)
        ctx.notes.append(Notification("stall", ro.id, msg))


def _paused(ro: RolloutStatus, spec: ReleaseSpec) -> bool:
    return ro.paused or spec.paused


def _set_step(ctx: _Ctx, step: int, weight: int) -> None:
    ro = ctx.st.rollout
    assert ro is not None
    ro.step, ro.weight = step, weight
    ro.step_started_at, ro.settled_at = iso(ctx.now), None
    entry = ctx.current_entry()
    if entry is not None:
        entry.step_reached, entry.weight_reached = step + 1, max(entry.weight_reached, weight)
    ctx.timeline("StepStarted", f"step {step + 1}: canary weight {weight}%", weight)
    ctx.event("StepStarted", f"rollout {ro.id}: step {step + 1}, canary weight {weight}%")


def _fold_analysis(ctx: _Ctx, spec: ReleaseSpec, result: AnalysisResult) -> bool:
    """Record an analysis; start a rollback when it says so. True when a rollback started."""
    st = ctx.st
    ro = st.rollout
    assert ro is not None
    an = st.analysis or AnalysisStatus()
    st.analysis = an
    an.at, an.verdict, an.step = iso(ctx.now), result.verdict, ro.step
    an.metrics = list(result.metrics) or an.metrics
    if result.verdict == "Unavailable":
        an.unavailable_since = an.unavailable_since or iso(ctx.now)
        outage = (ctx.now - parse_iso(an.unavailable_since)).total_seconds()
        if outage >= parse_duration(spec.analysis.metrics_unavailable_limit):
            _start_rollback(ctx, spec, RollbackReason(
                kind="MetricsUnavailable", message=f"metrics unavailable for {outage:.0f}s: {result.error}",
                weight=ro.weight, at=iso(ctx.now)))
            return True
        return False
    an.unavailable_since = None
    an.judge_state = dict(result.judge_state)
    an.failed_checks = result.failed_checks
    an.last_sample_at = ctx.now.timestamp()
    if result.verdict == "Fail":
        failing = result.failing or next((m for m in result.metrics if m.verdict == "Fail"), None)
        _start_rollback(ctx, spec, _metric_reason(failing, ro.weight, ctx.now, ro.state == "Watching"))
        return True
    return False


def _metric_reason(m: Optional[MetricResult], weight: int, now: dt.datetime, watching: bool) -> RollbackReason:
    kind = "PostPromotionWatch" if watching else "Metric"
    if m is None:
        return RollbackReason(kind=kind, message="analysis failed", weight=weight, at=iso(now))
    msg = f"{m.name} = {_fmt(m.value)} breached {m.bound}" + (f" ({m.message})" if m.message else "")
    return RollbackReason(kind=kind, message=msg, metric=m.name, value=m.value, bound=m.bound,
                          weight=weight, at=iso(now))


def _start_promotion(ctx: _Ctx, spec: ReleaseSpec, why: str) -> None:
    ro = ctx.st.rollout
    assert ro is not None
    ro.state = "Promoting"
    ctx.timeline("Promoting", f"{why}: bringing the canary to {spec.replicas} pods", ro.weight)
    ctx.event("Promoting", f"rollout {ro.id}: {why}")


def _promote_when_full(ctx: _Ctx, spec: ReleaseSpec) -> None:
    st = ctx.st
    ro, canary, stable = st.rollout, st.canary, st.stable
    assert ro is not None and canary is not None and stable is not None
    if ctx.obs.slot(canary.slot).ready < spec.replicas:
        return
    st.previous, st.stable, st.canary = stable, canary, None
    ro.state, ro.weight = "Watching", 100
    ro.settled_at = iso(ctx.now)
    watch_s = parse_duration(spec.analysis.post_promotion_watch)
    st.watch_until = iso(ctx.now + dt.timedelta(seconds=watch_s))
    st.analysis = AnalysisStatus(since=ctx.now.timestamp(), last_sample_at=ctx.now.timestamp(), step=ro.step)
    entry = ctx.current_entry()
    if entry is not None:
        entry.weight_reached = 100
    msg = f"{canary.version} takes all traffic; {stable.version} kept warm for {spec.analysis.post_promotion_watch}"
    ctx.timeline("Switched", msg, 100)
    ctx.event("Switched", f"rollout {ro.id}: {msg}")


def _watch(ctx: _Ctx, spec: ReleaseSpec, desired: Optional[str]) -> None:
    obs, st = ctx.obs, ctx.st
    ro, stable, previous = st.rollout, st.stable, st.previous
    assert ro is not None and stable is not None
    breach = obs.health_breach
    if breach is not None and previous is not None:
        _swap_back(ctx, spec, RollbackReason(kind="PostPromotionWatch", message=f"{breach.gate}: {breach.message}",
                                             metric=breach.gate, weight=100, at=iso(ctx.now)))
        return
    if obs.analysis is not None and previous is not None and _fold_analysis_watch(ctx, spec, obs.analysis):
        return
    over = st.watch_until is None or ctx.now >= parse_iso(st.watch_until)
    # The previous stable goes to zero (or gets the next template) only once the data plane has
    # stopped sending it traffic: in the watch the effective weight is the previous stable's share.
    drained = previous is None or obs.effective_weight == 0
    if (over or (desired is not None and desired != stable.template_hash)) and drained:
        entry = ctx.current_entry()
        if entry is not None:
            entry.outcome, entry.ended_at = "Promoted", iso(ctx.now)
        ctx.timeline("Promoted", f"{stable.version} promoted" + ("" if over else "; watch cut short by a new template"),
                     100)
        ctx.event("Promoted", f"rollout {ro.id}: {stable.version} promoted")
        ctx.notes.append(Notification("promotion", ro.id, f"{stable.version} promoted"))
        ctx.notes.append(Notification("post-rollout", ro.id, f"{stable.version} promoted"))
        st.last_outcome = "Promoted"
        st.rollout, st.previous, st.watch_until, st.analysis = None, None, None, st.analysis
        if not over:
            _at_rest(ctx, spec)


def _fold_analysis_watch(ctx: _Ctx, spec: ReleaseSpec, result: AnalysisResult) -> bool:
    st = ctx.st
    if result.verdict != "Fail":
        an = st.analysis or AnalysisStatus()
        st.analysis = an
        an.at, an.verdict = iso(ctx.now), result.verdict
        an.metrics = list(result.metrics) or an.metrics
        if result.verdict != "Unavailable":
            an.judge_state, an.last_sample_at = dict(result.judge_state), ctx.now.timestamp()
        return False
    failing = result.failing or next((m for m in result.metrics if m.verdict == "Fail"), None)
    _swap_back(ctx, spec, _metric_reason(failing, 100, ctx.now, watching=True))
    return True


def _swap_back(ctx: _Ctx, spec: ReleaseSpec, reason: RollbackReason) -> None:
    """A breach in the watch: the warm previous stable takes the traffic back at once."""
    st = ctx.st
    assert st.previous is not None
    st.canary, st.stable, st.previous = st.stable, st.previous, None
    st.watch_until = None
    _start_rollback(ctx, spec, reason)


def _start_rollback(ctx: _Ctx, spec: ReleaseSpec, reason: RollbackReason) -> None:
    st = ctx.st
    ro = st.rollout
    assert ro is not None
    if ro.state == "Watching" and st.previous is not None:
        _swap_back(ctx, spec, reason)
        return
    ro.state, ro.reason = "RollingBack", reason
    ro.weight, ro.settled_at = 0, None
    verb = {"Manual": "Aborting", "Reverted": "Reverting"}.get(reason.kind, "RollingBack")
    ctx.timeline(verb, reason.message, 0)
    ctx.event(verb, f"rollout {ro.id}: {reason.message}", warning=reason.kind not in ("Reverted",))


def _finish_rollback_when_drained(ctx: _Ctx, spec: ReleaseSpec) -> None:
    obs, st = ctx.obs, ctx.st
    ro, canary = st.rollout, st.canary
    assert ro is not None and ro.reason is not None
    ro.effective_weight = _round(obs.effective_weight)
    if obs.effective_weight is None or obs.effective_weight > 0:
        return
    outcome = OUTCOME_OF_REASON.get(ro.reason.kind, "RolledBack")
    entry = ctx.current_entry()
    if entry is not None:
        entry.outcome, entry.ended_at, entry.reason = outcome, iso(ctx.now), ro.reason
    version = canary.version if canary else "?"
    msg = f"{version} {outcome.lower()}: the data plane serves the canary 0%"
    ctx.timeline(outcome, msg, 0)
    ctx.event(outcome, f"rollout {ro.id}: {msg}; reason: {ro.reason.message}", warning=outcome != "Superseded")
    if outcome != "Superseded":
        ctx.notes.append(Notification("rollback", ro.id, f"{version} {outcome.lower()}: {ro.reason.message}"))
        st.stalled_template_hash = canary.template_hash if canary else None
    st.last_outcome = outcome
    st.rollout, st.canary = None, None


# ------------------------------------------------------------------ summary: conditions, phase, printer fields

def _summarise(ctx: _Ctx, spec: ReleaseSpec) -> None:
    st, obs, now, gen = ctx.st, ctx.obs, ctx.now, ctx.obs.generation
    ro = st.rollout
    stable_ready = st.stable is not None and obs.slot(st.stable.slot).ready >= spec.replicas
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
            msg = f"{last.version if last else '?'} {phase.lower()} ({why}); {st.stable.version if st.stable else '?'} serves. " \
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
            elif _paused(ro, spec):
                phase, reason = "Paused", "Paused"
            else:
                phase, reason = "Progressing", "Progressing"
            msg = f"rollout {ro.id}: step {ro.step + 1}/{len(spec.weights())}, canary {st.canary.version if st.canary else '?'} at " \
                  f"{ro.weight}% (effective {_fmt(obs.effective_weight)}%)"
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
    _weight_condition(ctx, spec)
    _served_condition(ctx, spec)


def _served_condition(ctx: _Ctx, spec: ReleaseSpec) -> None:
    """Warn when the data plane does not serve the asked weight in time (e.g. a route never accepted)."""
    st, obs = ctx.st, ctx.obs
    ro = st.rollout
    late = (ro is not None and ro.state == "Progressing" and ro.weight > 0 and ro.settled_at is None
            and (ctx.now - parse_iso(ro.step_started_at)).total_seconds()
            > parse_duration(spec.analysis.pod_health.ready_deadline))
    if late:
        assert ro is not None
        msg = (f"the data plane has not served {ro.weight}% since {ro.step_started_at} (it serves "
               f"{_fmt(obs.effective_weight)}%); check the {spec.traffic.provider} provider"
               + (" (is the HTTPRoute accepted by the Gateway?)" if spec.traffic.provider == "gateway-api" else ""))
        was = next((c for c in obs.status.conditions if c.type == "TrafficNotServed"), None)
        if was is None or was.status != "True":
            ctx.event("TrafficNotServed", msg, warning=True)
        set_condition(st.conditions, "TrafficNotServed", "True", "WeightNotServed", msg, ctx.now, obs.generation)
    else:
        set_condition(st.conditions, "TrafficNotServed", "False", "WeightServed", "", ctx.now, obs.generation)


def _weight_condition(ctx: _Ctx, spec: ReleaseSpec) -> None:
    st, obs = ctx.st, ctx.obs
    ro = st.rollout
    eff = obs.effective_weight
    if ro is not None and ro.state == "Progressing" and ro.weight > 0 and eff is not None \
            and eff - ro.weight > spec.traffic.max_weight_drift:
        set_condition(st.conditions, "WeightQuantised", "True", "FewReplicas",
                      f"asked {ro.weight}%, the data plane serves {_fmt(eff)}% (replicas provider: one canary pod "
                      f"beside {spec.replicas} stable pods); use more replicas or the gateway-api provider",
                      ctx.now, obs.generation)
    else:
        set_condition(st.conditions, "WeightQuantised", "False", "WeightAsAsked", "", ctx.now, obs.generation)


def _round(v: Optional[float]) -> Optional[float]:
    return None if v is None else round(v, 2)


def _fmt(v: Optional[float]) -> str:
    if v is None:
        return "?"
    return f"{v:.4g}"


# ------------------------------------------------------------------ the world the status implies

def world(st: ReleaseStatus, spec: ReleaseSpec, obs: Observed) -> list[SlotIntent]:
    """Each slot's Deployment as the status says it should be."""
    intents: dict[str, SlotIntent] = {}
    provider = provider_for(spec.traffic.provider)
    ro = st.rollout
    if st.stable is not None:
        template = _template_for(st.stable, spec, obs)
        intents[st.stable.slot] = SlotIntent(st.stable.slot, spec.replicas, template, st.stable.template_hash,
                                             st.stable.version)
    if st.canary is not None and ro is not None:
        if ro.state == "Promoting":
            n = spec.replicas
        elif ro.state == "RollingBack":
            n = obs.slot(st.canary.slot).replicas
        else:
            n = provider.canary_replicas(spec, max(ro.weight, spec.weights()[0]))
        template = spec.template if obs.desired_hash == st.canary.template_hash else None
        intents[st.canary.slot] = SlotIntent(st.canary.slot, n, template, st.canary.template_hash, st.canary.version)
    if st.previous is not None:
        intents[st.previous.slot] = SlotIntent(st.previous.slot, spec.replicas, None, None, None)
    for slot in ("a", "b"):
        if slot not in intents and st.stable is not None:
            intents[slot] = SlotIntent(slot, 0, None, None, None)
    return [intents[s] for s in sorted(intents)]


def _template_for(w: Workload, spec: ReleaseSpec, obs: Observed):  # type: ignore[no-untyped-def]
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
    return TrafficIntent(stable_slot=st.stable.slot, canary_slot=st.canary.slot, weight=ro.weight)


def _adopt_scale_down(st: ReleaseStatus, spec: ReleaseSpec, obs: Observed) -> Optional[str]:
    if spec.workload_ref is None or st.stable is None or obs.adopt is None or not obs.adopt.exists:
        return None
    if obs.adopt.replicas == 0:
        return None
    return spec.workload_ref.name if obs.slot(st.stable.slot).ready >= spec.replicas else None
