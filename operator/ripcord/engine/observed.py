"""What the engine sees: a snapshot of the world, gathered by the edge, with no I/O left in it.

The edge gathers only what :func:`ripcord.engine.reads.plan_reads` asked for; a field the
read plan did not ask for keeps its empty default.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any, Literal, Mapping, Optional

from ripcord.api.models import MetricResult, ReleaseSpec, ReleaseStatus
from ripcord.engine.calls import GateRound, HookReply
from ripcord.contract import ACTIONS

Action = Literal["promote", "abort", "pause", "resume", "retry"]

__all__ = ["ACTIONS", "Action", "AdoptView", "AnalysisResult", "Collision", "HealthBreach", "HealthView",
           "Observed", "Preflight", "Request", "SlotView"]


@dataclasses.dataclass(frozen=True)
class SlotView:
    """One of the two Deployments, as the cluster has it."""

    slot: str
    exists: bool = False
    template_hash: Optional[str] = None
    version: Optional[str] = None
    replicas: int = 0
    ready: int = 0  # ready pods of the Deployment's current template


@dataclasses.dataclass(frozen=True)
class HealthBreach:
    gate: str  # NotReady, Restarts, CrashLoop, ImagePull
    pod: str
    message: str


@dataclasses.dataclass(frozen=True)
class HealthView:
    """The judged slot's pods: a breach of a gate, and what holds a step back without failing it."""

    breach: Optional[HealthBreach] = None
    restarts: Mapping[str, int] = dataclasses.field(default_factory=dict)  # per live container, "<pod>/<container>"
    not_ready: tuple[str, ...] = ()  # live pods not Ready now
    next_deadline: Optional[dt.datetime] = None  # when a not-ready pod would breach readyDeadline


@dataclasses.dataclass(frozen=True)
class AnalysisResult:
    verdict: Literal["Pass", "Fail", "Inconclusive", "Unavailable"]
    metrics: tuple[MetricResult, ...] = ()
    judge_state: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    failed_checks: int = 0
    failing: Optional[MetricResult] = None
    error: Optional[str] = None


@dataclasses.dataclass(frozen=True)
class Preflight:
    """Whether the judge can decide within maxDuration with the declared pods and the traffic seen."""

    message: str  # one line
    feasible: Optional[bool] = None  # None: could not tell (no traffic data, Prometheus unavailable)
    fix: Optional[str] = None  # the concrete change that would make it feasible
    detail: Optional[str] = None  # everything, per metric (status.analysis.preflight)


@dataclasses.dataclass(frozen=True)
class Request:
    """A manual action asked through an annotation: ``<rollout-id>/<nonce>``."""

    action: Action
    raw: str
    rollout_id: Optional[int]

    @classmethod
    def parse(cls, action: Action, raw: str) -> "Request":
        head, _, _ = raw.partition("/")
        try:
            rid: Optional[int] = int(head)
        except ValueError:
            rid = None
        return cls(action=action, raw=raw, rollout_id=rid)


@dataclasses.dataclass(frozen=True)
class AdoptView:
    """The Deployment named by ``workloadRef``."""

    exists: bool
    template: Optional[Mapping[str, Any]] = None
    template_hash: Optional[str] = None
    replicas: int = 0


@dataclasses.dataclass(frozen=True)
class Collision:
    """An object this Release would write that something else owns."""

    kind: str
    name: str
    owner: str  # who owns it, in words


@dataclasses.dataclass(frozen=True)
class Observed:
    name: str
    namespace: str
    now: dt.datetime
    generation: int
    status: ReleaseStatus
    spec: Optional[ReleaseSpec]
    spec_error: Optional[str] = None  # why the spec cannot be acted on
    spec_error_reason: str = "InvalidSpec"
    deleting: bool = False  # metadata.deletionTimestamp is set
    desired_hash: Optional[str] = None  # hash of spec.template and what it references
    template_error: Optional[str] = None  # the API server refused the template (dry run)
    slots: Mapping[str, SlotView] = dataclasses.field(default_factory=dict)
    effective_weight: Optional[float] = None  # canary share the data plane serves now, percent
    health: HealthView = HealthView()
    analysis: Optional[AnalysisResult] = None  # ran this cycle, if it was due
    requests: Mapping[str, Request] = dataclasses.field(default_factory=dict)
    adopt: Optional[AdoptView] = None
    preflight: Optional[Preflight] = None
    collisions: tuple[Collision, ...] = ()
    delivered: frozenset[str] = frozenset()  # outbox keys delivered since the status was read
    gate: Optional[GateRound] = None  # the pre-traffic gate's round, if one was due
    hooks: tuple[HookReply, ...] = ()  # gating webhook calls that were due
    effective_mirror: Optional[float] = None  # percent of live requests the data plane mirrors to the canary

    def slot(self, name: str) -> SlotView:
        return self.slots.get(name) or SlotView(slot=name)

    @property
    def health_breach(self) -> Optional[HealthBreach]:
        return self.health.breach
