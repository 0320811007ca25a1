"""Manual requests (annotations written by ``kubectl ripcord``): each acted on once, never stale."""
from __future__ import annotations

from ripcord.api.models import ReleaseSpec, RollbackReason
from ripcord.engine import drill
from ripcord.engine.context import Decision
from ripcord.engine.holds import end_pause
from ripcord.engine.rollback import start_rollback
from ripcord.engine.timefmt import iso


def handle_requests(d: Decision, spec: ReleaseSpec) -> None:
    st = d.st
    for action, req in d.obs.requests.items():
        if getattr(st.acknowledged, action, None) == req.raw:
            continue  # already acted on
        setattr(st.acknowledged, action, req.raw)
        if not req.valid:
            d.event("InvalidRequest", f"annotation ripcord.dev/{action}: {req.raw!r} ignored: the value must be "
                    f"<rollout-id>/<nonce> (kubectl ripcord {action} writes it)", warning=True)
            continue
        if action == "drill":
            why = drill.refusal(d, spec)
            if why is None:
                drill.start_drill(d, spec)
            else:
                d.event("DrillRefused", f"drill {req.raw} not started: {why}", warning=True)
            continue
        if action == "retry":
            last = st.history[0].id if st.history else None
            if st.rollout is None and st.stalled_template_hash and req.rollout_id == last:
                d.event("RetryRequested", f"retrying rollout {last}: the rolled-back template may roll out again")
                st.stalled_template_hash = None
            else:
                d.event("StaleRequest", f"retry {req.raw} ignored: nothing rolled back to retry for rollout "
                        f"{req.rollout_id}", warning=True)
            continue
        ro = st.rollout
        if ro is None or req.rollout_id != ro.id:
            d.event("StaleRequest", f"{action} {req.raw} ignored: it names rollout {req.rollout_id}, "
                    f"the current one is {ro.id if ro else 'none'}", warning=True)
            continue
        if action == "abort" and ro.state in ("Progressing", "Promoting", "Watching"):
            start_rollback(d, spec, RollbackReason(kind="Manual", message="aborted by request",
                                                   weight=ro.weight, at=iso(d.now)))
        elif action == "promote" and ro.state == "Progressing":
            ro.promote_requested = True
            d.timeline("PromoteRequested", "promotion asked by request", ro.weight)
            d.event("PromoteRequested", f"rollout {ro.id}: promotion asked by request")
        elif action == "pause" and not ro.paused:
            ro.paused = True
            d.timeline("Paused", "paused by request", ro.weight)
            d.event("Paused", f"rollout {ro.id} paused at {ro.weight}%")
        elif action == "resume" and (ro.paused or ro.pause is not None):
            ro.paused = False
            end_pause(d, "resumed by request")  # a pause step ends too
            d.timeline("Resumed", "resumed by request", ro.weight)
            d.event("Resumed", f"rollout {ro.id} resumed")
