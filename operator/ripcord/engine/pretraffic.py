"""Between a new canary and its first weight: everything a machine can check before a user is exposed.

In this order, each only once the one before is through:

1. ``confirm-rollout`` hooks answer 2xx (until then the canary stays at 0 pods);
2. the canary's pods are Ready (the rollout's own rule, in :mod:`.rollout`);
3. the built-in pre-traffic gate passes (:mod:`.gate`);
4. ``pre-rollout`` hooks answer 2xx (a failure rolls back);
5. with ``traffic.mirror``: the mirror phase. The route mirrors a share of live requests to the
   canary, whose answers are discarded, and the canary is judged on them at weight 0 for
   ``mirror.duration`` like a step (a Fail rolls back with no user request answered by it);
6. a pause step before the first weight, and ``confirm-traffic-increase`` for the first step.

Only then does the canary get its first weight.
"""
from __future__ import annotations

from ripcord.api.models import AnalysisStatus, ReleaseSpec, parse_duration
from ripcord.engine import hooks
from ripcord.engine.context import Decision
from ripcord.engine.gate import gate_passed
from ripcord.engine.holds import held_before_step


def scaled_up(d: Decision, spec: ReleaseSpec) -> bool:
    """confirm-rollout hooks said yes (asking them if not yet): the canary may have its pods."""
    return hooks.state(d, spec, "confirm-rollout", "confirm-rollout") == "open"


def checked(d: Decision, spec: ReleaseSpec) -> bool:
    """The checks no request may skip are through: the gate and the pre-rollout hooks (a promote request
    skips steps, pauses and the approval, never these). Asks nothing: they are asked in their turn."""
    ro = d.st.rollout
    if ro is None:
        return False
    if spec.gate is not None and (ro.gate is None or ro.gate.passed_at is None):
        return False
    return all((c := hooks.call_of(d.st, ro.id, h.name, "pre-rollout")) is not None and c.result == "Passed"
               for h in hooks.hooks_of(spec, "pre-rollout"))


def cleared_for_traffic(d: Decision, spec: ReleaseSpec) -> bool:
    """With a Ready, healthy canary at weight 0: True once the first step may start."""
    ro = d.st.rollout
    assert ro is not None
    if not gate_passed(d, spec):
        return False
    if hooks.state(d, spec, "pre-rollout", "pre-rollout") != "open":
        return False
    if spec.traffic.mirror is not None and not ro.mirror_done:
        if ro.mirror is None:
            start_mirror(d, spec)
        return False
    return not held_before_step(d, spec, 0)


def start_mirror(d: Decision, spec: ReleaseSpec) -> None:
    ro = d.st.rollout
    assert ro is not None and spec.traffic.mirror is not None
    ro.mirror, ro.settled_at = spec.traffic.mirror.percent, None
    msg = (f"mirror phase: {ro.mirror}% of live requests copied to the canary (answers discarded), judged for "
           f"{mirror_seconds(spec):g}s at weight 0")
    d.timeline("MirrorStarted", msg, 0)
    d.event("MirrorStarted", f"rollout {ro.id}: {msg}")


def mirror_seconds(spec: ReleaseSpec) -> float:
    m = spec.traffic.mirror
    return parse_duration(m.duration if m is not None and m.duration else spec.analysis.step_duration)


def mirror_served(d: Decision) -> bool:
    """The data plane mirrors what the status asks (the phase's clock starts then)."""
    ro = d.st.rollout
    return ro is not None and ro.mirror is not None and d.obs.effective_mirror is not None \
        and abs(d.obs.effective_mirror - ro.mirror) < 1e-9


def end_mirror(d: Decision, spec: ReleaseSpec) -> bool:
    """The mirror phase passed its time with no Fail: it ends, and the first step starts from fresh evidence.
    False while its load test has not been accepted."""
    ro, st = d.st.rollout, d.st
    assert ro is not None
    if hooks.state(d, spec, "load-test", hooks.load_test_key(ro.step, True)) != "open":
        return False
    an = st.analysis
    verdict = an.verdict if an else None
    ro.mirror, ro.mirror_done, ro.settled_at = None, True, None
    # The first step is judged on its own evidence: the mirror's verdict, judge state and step totals stay behind.
    st.analysis = AnalysisStatus(preflight=an.preflight if an else None)
    msg = f"mirror phase over: the canary's mirrored requests gave {verdict or 'no verdict'}"
    d.timeline("MirrorPassed", msg, 0)
    d.event("MirrorPassed", f"rollout {ro.id}: {msg}")
    return True
