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

from ripcord.api.models import ReleaseSpec, ReleaseStatus, parse_duration
from ripcord.api.template import template_hash
from ripcord.engine.decide import decide, traffic_intent
from ripcord.engine.observed import AdoptView, AnalysisResult, HealthBreach, Observed, Request, SlotView
from ripcord.engine.plan import Plan

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

    # ------------------------------------------------------------ what the edge observes

    def desired_hash(self) -> Optional[str]:
        return template_hash(self.spec.template, self.referenced) if self.spec.template else None

    def effective_weight(self) -> Optional[float]:
        intent = traffic_intent(self.status)
        if intent is None:
            return None
        if self.spec.traffic.provider == "gateway-api":
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

    def _analysis_due(self) -> bool:
        ro, an = self.status.rollout, self.status.analysis
        if self.analysis is None or ro is None or an is None or an.last_sample_at is None:
            return False
        if not (ro.state == "Watching" or (ro.state == "Progressing" and ro.settled_at)):
            return False
        return self.now.timestamp() - an.last_sample_at >= parse_duration(self.spec.analysis.interval)

    def observe(self) -> Observed:
        res = None
        if self._analysis_due():
            assert self.analysis is not None
            res = self.analysis(self)
            self.analyses += 1
        ro = self.status.rollout
        breach = self.breach if ro is not None and ro.state in ("Progressing", "Promoting", "Watching") else None
        return Observed(name="demo", namespace="ns", now=self.now, generation=self.generation, status=self.status,
                        spec=None if self.spec_error else self.spec, spec_error=self.spec_error,
                        desired_hash=self.desired_hash(), template_error=self.template_error,
                        slots=dict(self.slots), effective_weight=self.effective_weight(), health_breach=breach,
                        analysis=res, requests=dict(self.requests), adopt=self.adopt)

    # ------------------------------------------------------------ one reconcile

    def tick(self, seconds: float = 1.0, crash: bool = False) -> Plan:
        """Observe, decide, record; act unless ``crash`` (killed after the status write); then time passes."""
        plan = decide(self.observe())
        check_recordable(plan.status, self.generation)
        self.plans.append(plan)
        self.status = plan.status
        if plan.act and not crash:
            self.act(plan)
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
            if self.spec.traffic.provider == "gateway-api":
                self.route = {t.stable_slot: 100 - t.weight, **({t.canary_slot: t.weight} if t.canary_slot else {})}
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
        return dataclasses.replace(self, status=round_trip(self.status), plans=[])

    def events(self) -> list[str]:
        return [e.reason for p in self.plans for e in p.events]

    def event_messages(self, reason: str) -> list[str]:
        return [e.message for p in self.plans for e in p.events if e.reason == reason]

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


# ---------------------------------------------------------------- common set-ups

def installed(s: Optional[ReleaseSpec] = None, **kw: Any) -> World:
    """A world whose first release is installed and serving."""
    w = World(spec=s or spec("1.0.0"), **kw)
    w.run_until(lambda w: w.status.phase == "Stable", 60)
    return w


def start_rollout(w: World, version: str = "2.0.0", **env: str) -> None:
    w.edit(version=version, template=template(version, **env))
