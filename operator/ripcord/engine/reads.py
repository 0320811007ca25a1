"""What to read before deciding: a pure function of the recorded status, the spec and the time.

The edge carries a :class:`ReadPlan` out and nothing more (the simulator in the unit tests
calls this same function), so whether a slot gets a health check, whether a new template
must be checked, whether an analysis is due is decided here, beside the transitions that
use the answers.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import math
from typing import Any, Mapping, Optional

from ripcord.api.models import ReleaseSpec, ReleaseStatus, parse_duration
from ripcord.contract import TrafficIntent, deployment_name
from ripcord.engine.calls import GateRead, HookRead
from ripcord.engine.gate import gate_read
from ripcord.engine.hooks import hook_reads
from ripcord.engine import pretraffic
from ripcord.engine.timefmt import parse_iso
from ripcord.engine.world import traffic_intent


@dataclasses.dataclass(frozen=True)
class HealthRead:
    """Judge the pods of ``slot``; the readiness clock starts no earlier than ``since``."""

    slot: str
    since: dt.datetime
    template_hash: str  # only the pods of this template (a slot may still hold pods of an earlier one)


@dataclasses.dataclass(frozen=True)
class AnalysisRead:
    """Judge ``canary`` against ``stable`` on the evidence from ``since`` to now."""

    canary: str  # Deployment names
    stable: str
    since: float  # unix seconds
    until: float  # the end of the evidence: the last multiple of the interval (Releases judged at the same
    # instants share their Prometheus queries: ripcord.analysis.sharing)
    step: int
    weight: float
    judge_state: Optional[Mapping[str, Any]]
    failed_checks: int
    mirror: Optional[bool] = None  # a mirroring Release: True in the mirror phase, False after; None: no mirror
    canary_slot: Optional[str] = None  # where the canary's pods are, and their template (Ripcord's hash): the
    canary_hash: Optional[str] = None  # series of an older template's pods in that slot are not the canary's


@dataclasses.dataclass(frozen=True)
class ReadPlan:
    template: bool = False  # hash spec.template and the ConfigMaps/Secrets it references
    new_template_unless: Optional[frozenset[str]] = None  # a desired hash not in here is new: check it (dry run)
    preflight: bool = False  # ...and, for a new template, pre-flight the judge against the stable's traffic
    adopt: Optional[str] = None  # the Deployment workloadRef names
    traffic: Optional[TrafficIntent] = None  # read the data plane's effective weight for this intent
    health: Optional[HealthRead] = None
    analysis: Optional[AnalysisRead] = None
    gate: Optional[GateRead] = None  # a round of the pre-traffic gate is due
    hooks: tuple[HookRead, ...] = ()  # gating webhook calls due now


def plan_reads(status: ReleaseStatus, spec: Optional[ReleaseSpec], now: dt.datetime, name: str) -> ReadPlan:
    if spec is None:
        return ReadPlan()
    ro, stable = status.rollout, status.stable
    known: set[str] = set()
    if stable is not None:
        known.add(stable.template_hash)
        if ro is None and status.stalled_template_hash:
            known.add(status.stalled_template_hash)
        if ro is not None and status.canary is not None:
            known.add(status.canary.template_hash)
    adopt = spec.workload_ref.name if spec.workload_ref is not None and status.adopted != spec.workload_ref.name \
        else None
    return ReadPlan(
        template=spec.template is not None,
        new_template_unless=frozenset(known) if spec.template is not None else None,
        preflight=stable is not None and bool(spec.analysis.metrics),
        adopt=adopt,
        traffic=traffic_intent(status) if ro is not None else None,
        health=_health(status),
        analysis=_analysis(status, spec, now, name),
        gate=gate_read(status, spec, now, name),
        hooks=hook_reads(status, spec, now, name),
    )


def _health(status: ReleaseStatus) -> Optional[HealthRead]:
    ro = status.rollout
    if ro is None:
        return None
    if ro.state in ("Progressing", "Promoting") and status.canary is not None:
        return HealthRead(status.canary.slot, parse_iso(ro.started_at), status.canary.template_hash)
    if ro.state == "Watching" and status.stable is not None:
        return HealthRead(status.stable.slot, parse_iso(ro.started_at), status.stable.template_hash)
    return None


def analysis_due_at(status: ReleaseStatus, spec: ReleaseSpec) -> Optional[float]:
    """Unix time the next analysis is due (None: no analysis runs now).

    * The first analysis of a step (or of the post-promotion watch) comes one interval after
      the data plane served the step's weight: a whole interval of evidence, as early as possible.
    * Later ones come on multiples of the interval, at least half an interval after the last:
      Releases with the same interval are then judged at the same instants, and their Prometheus
      reads are shared (``ripcord.analysis.sharing``).
    * The end of the step (or of the watch) is an analysis instant too, when it comes before the
      next multiple: a step passes on evidence up to its end.
    """
    ro, an = status.rollout, status.analysis
    if ro is None or an is None or an.last_sample_at is None or not spec.analysis.metrics:
        return None
    judging = (ro.state == "Progressing" and ro.settled_at is not None and status.canary is not None) or \
        (ro.state == "Watching" and status.previous is not None)
    if not judging or ro.settled_at is None:
        return None
    interval = parse_duration(spec.analysis.interval)
    # An attempt counts whatever its verdict: a hung Prometheus is asked once per interval.
    last = max(an.last_sample_at, an.attempted_at or 0.0)
    served = parse_iso(ro.settled_at).timestamp()
    if last <= served + 0.001:
        return served + interval
    aligned: float = math.ceil((last + interval / 2) / interval - 1e-9) * interval
    ends = _span_end(status, spec, served)
    return ends if last < ends < aligned else aligned


def _span_end(status: ReleaseStatus, spec: ReleaseSpec, served: float) -> float:
    """When the judged span ends: the step's duration after its weight was served, or the watch's end."""
    ro = status.rollout
    assert ro is not None
    if ro.state == "Watching" and status.watch_until:
        return parse_iso(status.watch_until).timestamp()
    if ro.mirror is not None:  # the mirror phase, judged on mirrored requests at weight 0
        return served + pretraffic.mirror_seconds(spec)
    return served + parse_duration(spec.analysis.step_duration)


def _analysis(status: ReleaseStatus, spec: ReleaseSpec, now: dt.datetime, name: str) -> Optional[AnalysisRead]:
    due = analysis_due_at(status, spec)
    if due is None or now.timestamp() < due:
        return None
    ro, an = status.rollout, status.analysis
    assert ro is not None and an is not None and an.last_sample_at is not None
    if ro.state == "Watching":
        canary, stable = status.stable, status.previous
    else:
        canary, stable = status.canary, status.stable
    assert canary is not None and stable is not None
    interval = parse_duration(spec.analysis.interval)
    until = (now.timestamp() // interval) * interval  # the boundary this analysis is due at (late or not)
    if until < due:
        until = now.timestamp()  # due off the grid: a step's first analysis, or its end
    return AnalysisRead(canary=canary.deployment or deployment_name(name, canary.slot),
                        stable=stable.deployment or deployment_name(name, stable.slot),
                        since=an.last_sample_at, until=until, step=ro.step, weight=float(ro.weight),
                        judge_state=an.judge_state, failed_checks=an.failed_checks,
                        mirror=None if spec.traffic.mirror is None else
                        (ro.state == "Progressing" and ro.mirror is not None),
                        canary_slot=canary.slot, canary_hash=canary.template_hash)
