"""What to read before deciding: a pure function of the recorded status, the spec and the time.

The edge carries a :class:`ReadPlan` out and nothing more (the simulator in the unit tests
calls this same function), so whether a slot gets a health check, whether a new template
must be checked, whether an analysis is due is decided here, beside the transitions that
use the answers.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any, Mapping, Optional

from ripcord.api.models import ReleaseSpec, ReleaseStatus, parse_duration
from ripcord.contract import TrafficIntent, deployment_name
from ripcord.engine.calls import GateRead, HookRead
from ripcord.engine.gate import gate_read
from ripcord.engine.hooks import hook_reads
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
    step: int
    weight: float
    judge_state: Optional[Mapping[str, Any]]
    failed_checks: int
    mirror: Optional[bool] = None  # a mirroring Release: True in the mirror phase, False after; None: no mirror


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
    """Unix time the next analysis is due (None: no analysis runs now)."""
    ro, an = status.rollout, status.analysis
    if ro is None or an is None or an.last_sample_at is None or not spec.analysis.metrics:
        return None
    judging = (ro.state == "Progressing" and ro.settled_at is not None and status.canary is not None) or \
        (ro.state == "Watching" and status.previous is not None)
    if not judging:
        return None
    last = max(an.last_sample_at, an.attempted_at or 0.0)
    return last + parse_duration(spec.analysis.interval)


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
    return AnalysisRead(canary=canary.deployment or deployment_name(name, canary.slot),
                        stable=stable.deployment or deployment_name(name, stable.slot),
                        since=an.last_sample_at, step=ro.step, weight=float(ro.weight),
                        judge_state=an.judge_state, failed_checks=an.failed_checks,
                        mirror=None if spec.traffic.mirror is None else
                        (ro.state == "Progressing" and ro.mirror is not None))
