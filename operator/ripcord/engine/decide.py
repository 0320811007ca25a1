"""The decision core: observed state in, a plan out. No I/O.

It reconciles in one fixed order (like Argo Rollouts' rollout/context.go) and returns
the whole new status, which the edge writes *before* it acts; the world to converge to
is derived from that status alone, so an operator killed at any point resumes exactly.
Events and notifications travel inside that status (its outbox) and are delivered after.

The jobs are split by module: :mod:`.reads` (what to read), :mod:`.requests` (manual
requests), :mod:`.rest` (first release, what starts a rollout), :mod:`.rollout` (steps,
verdicts, promotion), :mod:`.watch` (post-promotion watch), :mod:`.rollback`,
:mod:`.summary` (conditions and phase), :mod:`.world` (the Deployments and traffic the
status implies), :mod:`.schedule` (when to look again).

Transition table (``status.rollout.state``; "rest" means no rollout)::

  from          on                                           to            records
  ------------  -------------------------------------------  ------------  ---------------------------
  any           deletionTimestamp set                        (deleted)     Retain: stable keeps serving
  (no stable)   spec valid                                   rest          history: Installed
  rest          template hash != stable, != stalled          Progressing   history: Progressing, Event
  rest          template hash == stalled hash                rest          Stalled=True (stays rolled back)
  rest          retry request                                rest          stalled hash cleared
  Progressing   canary ready, weight 0: confirm-rollout,     Progressing   first weight (gating.py: gate, hooks,
                gate, pre-rollout, mirror phase, pause step,               mirror phase and pauses in the status;
                confirm-traffic-increase all through                        each holds until it is through)
  Progressing   a gate round failed (gate.failures in a row) RollingBack   reason Gate (request and response), weight 0
  Progressing   pre-rollout or load-test hook failed         RollingBack   reason Webhook (after its retries)
  in flight     a rollback hook answered 2xx                 RollingBack   reason Webhook
  Progressing   canary ready and data plane at the weight    Progressing   settledAt (step clock starts)
  Progressing   a canary container restarted in the step     Progressing   the step starts over
  Progressing   pod-health gate breached                     RollingBack   reason PodHealth
  Progressing   analysis Fail                                RollingBack   reason Metric (value, bound, weight)
  Progressing   metrics unavailable beyond the limit         RollingBack   reason MetricsUnavailable
  Progressing   abort request                                RollingBack   reason Manual -> Aborted
  Progressing   template back to the stable's                RollingBack   reason Reverted -> Superseded
  Progressing   template changed again                       Progressing   old entry Superseded, new rollout
  Progressing   template changed, refused by the API server  Progressing   held, InvalidSpec (nothing superseded)
  Progressing   step time and a verdict taken at this step,  Progressing   next step's weight
                no Fail/Unavailable, canary healthy, not paused
  Progressing   step passed, a pause step or approval or a   Progressing   held: Paused, AwaitingApproval, Waiting
                confirm hook holds it
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

from ripcord.api.conditions import holds, set_condition
from ripcord.contract import ADOPT_ANNOTATION
from ripcord.engine import gating
from ripcord.engine.context import HISTORY_LIMIT, TIMELINE_LIMIT, Decision
from ripcord.engine.observed import Observed
from ripcord.engine.plan import Deletion, Plan
from ripcord.engine.requests import handle_requests
from ripcord.engine.rest import at_rest, first_release
from ripcord.engine.rollout import step_rollout
from ripcord.engine.routeguard import guard_route, hold_route
from ripcord.engine.schedule import next_due
from ripcord.engine.summary import summarise
from ripcord.engine.world import adopt_scale_down, slot_intents, slot_roles, traffic_intent

__all__ = ["HISTORY_LIMIT", "TIMELINE_LIMIT", "decide"]


def decide(obs: Observed) -> Plan:
    d = Decision(obs)
    st = d.st
    if obs.deleting:
        return _deleting(d)
    if obs.spec is None or obs.spec_error:
        return _invalid(d, obs.spec_error or "spec is missing", obs.spec_error_reason)
    if obs.collisions:
        c = obs.collisions[0]
        others = f" (and {len(obs.collisions) - 1} more)" if len(obs.collisions) > 1 else ""
        return _invalid(d, f"metadata.name: {c.kind} {c.name}, a name this Release derives, already exists and "
                        f"belongs to {c.owner}{others}; Ripcord changes "
                        f"only what it owns: rename this Release, or remove that {c.kind} (or annotate it "
                        f"{ADOPT_ANNOTATION}: {obs.name} to hand it over)", "NameCollision")
    spec = obs.spec
    _clear_invalid(d)
    handle_requests(d, spec)
    guard_route(d, spec)
    gating.fold(d, spec)

    if st.stable is None:
        first_release(d, spec)
    elif st.rollout is None:
        at_rest(d, spec)
    else:
        step_rollout(d, spec)

    gating.after(d, spec)
    summarise(d, spec)
    st.observed_generation = obs.generation
    scale_down = adopt_scale_down(st, spec, obs)
    if spec.workload_ref is not None and obs.adopt is not None and obs.adopt.replicas == 0 and st.stable is not None:
        st.adopted = spec.workload_ref.name  # adopted and scaled to zero: no need to read it again
    return Plan(status=st, slots=tuple(slot_intents(st, spec, obs)), traffic=traffic_intent(st),
                adopt_scale_down=scale_down, next_due=next_due(st, spec, obs), roles=slot_roles(st),
                hold_route=hold_route(d), route_version=obs.route.resource_version if obs.route else None)


def _invalid(d: Decision, message: str, reason: str) -> Plan:
    st = d.st
    known = holds(st.conditions, "Stalled", "True", message, reason)
    set_condition(st.conditions, "Stalled", "True", reason, message, d.now, d.obs.generation)
    set_condition(st.conditions, "Ready", "False", reason, message, d.now, d.obs.generation)
    set_condition(st.conditions, "Reconciling", "False", reason, "", d.now, d.obs.generation)
    st.phase, st.message = "InvalidSpec", message
    st.observed_generation = d.obs.generation
    if not known:
        d.event(reason, message, warning=True)
    return Plan(status=st, act=False, next_due=next_due(st, None, d.obs))


def _clear_invalid(d: Decision) -> None:
    if d.obs.template_error:
        return  # still refused: keep the condition (and its transition time) as it is
    for cond in d.st.conditions:
        if cond.type == "Stalled" and cond.reason in ("InvalidSpec", "PrometheusNotAllowed", "NameCollision",
                                                      "NewerStatus") \
                and cond.status == "True":
            set_condition(d.st.conditions, "Stalled", "False", "SpecValid", "", d.now, d.obs.generation)


def _deleting(d: Decision) -> Plan:
    """The Release is going: Retain leaves the stable serving (traffic to it, the other slot at zero)."""
    spec, st = d.obs.spec, d.st
    retain = st.stable is not None and (spec is None or spec.deletion_policy == "Retain")
    if not retain or spec is None or st.stable is None:
        return Plan(status=st, deletion=Deletion(retain=retain))  # an unreadable spec: orphan, touch nothing else
    resting = st.model_copy(update={"rollout": None, "canary": None, "previous": None})
    others = tuple(s for s in slot_intents(resting, spec, d.obs) if s.slot != st.stable.slot)
    return Plan(status=st, slots=others, traffic=traffic_intent(resting), deletion=Deletion(retain=True),
                route_version=d.obs.route.resource_version if d.obs.route else None)  # the user's rule: stable only
