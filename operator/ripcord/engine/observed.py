"""What the engine sees: a snapshot of the world, gathered by the edge, with no I/O left in it.

The edge gathers only what :func:`ripcord.engine.reads.plan_reads` asked for; a field the
read plan did not ask for keeps its empty default.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any, Literal, Mapping, Optional

import re

from ripcord.api.models import MetricResult, ReleaseSpec, ReleaseStatus
from ripcord.engine.calls import GateRound, HookReply
from ripcord.contract import ACTIONS

Action = Literal["promote", "abort", "pause", "resume", "retry", "drill"]
REQUEST_VALUE = re.compile(r"([0-9]{1,9})/([A-Za-z0-9-]{1,64})")

__all__ = ["ACTIONS", "Action", "AdoptView", "AnalysisResult", "Collision", "HealthBreach", "HealthView",
           "Observed", "Preflight", "Request", "RouteView", "SlotView"]


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
    until: Optional[float] = None  # unix seconds the evidence ends at (None: the decision's time)


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
    raw: str  # as acknowledged in status: the annotation's value, bounded
    rollout_id: Optional[int]
    valid: bool = True  # <rollout-id>/<nonce> (the nonce: 1-64 letters, digits, dashes)

    @classmethod
    def parse(cls, action: Action, raw: str) -> "Request":
        m = REQUEST_VALUE.fullmatch(raw)
        if m is None:
            return cls(action=action, raw=raw[:80], rollout_id=None, valid=False)
        return cls(action=action, raw=raw, rollout_id=int(m.group(1)))


@dataclasses.dataclass(frozen=True)
class AdoptView:
    """The Deployment named by ``workloadRef``."""

    exists: bool
    template: Optional[Mapping[str, Any]] = None
    template_hash: Optional[str] = None
    replicas: int = 0


@dataclasses.dataclass(frozen=True)
class RouteView:
    """traffic.routeRef: the rule of the user's HTTPRoute that Ripcord weights, as the watch has it."""

    rule: int
    refs: tuple[Mapping[str, Any], ...]  # its backendRefs
    generation: int = 0
    resource_version: Optional[str] = None  # the version decided on: Ripcord writes on top of this one only


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
    route: Optional[RouteView] = None  # traffic.routeRef (a route that cannot be used is a spec_error)
    delivered: frozenset[str] = frozenset()  # outbox keys delivered since the status was read
    gate: Optional[GateRound] = None  # the pre-traffic gate's round, if one was due
    hooks: tuple[HookReply, ...] = ()  # gating webhook calls that were due
    effective_mirror: Optional[float] = None  # percent of live requests the data plane mirrors to the canary

    def slot(self, name: str) -> SlotView:
        return self.slots.get(name) or SlotView(slot=name)

    @property
    def health_breach(self) -> Optional[HealthBreach]:
        return self.health.breach
