"""Release objects and Events made by the real decision core, for the CLI's unit tests.

Hand-written statuses drift from what the engine writes; these are produced by
``ripcord.engine.decide.decide`` in an instant world (plans take effect at once, time is
explicit), then shaped like the API server returns them: ``status`` as the operator writes
it (``wire()``), Events as the actuator posts them. The GitOps tests use objects captured
on the sandbox instead; these cover the shapes the sandbox runs do not (pod-health and
post-promotion-watch rollbacks, held rollouts, manual actions) and never skip.
"""
from __future__ import annotations

import copy
import dataclasses
import datetime as dt
from typing import Any, Callable, Optional

from ripcord.api.models import MetricResult, ReleaseSpec, ReleaseStatus
from ripcord.api.template import template_hash
from ripcord.engine.decide import decide
from ripcord.engine.observed import AnalysisResult, HealthBreach, HealthView, Observed, Request, SlotView
from ripcord.engine.reads import plan_reads
from ripcord.traffic import provider_for

T0 = dt.datetime(2026, 1, 29, 14, 30, tzinfo=dt.timezone.utc)
UID = "0f0f0f0f-1111-2222-3333-444444444444"

ERROR_FAIL = MetricResult(name="error-rate", verdict="Fail", value=0.34, stable_value=0.002,
                          bound="ratio <= 1.1 (alpha 0.01)", message="canary 34/100 errors vs stable 2/1000")
ERROR_PASS = MetricResult(name="error-rate", verdict="Pass", value=0.001, stable_value=0.002,
                          bound="ratio <= 1.1 (alpha 0.01)")
LATENCY_PASS = MetricResult(name="latency", verdict="Pass", value=0.042, stable_value=0.040, bound="p99 <= 2x stable")
LATENCY_INC = MetricResult(name="latency", verdict="Inconclusive", value=0.05, stable_value=0.040,
                           bound="p99 <= 2x stable")

Analyzer = Callable[["Run"], Optional[AnalysisResult]]


def template(version: str) -> dict[str, Any]:
    return {"metadata": {"labels": {"app": "demo"}},
            "spec": {"containers": [{"name": "app", "image": f"ripcord/demo-app:{version}"}]}}


def spec_dict(version: str, **over: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "version": version, "replicas": 4, "template": template(version), "steps": [20, 50],
        "analysis": {"interval": "5s", "stepDuration": "10s", "postPromotionWatch": "20s", "maxDuration": "10m",
                     "metrics": [{"name": "error-rate", "type": "error-rate", "source": "app"},
                                 {"name": "latency", "type": "latency", "source": "app", "judge": "threshold",
                                  "maxRatio": 2.0}]}}
    spec.update(over)
    return spec


def passing(run: "Run") -> AnalysisResult:
    return AnalysisResult(verdict="Pass", metrics=(ERROR_PASS, LATENCY_PASS), judge_state={"n": 1})


def failing_at_step(step: int) -> Analyzer:
    """Pass before ``step`` (0-based), fail on the error rate from it on."""
    def analyze(run: "Run") -> AnalysisResult:
        ro = run.status.rollout
        if ro is not None and ro.step >= step:
            return AnalysisResult(verdict="Fail", metrics=(ERROR_FAIL, LATENCY_PASS), failing=ERROR_FAIL)
        return AnalysisResult(verdict="Inconclusive", metrics=(ERROR_PASS, LATENCY_INC))
    return analyze


class Run:
    """One Release in an instant world; ``tick`` runs one decision and advances the clock."""

    def __init__(self, spec: dict[str, Any], name: str = "web", namespace: str = "shop") -> None:
        self.name, self.namespace = name, namespace
        self.spec_raw = spec
        self.now = T0
        self.generation = 1
        self.status = ReleaseStatus()
        self.slots: dict[str, SlotView] = {}
        self.weight: Optional[float] = None
        self.analyze: Optional[Analyzer] = None
        self.breach: Optional[HealthBreach] = None
        self.requests: dict[str, Request] = {}
        self.annotations: dict[str, str] = {}
        self.events: list[dict[str, Any]] = []
        self.spec_error: Optional[str] = None

    @property
    def spec(self) -> ReleaseSpec:
        return ReleaseSpec.model_validate(self.spec_raw)

    def apply(self, spec: dict[str, Any]) -> None:
        self.spec_raw = spec
        self.generation += 1

    def ask(self, action: str, value: str) -> None:
        from ripcord.engine.observed import Request as Req
        self.annotations[f"ripcord.dev/{action}"] = value
        self.requests[action] = Req.parse(action, value)  # type: ignore[arg-type]

    def observe(self) -> Observed:
        """What the edge would read: what the engine's read plan asks for."""
        spec = None if self.spec_error else self.spec
        reads = plan_reads(self.status, spec, self.now, self.name)
        res = self.analyze(self) if self.analyze and reads.analysis is not None else None
        if res is not None and reads.analysis is not None:
            res = dataclasses.replace(res, until=reads.analysis.until)
        thash = template_hash(spec.template) if spec and spec.template and reads.template else None
        return Observed(name=self.name, namespace=self.namespace, now=self.now, generation=self.generation,
                        status=self.status, spec=spec, spec_error=self.spec_error, desired_hash=thash,
                        slots=dict(self.slots), effective_weight=self.weight if reads.traffic else None,
                        health=HealthView(breach=self.breach) if reads.health else HealthView(),
                        analysis=res, requests=dict(self.requests),
                        delivered=frozenset(i.key for i in self.status.outbox))

    def tick(self, seconds: float = 1.0) -> None:
        plan = decide(self.observe())
        self.status = plan.status
        for e in (i for i in plan.status.outbox if i.kind == "Event"):
            self.events.append({
                "metadata": {"name": f"{self.name}.{len(self.events):04x}", "namespace": self.namespace},
                "involvedObject": {"kind": "Release", "name": self.name, "namespace": self.namespace, "uid": UID},
                "reason": e.reason, "message": e.message, "type": e.type, "count": 1,
                "firstTimestamp": self.now.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "lastTimestamp": self.now.strftime("%Y-%m-%dT%H:%M:%SZ")})
        if plan.act and self.spec_error is None:
            spec = self.spec
            for s in plan.slots:
                old = self.slots.get(s.slot) or SlotView(slot=s.slot)
                thash = s.template_hash if s.template is not None else old.template_hash
                exists = old.exists or (s.template is not None and s.replicas > 0)
                self.slots[s.slot] = SlotView(slot=s.slot, exists=exists, template_hash=thash,
                                              version=s.version or old.version, replicas=s.replicas,
                                              ready=s.replicas if exists else 0)
            if plan.traffic is not None:
                t = plan.traffic
                self.weight = provider_for(spec.traffic.provider).expected_weight(spec, t.weight) \
                    if t.canary_slot else 0.0
        self.now += dt.timedelta(seconds=seconds)

    def until(self, cond: Callable[["Run"], bool], limit_s: int = 3600) -> "Run":
        for _ in range(limit_s):
            if cond(self):
                return self
            self.tick()
        raise AssertionError(f"not reached in {limit_s}s: {self.status.phase}: {self.status.message}")

    def release(self) -> dict[str, Any]:
        """The Release as `kubectl get -o json` shows it."""
        return copy.deepcopy({
            "apiVersion": "ripcord.dev/v1alpha1", "kind": "Release",
            "metadata": {"name": self.name, "namespace": self.namespace, "uid": UID, "generation": self.generation,
                         "creationTimestamp": T0.strftime("%Y-%m-%dT%H:%M:%SZ"),
                         **({"annotations": dict(self.annotations)} if self.annotations else {})},
            "spec": self.spec_raw, "status": self.status.wire()})


# ---------------------------------------------------------------------------- scenarios

def installed() -> Run:
    run = Run(spec_dict("1.0.0"))
    return run.until(lambda r: r.status.phase == "Stable")


def start(version: str = "2.0.0", analyze: Analyzer = passing, **over: Any) -> Run:
    run = installed()
    run.analyze = analyze
    run.apply(spec_dict(version, **over))
    run.tick()
    return run


def progressing() -> Run:
    run = start()
    return run.until(lambda r: r.status.analysis is not None and r.status.analysis.verdict is not None)


def rolled_back_on_metric() -> Run:
    run = start(analyze=failing_at_step(0))
    return run.until(lambda r: r.status.phase == "RolledBack")


def rolled_back_at_second_step() -> Run:
    run = start(analyze=failing_at_step(1))
    return run.until(lambda r: r.status.phase == "RolledBack")


def promoted() -> Run:
    run = start()
    return run.until(lambda r: r.status.rollout is None and r.status.phase == "Stable")


def pod_health() -> Run:
    run = start()
    run.until(lambda r: r.status.rollout is not None and r.status.rollout.settled_at is not None)
    run.breach = HealthBreach(gate="CrashLoop", pod="web-b-5d8f-x2", message="container app in CrashLoopBackOff")
    run.until(lambda r: r.status.phase == "RolledBack")
    run.breach = None
    return run


def post_promotion_watch() -> Run:
    def analyze(r: Run) -> AnalysisResult:
        ro = r.status.rollout
        if ro is not None and ro.state == "Watching":
            return AnalysisResult(verdict="Fail", metrics=(ERROR_FAIL,), failing=ERROR_FAIL)
        return passing(r)
    run = start(analyze=analyze)
    return run.until(lambda r: r.status.phase == "RolledBack")


def paused() -> Run:
    run = progressing()
    rid = run.status.rollout.id if run.status.rollout else 0
    run.ask("pause", f"{rid}/cafe0001")
    run.tick()
    return run


def aborted() -> Run:
    run = progressing()
    rid = run.status.rollout.id if run.status.rollout else 0
    run.ask("abort", f"{rid}/cafe0002")
    return run.until(lambda r: r.status.phase == "Aborted")


def held() -> Run:
    def never(r: Run) -> AnalysisResult:
        return AnalysisResult(verdict="Inconclusive", metrics=(LATENCY_INC,))
    run = start(analyze=never)
    return run.until(lambda r: r.status.rollout is not None and r.status.rollout.held, limit_s=1200)


def invalid_spec() -> Run:
    run = installed()
    run.spec_error = "spec.steps: steps must increase: [50, 20]"
    run.apply({**spec_dict("3.0.0"), "steps": [50, 20]})
    run.tick()
    return run


def superseded() -> Run:
    """2.0.0 in flight, then the template changes to 2.0.1: rollout 2 superseded by rollout 3."""
    run = progressing()
    run.apply(spec_dict("2.0.1"))
    return run.until(lambda r: any(h.outcome == "Superseded" for h in r.status.history))
