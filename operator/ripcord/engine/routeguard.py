"""traffic.routeRef: notice when someone else changes the weights of the user's rule mid-rollout.

The user's HTTPRoute is theirs (or their GitOps tool's); Ripcord sets only the backendRefs of
one rule. If something else sets them while a rollout runs (a GitOps sync restoring what Git
says, a hand edit), writing Ripcord's weights back would start a tug of war that nobody sees.
So Ripcord compares the rule with what it knows:

* the weights the recorded status asks for: Ripcord's own, nothing to say;
* the weights it last saw as its own (``status.route.backends``): its next write is pending;
* anything else, mid-rollout: someone else changed them. Ripcord records why
  (``status.route.conflict``, condition ``RouteConflict``, a Warning Event), pauses the rollout
  and leaves the route as it is; ``kubectl ripcord resume`` takes the rule back. A rollback
  still writes (moving traffic off a bad canary comes first).

An edit elsewhere in the route (matches, filters, other rules) keeps the rule as Ripcord set
it: the rollout goes on (a ``RouteEdited`` Event says so) and Ripcord's next write keeps
that edit, since it copies every other field through.
"""
from __future__ import annotations

from ripcord.api.conditions import set_condition
from ripcord.api.models import ReleaseSpec, RouteRecord
from ripcord.engine.context import Decision
from ripcord.engine.world import traffic_intent
from ripcord.traffic.userroute import desired_refs, fingerprint

CONDITION = "RouteConflict"


def guard_route(d: Decision, spec: ReleaseSpec) -> None:
    """Before the rollout steps: record the rule's state, and hold the rollout on a foreign change."""
    st, obs = d.st, d.obs
    view, ref = obs.route, spec.traffic.route_ref
    if ref is None or view is None:
        st.route = None
        st.conditions = [c for c in st.conditions if c.type != CONDITION]
        return
    seen = fingerprint(view.refs)
    wanted = fingerprint(desired_refs(view.refs, obs.namespace, obs.name, traffic_intent(obs.status)))
    rec = st.route
    ro = st.rollout
    if seen == wanted:
        if rec is not None and rec.conflict is not None:
            d.event("RouteConflictResolved", f"HTTPRoute {ref.name}: the rule carries Ripcord's weights again")
        elif rec is not None and rec.backends == seen and rec.generation != view.generation and ro is not None:
            d.event("RouteEdited", f"HTTPRoute {ref.name} was edited by someone else (generation "
                    f"{rec.generation} -> {view.generation}); rule {view.rule} still carries Ripcord's weights, "
                    f"so the rollout goes on and the edit is kept")
        st.route = RouteRecord(backends=seen, generation=view.generation, conflict=None)
    elif rec is None or ro is None or ro.state == "RollingBack":
        pass  # at rest and while rolling back Ripcord sets the rule, whatever it holds
    elif rec.backends == seen and view.generation <= rec.generation + 1:
        # Ripcord's write is pending. It goes on top of the version it was decided on (a
        # resourceVersion precondition), so once it lands the rule holds Ripcord's weights: the
        # rule still holding the recorded ones means either nothing landed, or exactly one change
        # landed and it was someone else's elsewhere in the route (the write is refused, and decided
        # again on top of that one). Two or more changes with the rule back at the recorded weights
        # mean Ripcord's write landed and someone put the rule back: a conflict, below.
        if view.generation != rec.generation:
            st.route = RouteRecord(backends=rec.backends, generation=view.generation, conflict=None)
    elif rec.conflict is not None and not ro.paused:
        # resumed (`kubectl ripcord resume`, or a new rollout): take the rule back from what it is now
        d.event("RouteTakenBack", f"HTTPRoute {ref.name}: rollout {ro.id} runs again; Ripcord sets rule "
                f"{view.rule}'s weights again (they were {seen})")
        d.timeline("RouteTakenBack", f"rule {view.rule} of HTTPRoute {ref.name} set again", ro.weight)
        st.route = RouteRecord(backends=seen, generation=view.generation, conflict=None)
    elif rec.conflict is None:
        msg = (f"HTTPRoute {ref.name} rule {view.rule}: its backendRefs were changed by someone else mid-rollout "
               f"(now {seen}; Ripcord set {rec.backends}). Rollout {ro.id} is paused and the route left as it is; "
               f"let your GitOps tool ignore the rule's backendRefs (docs/gitops.md), then `kubectl ripcord "
               f"resume` to take the rule back, or abort")
        rec.conflict = msg
        if not ro.paused:
            ro.paused = True
        d.timeline("RouteConflict", msg, ro.weight)
        d.event("RouteConflict", msg, warning=True)
    if st.route is not None and st.route.conflict is not None:
        set_condition(st.conditions, CONDITION, "True", "ChangedByOthers", st.route.conflict, d.now,
                      obs.generation)
    else:
        set_condition(st.conditions, CONDITION, "False", "WeightsAsSet", "", d.now, obs.generation)


def hold_route(d: Decision) -> bool:
    """Leave the user's route alone in this plan: a conflict stands and nothing is rolling back."""
    st = d.st
    return st.route is not None and st.route.conflict is not None and \
        (st.rollout is None or st.rollout.state != "RollingBack")
