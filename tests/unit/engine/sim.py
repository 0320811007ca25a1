"""A pure, instant world for the decision core: plans take effect at once, time is explicit."""
from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any, Callable, Optional

from ripcord.api.models import ReleaseSpec, ReleaseStatus
from ripcord.engine.decide import decide
from ripcord.engine.observed import AnalysisResult, HealthBreach, Observed, Request, SlotView
from ripcord.engine.plan import Plan
from ripcord.traffic import provider_for

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


@dataclasses.dataclass
class World:
    spec: ReleaseSpec
    now: dt.datetime = T0
    status: ReleaseStatus = dataclasses.field(default_factory=ReleaseStatus)
    slots: dict[str, SlotView] = dataclasses.field(default_factory=dict)
    weight: Optional[float] = None
    analysis: Optional[Callable[["World"], Optional[AnalysisResult]]] = None
    breach: Optional[HealthBreach] = None
    requests: dict[str, Request] = dataclasses.field(default_factory=dict)
    generation: int = 1
    plans: list[Plan] = dataclasses.field(default_factory=list)
    template_error: Optional[str] = None
    spec_error: Optional[str] = None
    pods_lag: bool = False  # True: slots do not become ready

    def desired_hash(self) -> Optional[str]:
        from ripcord.api.template import template_hash
        return template_hash(self.spec.template) if self.spec.template else None

    def observe(self) -> Observed:
        res = None
        ro, an = self.status.rollout, self.status.analysis
        if self.analysis and ro is not None and an is not None and an.last_sample_at is not None and \
                (ro.state == "Watching" or (ro.state == "Progressing" and ro.settled_at)):
            if self.now.timestamp() - an.last_sample_at >= 5:
                res = self.analysis(self)
        return Observed(name="demo", namespace="ns", now=self.now, generation=self.generation, status=self.status,
                        spec=None if self.spec_error else self.spec, spec_error=self.spec_error,
                        desired_hash=self.desired_hash(), template_error=self.template_error,
                        slots=dict(self.slots), effective_weight=self.weight, health_breach=self.breach,
                        analysis=res, requests=dict(self.requests))

    def tick(self, seconds: float = 1.0) -> Plan:
        plan = decide(self.observe())
        self.plans.append(plan)
        self.status = plan.status
        if plan.act:
            for s in plan.slots:
                old = self.slots.get(s.slot) or SlotView(slot=s.slot)
                thash = s.template_hash if s.template is not None else old.template_hash
                exists = old.exists or (s.template is not None and s.replicas > 0)
                ready = 0 if self.pods_lag and s.template is not None and thash != old.template_hash else s.replicas
                self.slots[s.slot] = SlotView(slot=s.slot, exists=exists, template_hash=thash,
                                              version=s.version or old.version, replicas=s.replicas,
                                              ready=ready if exists else 0)
            if plan.traffic is not None:
                t = plan.traffic
                p = provider_for(self.spec.traffic.provider)
                self.weight = p.expected_weight(self.spec, t.weight) if t.canary_slot else 0.0
        self.now += dt.timedelta(seconds=seconds)
        return plan

    def run_until(self, cond: Callable[["World"], bool], limit_s: int = 3600) -> None:
        for _ in range(limit_s):
            if cond(self):
                return
            self.tick()
        raise AssertionError(f"condition not reached in {limit_s}s; phase {self.status.phase}: {self.status.message}")

    def events(self) -> list[str]:
        return [e.reason for p in self.plans for e in p.events]


def passing(world: World) -> AnalysisResult:
    return AnalysisResult(verdict="Pass", judge_state={"n": 1})


def inconclusive(world: World) -> AnalysisResult:
    return AnalysisResult(verdict="Inconclusive")
