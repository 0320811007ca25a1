"""The post-promotion watch: the new stable serves everything, the previous one stays warm."""
from __future__ import annotations

from typing import Optional

from ripcord.api.models import AnalysisStatus, ReleaseSpec, RollbackReason
from ripcord.engine.context import Decision
from ripcord.engine.observed import AnalysisResult
from ripcord.engine.rest import at_rest
from ripcord.engine.rollback import metric_reason, swap_back
from ripcord.engine.timefmt import iso, parse_iso


def watch(d: Decision, spec: ReleaseSpec, desired: Optional[str]) -> None:
    obs, st = d.obs, d.st
    ro, stable, previous = st.rollout, st.stable, st.previous
    assert ro is not None and stable is not None
    breach = obs.health_breach
    if breach is not None and previous is not None:
        swap_back(d, spec, RollbackReason(kind="PostPromotionWatch", message=f"{breach.gate}: {breach.message}",
                                          metric=breach.gate, weight=100, at=iso(d.now)))
        return
    if obs.analysis is not None and previous is not None and _fold_analysis_watch(d, spec, obs.analysis):
        return
    over = st.watch_until is None or d.now >= parse_iso(st.watch_until)
    # The previous stable goes to zero (or gets the next template) only once the data plane has
    # stopped sending it traffic: in the watch the effective weight is the previous stable's share.
    drained = previous is None or obs.effective_weight == 0
    if (over or (desired is not None and desired != stable.template_hash)) and drained:
        entry = d.current_entry()
        if entry is not None:
            entry.outcome, entry.ended_at = "Promoted", iso(d.now)
        d.timeline("Promoted", f"{stable.version} promoted" + ("" if over else "; watch cut short by a new template"),
                   100)
        d.event("Promoted", f"rollout {ro.id}: {stable.version} promoted")
        d.notify("promotion", ro.id, f"{stable.version} promoted")
        d.notify("post-rollout", ro.id, f"{stable.version} promoted")
        st.last_outcome = "Promoted"
        st.rollout, st.previous, st.watch_until = None, None, None
        if not over:
            at_rest(d, spec)


def _fold_analysis_watch(d: Decision, spec: ReleaseSpec, result: AnalysisResult) -> bool:
    st = d.st
    if result.verdict != "Fail":
        an = st.analysis or AnalysisStatus()
        st.analysis = an
        an.at, an.verdict = iso(d.now), result.verdict
        an.attempted_at = d.now.timestamp()
        an.metrics = list(result.metrics) or an.metrics
        if result.verdict != "Unavailable":
            an.judge_state = dict(result.judge_state)
            an.last_sample_at = result.until if result.until is not None else d.now.timestamp()
        return False
    failing = result.failing or next((m for m in result.metrics if m.verdict == "Fail"), None)
    swap_back(d, spec, metric_reason(failing, spec, 100, d.now, watching=True))
    return True
