"""A pure, instant world for the decision core: plans take effect at once, time is explicit.

The world keeps what a cluster would: each slot's Deployment (template hash, replicas, ready
pods) and the data plane (for ``replicas``: which pods the application Service selects; for
``gateway-api``: the HTTPRoute's weights). The effective weight the engine sees is read back
from that data plane for the traffic intent the *recorded* status implies, as the edge does.

Knobs make the world misbehave on purpose: ``unready`` slots never get ready pods,
``frozen_traffic`` keeps the data plane as it is (a lagging gateway), ``crash`` drops a plan
before it acts (the operator killed after its status write).
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any, Callable, Optional

from ripcord.api.models import MetricResult, OutboxItem, ReleaseSpec, ReleaseStatus
from ripcord.api.template import template_hash
from ripcord.api.models import GateRequest
from ripcord.contract import TrafficIntent
from ripcord.engine.calls import GateRead, GateRound, HookRead, HookReply, Reply
from ripcord.engine.decide import decide
from ripcord.engine.observed import (AdoptView, AnalysisResult, HealthBreach, HealthView, Observed, Preflight, Request,
                                     RouteView, SlotView)
from ripcord.engine.plan import Plan
from ripcord.engine.reads import AnalysisRead, plan_reads
from ripcord.traffic import userroute

T0 = dt.datetime(2026, 1, 29, 14, 30, tzinfo=dt.timezone.utc)


def template(version: str, **env: str) -> dict[str, Any]:
    return {"metadata": {"labels": {"app": "demo"}},
            "spec": {"containers": [{"name": "app", "image": f"ripcord/demo-app:{version}",
                                     "env": [{"name": k, "value": v} for k, v in env.items()]}]}}


def spec(version: str = "1.0.0", **over: Any) -> ReleaseSpec:
    base: dict[str, Any] = {"version": version, "replicas": 3, "template": template(version),
                            "analysis": {"interval": "5s", "stepDuration": "10s", "postPromotionWatch": "20s",
                                         "maxDuration": "10m"}}
    base.update(over)
    return ReleaseSpec.model_validate(base)


def gateway_spec(version: str = "1.0.0", **over: Any) -> ReleaseSpec:
    return spec(version, traffic={"provider": "gateway-api", "gatewayRef": {"name": "gw"}}, **over)


def istio_spec(version: str = "1.0.0", **over: Any) -> ReleaseSpec:
    return spec(version, traffic={"provider": "istio"}, **over)


def user_route_spec(version: str = "1.0.0", **over: Any) -> ReleaseSpec:
    return spec(version, traffic={"provider": "gateway-api", "routeRef": {"name": "public", "rule": "web"}}, **over)


def round_trip(status: ReleaseStatus) -> ReleaseStatus:
    """The status as the API server would hand it back: wire form, validated again."""
    return ReleaseStatus.model_validate(status.wire())


def check_recordable(status: ReleaseStatus, generation: int) -> None:
    """Every status the engine asks to record is valid on the wire and survives the trip unchanged."""
    assert status.observed_generation == generation
    back = round_trip(status)
    assert back == status, f"status changes on the wire: {_differences(status.model_dump(), back.model_dump())}"


def _differences(a: Any, b: Any, path: str = "status") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        return [d for k in sorted(set(a) | set(b)) for d in _differences(a.get(k), b.get(k), f"{path}.{k}")]
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in _differences(x, y, f"{path}[{i}]")]
    return [] if a == b else [f"{path}: {a!r} -> {b!r}"]


@dataclasses.dataclass
class World:
    spec: ReleaseSpec
    now: dt.datetime = T0
    status: ReleaseStatus = dataclasses.field(default_factory=ReleaseStatus)
    slots: dict[str, SlotView] = dataclasses.field(default_factory=dict)
    analysis: Optional[Callable[["World"], Optional[AnalysisResult]]] = None
    breach: Optional[HealthBreach] = None
    requests: dict[str, Request] = dataclasses.field(default_factory=dict)
    generation: int = 1
    plans: list[Plan] = dataclasses.field(default_factory=list)
    template_error: Optional[str] = None
    spec_error: Optional[str] = None
    adopt: Optional[AdoptView] = None
    referenced: Optional[dict[tuple[str, str], Any]] = None  # ConfigMap/Secret data the template reads
    unready: set[str] = dataclasses.field(default_factory=set)  # slots whose pods never get ready
    ready_cap: dict[str, int] = dataclasses.field(default_factory=dict)  # at most this many ready pods per slot
    frozen_traffic: bool = False  # the data plane does not follow the plan (yet)
    selector: Optional[str] = None  # replicas: "all" or the slot the application Service selects
    route: Optional[dict[str, int]] = None  # gateway-api: backend weights per slot
    analyses: int = 0  # how many times the analysis ran
    restarts: dict[str, int] = dataclasses.field(default_factory=dict)  # per container of the judged slot's pods
    not_ready: tuple[str, ...] = ()  # pods of the judged slot that are not ready
    preflight: Optional[Preflight] = None  # what the pre-flight says of a new template
    delivered: list[OutboxItem] = dataclasses.field(default_factory=list)  # Events/notifications sent, in order
    first_seq: dict[int, int] = dataclasses.field(default_factory=dict)  # id(plan) -> its first outbox key
    user_rule: Optional[list[dict[str, Any]]] = None  # traffic.routeRef: the rule's backendRefs in the user's route
    user_route_generation: int = 1
    # The pre-traffic gate and gating webhooks (engine/calls.py): how the canary's Service and each webhook
    # answer (None: no answer, as from an operator that cannot reach them), and every call made, in order.
    gate_reply: Optional[Callable[["World", GateRequest], Reply]] = None
    hook_reply: Optional[Callable[["World", HookRead], Reply]] = None
    gate_rounds: list[GateRead] = dataclasses.field(default_factory=list)
    hook_calls: list[HookRead] = dataclasses.field(default_factory=list)
    route_mirror: int = 0  # gateway-api: percent the route mirrors to the canary
    analysis_reads: list[AnalysisRead] = dataclasses.field(default_factory=list)

    # ------------------------------------------------------------ what the edge observes

    def desired_hash(self) -> Optional[str]:
        return template_hash(self.spec.template, self.referenced) if self.spec.template else None

    def effective_weight(self, intent: TrafficIntent) -> Optional[float]:
        if self.spec.traffic.route_ref is not None:
            if self.user_rule is None:
                return None
            return userroute.canary_share(self.user_rule, "ns", "demo", intent)
        if self.spec.traffic.provider in ("gateway-api", "istio"):
            if self.route is None:
                return None
            if intent.canary_slot is None:
                return 0.0
            total = sum(self.route.values())
            return 100.0 * self.route.get(intent.canary_slot, 0) / total if total else None
        if self.selector is None:
            return None
        if intent.canary_slot is None:
            return 0.0
        selected = ("a", "b") if self.selector == "all" else (self.selector,)
        ready = {s: self.slots[s].ready for s in selected if s in self.slots}
        total = sum(ready.values())
        return 100.0 * ready.get(intent.canary_slot, 0) / total if total else None

    def observe(self) -> Observed:
        """What the edge would read: exactly what the engine's read plan asks for, nothing more."""
        spec = None if self.spec_error else self.spec
        reads = plan_reads(self.status, spec, self.now, "demo")
        res = None
        if reads.analysis is not None and self.analysis is not None:
            self.analysis_reads.append(reads.analysis)
            res = self.analysis(self)
            if res is not None and res.until is None:
                res = dataclasses.replace(res, until=reads.analysis.until)  # the edge judges up to that instant
            self.analyses += 1
        desired = self.desired_hash() if reads.template else None
        new = reads.new_template_unless is not None and desired is not None and desired not in reads.new_template_unless
        health = HealthView(breach=self.breach, restarts=self.restarts, not_ready=self.not_ready) \
            if reads.health is not None else HealthView()
        gate = None
        if reads.gate is not None:
            self.gate_rounds.append(reads.gate)
            gate = GateRound(reads.gate.rollout_id, reads.gate.round,
                             tuple(self.gate_reply(self, r) if self.gate_reply else Reply(error="unreachable")
                                   for r in reads.gate.requests))
        self.hook_calls += reads.hooks
        hooks = tuple(HookReply(h.rollout_id, h.name, h.key,
                                self.hook_reply(self, h) if self.hook_reply else Reply(error="unreachable"))
                      for h in reads.hooks)
        mirror = float(self.route_mirror) if reads.traffic is not None and reads.traffic.mirror \
            and self.route is not None else None
        return Observed(name="demo", namespace="ns", now=self.now, generation=self.generation, status=self.status,
                        spec=spec, spec_error=self.spec_error, desired_hash=desired,
                        template_error=self.template_error if new else None,
                        slots=dict(self.slots),
                        effective_weight=self.effective_weight(reads.traffic) if reads.traffic else None,
                        health=health, analysis=res, requests=dict(self.requests),
                        adopt=self.adopt if reads.adopt else None,
                        preflight=self.preflight if new and reads.preflight else None,
                        delivered=frozenset(i.key for i in self.delivered), gate=gate, hooks=hooks,
                        effective_mirror=mirror,
                        route=RouteView(rule=1, refs=tuple(self.user_rule), generation=self.user_route_generation,
                                        resource_version=str(self.user_route_generation))
                        if self.user_rule is not None and spec is not None and spec.traffic.route_ref else None)

    # ------------------------------------------------------------ one reconcile

    def tick(self, seconds: float = 1.0, crash: bool = False) -> Plan:
        """Observe, decide, record; act unless ``crash`` (killed after the status write); then time passes."""
        seq = self.status.next_outbox_seq
        plan = decide(self.observe())
        self.first_seq[id(plan)] = seq
        check_recordable(plan.status, self.generation)
        self.plans.append(plan)
        self.status = plan.status
        if plan.deletion is None and not crash:
            if plan.act:
                self.act(plan)
            # the edge delivers the outbox after acting: what a crash leaves undelivered goes out next time
            sent = {i.key for i in self.delivered}
            self.delivered += [i for i in plan.status.outbox if i.key not in sent]
        self.now += dt.timedelta(seconds=seconds)
        return plan

    def act(self, plan: Plan) -> None:
        for s in plan.slots:
            old = self.slots.get(s.slot) or SlotView(slot=s.slot)
            thash = s.template_hash if s.template is not None else old.template_hash
            exists = old.exists or (s.template is not None and s.replicas > 0)
            ready = 0 if s.slot in self.unready or not exists else min(s.replicas, self.ready_cap.get(s.slot, s.replicas))
            self.slots[s.slot] = SlotView(slot=s.slot, exists=exists, template_hash=thash,
                                          version=s.version or old.version, replicas=s.replicas, ready=ready)
        if plan.traffic is not None and not self.frozen_traffic:
            t = plan.traffic
            if self.spec.traffic.route_ref is not None:
                if self.user_rule is not None and not plan.hold_route:
                    wanted = userroute.desired_refs(self.user_rule, "ns", "demo", t)
                    if userroute.fingerprint(wanted) != userroute.fingerprint(self.user_rule):
                        self.user_rule, self.user_route_generation = wanted, self.user_route_generation + 1
            elif self.spec.traffic.provider in ("gateway-api", "istio"):
                self.route = {t.stable_slot: 100 - t.weight, **({t.canary_slot: t.weight} if t.canary_slot else {})}
                self.route_mirror = t.mirror if t.canary_slot else 0
            else:
                self.selector = "all" if t.canary_slot and t.weight > 0 else t.stable_slot
        if plan.adopt_scale_down and self.adopt is not None:
            self.adopt = dataclasses.replace(self.adopt, replicas=0)

    # ------------------------------------------------------------ driving it

    def edit(self, **over: Any) -> None:
        """A `kubectl apply` of a changed spec: a new generation."""
        base = self.spec.model_dump(by_alias=True, exclude_none=True)
        base.update(over)
        self.spec = ReleaseSpec.model_validate(base)
        self.generation += 1

    def ask(self, action: str, rollout_id: Optional[int], nonce: str = "n1") -> None:
        """Write a manual-action annotation the way the kubectl plugin does."""
        raw = f"{rollout_id}/{nonce}"
        self.requests[action] = Request.parse(action, raw)  # type: ignore[arg-type]

    def run_until(self, cond: Callable[["World"], bool], limit_s: int = 3600, every: float = 1.0) -> None:
        start = self.now
        while (self.now - start).total_seconds() < limit_s:
            if cond(self):
                return
            self.tick(every)
        raise AssertionError(f"condition not reached in {limit_s}s; phase {self.status.phase}: {self.status.message}")

    def run_for(self, seconds: int, every: float = 1.0) -> None:
        """Reconcile every ``every`` seconds for ``seconds`` seconds."""
        for _ in range(int(seconds / every)):
            self.tick(every)

    def restarted(self) -> "World":
        """A new operator: the same cluster, the status as recorded, nothing else carried over."""
        return dataclasses.replace(self, status=round_trip(self.status), plans=[], delivered=list(self.delivered))

    def events(self) -> list[str]:
        """The reasons of the Events delivered so far, in order."""
        return [i.reason for i in self.delivered if i.kind == "Event"]

    def event_messages(self, reason: str) -> list[str]:
        return [i.message for i in self.delivered if i.kind == "Event" and i.reason == reason]

    def emitted(self, plan: Plan, kind: str = "Event") -> list[OutboxItem]:
        """The Events (or Notifications) ``plan`` recorded in the outbox, in order."""
        first = self.first_seq[id(plan)]
        return [item for item in plan.status.outbox if item.kind == kind and int(item.key) >= first]

    def notifications(self) -> list[tuple[str, Optional[int], str]]:
        """(event, rollout id, message) of the notifications delivered so far, in order."""
        return [(i.reason, i.rollout_id, i.message) for i in self.delivered if i.kind == "Notification"]

    # ------------------------------------------------------------ reading it

    @property
    def ro(self):  # type: ignore[no-untyped-def]
        return self.status.rollout

    @property
    def state(self) -> Optional[str]:
        return self.status.rollout.state if self.status.rollout else None

    def condition(self, type_: str):  # type: ignore[no-untyped-def]
        return next((c for c in self.status.conditions if c.type == type_), None)

    def kstatus(self) -> tuple[str, str, str]:
        """(Ready, Reconciling, Stalled) statuses."""
        def s(t: str) -> str:
            c = self.condition(t)
            return c.status if c else "-"
        return s("Ready"), s("Reconciling"), s("Stalled")


# ---------------------------------------------------------------- analysis stand-ins

def passing(world: World) -> AnalysisResult:
    return AnalysisResult(verdict="Pass", judge_state={"n": 1})


def inconclusive(world: World) -> AnalysisResult:
    return AnalysisResult(verdict="Inconclusive")


def unavailable(world: World) -> AnalysisResult:
    return AnalysisResult(verdict="Unavailable", error="prometheus: timeout after 2s")


def failing(world: World) -> AnalysisResult:
    m = MetricResult(name="error-rate", verdict="Fail", value=1.0, stable_value=0.0, bound="<= 0.02")
    return AnalysisResult(verdict="Fail", metrics=(m,), failing=m)


# ---------------------------------------------------------------- common set-ups

def installed(s: Optional[ReleaseSpec] = None, **kw: Any) -> World:
    """A world whose first release is installed and serving."""
    w = World(spec=s or spec("1.0.0"), **kw)
    w.run_until(lambda w: w.status.phase == "Stable", 60)
    return w


def start_rollout(w: World, version: str = "2.0.0", **env: str) -> None:
    w.edit(version=version, template=template(version, **env))


# ---------------------------------------------------------------- how a run steps: the kill points of the restart tests

def uninterrupted(w: World, i: int) -> World:
    w.tick()
    return w


def restart_every_tick(w: World, i: int) -> World:
    w = w.restarted()
    w.tick()
    return w


def kill_after_status_write(every: int, offset: int) -> Callable[[World, int], World]:
    def step(w: World, i: int) -> World:
        crash = i % every == offset
        w.tick(crash=crash)
        return w.restarted() if crash else w
    return step
