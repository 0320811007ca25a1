"""Carry out the engine's read plan: what the engine needs to decide, from the caches and Prometheus.

Reads only, and only what :func:`ripcord.engine.reads.plan_reads` asked for. The objects a
Release owns come from the watch-fed stores (no API request); the API is asked only for a
new template's dry run (once per template), the data of referenced ConfigMaps/Secrets when
they changed, and a ``workloadRef`` Deployment until it is adopted. Prometheus is asked
only when an analysis is due, within the analyzer's own deadline.
"""
from __future__ import annotations

import datetime as dt
import logging
from typing import Any, Callable, Mapping, Optional, Protocol

from kubernetes import client
from kubernetes.client.rest import ApiException
from pydantic import ValidationError

from ripcord.analysis import health
from ripcord.api.models import ReleaseSpec, ReleaseStatus
from ripcord.api.template import template_hash
from ripcord.contract import (ACTIONS, ADOPT_ANNOTATION, HASH_ANNOTATION, SLOT_LABEL, SLOTS, VERSION_ANNOTATION,
                              TrafficIntent, action_annotation, app_service_name, controller_uid, deployment_name,
                              other_slot, slot_service_name)
from ripcord.engine.observed import (AdoptView, AnalysisResult, Collision, HealthBreach, HealthView, Observed,
                                     Preflight, Request, SlotView)
from ripcord.engine.calls import GateRead, GateRound, HookRead, HookReply
from ripcord.engine.reads import AnalysisRead, HealthRead, plan_reads
from ripcord.kube.stores import Stores
from ripcord.redact import redact
from ripcord.traffic import provider_for

log = logging.getLogger("ripcord.observe")

SpecCheck = Callable[[str, ReleaseSpec], Optional[str]]  # (namespace, spec) -> why it may not be used


class Hasher(Protocol):
    def hash(self, namespace: str, release: str, template: Mapping[str, Any]) -> str: ...


class Checker(Protocol):
    def check(self, namespace: str, release: str, slot: str, template: Mapping[str, Any], template_hash: str,
              version: str) -> Optional[str]: ...


def describe_validation_error(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        loc = ".".join(str(p) for p in err["loc"]) or "spec"
        parts.append(f"spec.{loc}: {err['msg']}")
    return "; ".join(parts)


class PlainHasher:
    """Hashes templates that reference no ConfigMap or Secret (tests, tools)."""

    def hash(self, namespace: str, release: str, template: Mapping[str, Any]) -> str:
        return template_hash(template, None)


class Observer:
    def __init__(self, api: client.ApiClient, stores: Stores, *, hasher: Hasher, checker: Checker,
                 analyzer: Any = None, check_spec: Optional[SpecCheck] = None, prober: Any = None) -> None:
        self.apps = client.AppsV1Api(api)
        self.api = api
        self.stores = stores
        self.hasher = hasher
        self.checker = checker
        self.analyzer = analyzer
        self.check_spec = check_spec
        self.prober = prober  # ripcord.probes.prober.Prober: the gate's requests and gating webhooks
        self.foreign: dict[tuple[str, str], list[Collision]] = {}  # (ns, release) -> found at create time

    def observe(self, release: Mapping[str, Any], now: dt.datetime, delivered: frozenset[str] = frozenset()) -> Observed:
        meta = release["metadata"]
        ns, name = meta["namespace"], meta["name"]
        status = ReleaseStatus.model_validate(release.get("status") or {})
        base = dict(name=name, namespace=ns, now=now, generation=int(meta.get("generation") or 0), status=status,
                    deleting=bool(meta.get("deletionTimestamp")), delivered=delivered)
        try:
            spec = ReleaseSpec.model_validate(release.get("spec") or {})
        except ValidationError as exc:
            return Observed(**base, spec=None, spec_error=describe_validation_error(exc))
        if self.check_spec is not None and (problem := self.check_spec(ns, spec)):
            return Observed(**base, spec=spec, spec_error=problem, spec_error_reason="PrometheusNotAllowed")
        if self.prober is not None and (problem := self.prober.spec_problem(ns, spec)):
            return Observed(**base, spec=spec, spec_error=problem, spec_error_reason="InvalidSpec")

        reads = plan_reads(status, spec, now, name)
        desired = self.hasher.hash(ns, name, spec.template) if reads.template and spec.template is not None else None
        template_error = preflight = None
        if desired is not None and reads.new_template_unless is not None and desired not in reads.new_template_unless:
            slot = other_slot(status.stable.slot) if status.stable else "a"
            assert spec.template is not None
            template_error = self.checker.check(ns, name, slot, spec.template, desired, spec.version)
            if reads.preflight and template_error is None and status.stable is not None:
                preflight = self._preflight(ns, name, spec, status)
        gate, hooks = self._probe(ns, meta.get("uid") or "", reads.gate, reads.hooks)
        return Observed(
            **base, spec=spec, desired_hash=desired, template_error=template_error, gate=gate, hooks=hooks,
            effective_mirror=self._effective_mirror(ns, name, spec, reads.traffic)
            if reads.traffic is not None and reads.traffic.mirror else None,
            slots={s: self._slot(ns, name, s) for s in SLOTS},
            effective_weight=self._effective_weight(ns, name, spec, reads.traffic) if reads.traffic else None,
            health=self._health(ns, name, spec, reads.health, now) if reads.health else HealthView(),
            analysis=self._analyze(ns, name, spec, reads.analysis, now) if reads.analysis else None,
            requests=self._requests(meta.get("annotations") or {}),
            adopt=self._adopt(ns, name, reads.adopt) if reads.adopt else None,
            preflight=preflight, collisions=tuple(self._collisions(release, spec)))

    # ---------------------------------------------------------------- from the stores

    def _slot(self, ns: str, release: str, slot: str) -> SlotView:
        d = self.stores.deployments.get(ns, deployment_name(release, slot))
        if d is None or (d["metadata"].get("labels") or {}).get(SLOT_LABEL) != slot:
            return SlotView(slot=slot)
        ann = d["metadata"].get("annotations") or {}
        st = d.get("status") or {}
        rolled_out = (st.get("observedGeneration") or 0) >= (d["metadata"].get("generation") or 0)
        updated, ready, total = st.get("updatedReplicas") or 0, st.get("readyReplicas") or 0, st.get("replicas") or 0
        current_ready = ready if rolled_out and updated == total else min(ready, updated) if rolled_out else 0
        return SlotView(slot=slot, exists=True, template_hash=ann.get(HASH_ANNOTATION),
                        version=ann.get(VERSION_ANNOTATION), replicas=(d.get("spec") or {}).get("replicas") or 0,
                        ready=current_ready)

    def _effective_weight(self, ns: str, release: str, spec: ReleaseSpec, intent: TrafficIntent) -> Optional[float]:
        provider = provider_for(spec.traffic.provider)
        fetched: dict[str, Any] = {}
        if spec.traffic.provider == "gateway-api":
            route = self.stores.routes.get(ns, app_service_name(release))
            if route is not None:
                fetched["route"] = route
        else:
            svc = self.stores.services.get(ns, app_service_name(release))
            if svc is not None:
                fetched["service"] = svc
                selector = svc["spec"].get("selector") or {}
                fetched["pods"] = [p for p in self.stores.pods.of_release(ns, release)
                                   if selector and all((p["metadata"].get("labels") or {}).get(k) == v
                                                       for k, v in selector.items())]
        return provider.effective_weight(intent, fetched)

    def _effective_mirror(self, ns: str, release: str, spec: ReleaseSpec, intent: TrafficIntent) -> Optional[float]:
        provider = provider_for(spec.traffic.provider)
        route = self.stores.routes.get(ns, app_service_name(release))
        mirrored = getattr(provider, "effective_mirror", None)
        return mirrored(intent, {"route": route} if route is not None else {}) if mirrored else None

    def _probe(self, ns: str, uid: str, gate: Optional[GateRead],
               hooks: tuple[HookRead, ...]) -> tuple[Optional[GateRound], tuple[HookReply, ...]]:
        """The gate's round and the webhook calls due (all at once, each within its timeout)."""
        if gate is None and not hooks:
            return None, ()
        if self.prober is None:
            from ripcord.probes.prober import unconfigured
            return unconfigured(gate, hooks)
        return self.prober.run(ns, uid, gate, hooks)  # type: ignore[no-any-return]

    def _health(self, ns: str, release: str, spec: ReleaseSpec, read: HealthRead, now: dt.datetime) -> HealthView:
        pods = [p for p in self.stores.pods.of_release(ns, release)
                if (p["metadata"].get("labels") or {}).get(SLOT_LABEL) == read.slot
                and (p["metadata"].get("annotations") or {}).get(HASH_ANNOTATION) == read.template_hash]
        breach = health.evaluate(pods, spec.analysis.pod_health, now=now, rolled_out_at=read.since)
        summary = health.summarise(pods, spec.analysis.pod_health, rolled_out_at=read.since)
        return HealthView(
            breach=HealthBreach(gate=breach.gate, pod=breach.pod, message=breach.message) if breach else None,
            restarts=summary.restarts, not_ready=summary.not_ready,
            next_deadline=dt.datetime.fromtimestamp(summary.next_deadline, dt.timezone.utc)
            if summary.next_deadline is not None else None)

    @staticmethod
    def _requests(annotations: Mapping[str, str]) -> dict[str, Request]:
        return {a: Request.parse(a, annotations[action_annotation(a)]) for a in ACTIONS  # type: ignore[arg-type]
                if action_annotation(a) in annotations}

    def _collisions(self, release: Mapping[str, Any], spec: ReleaseSpec) -> list[Collision]:
        """Objects this Release would write that another owner holds (from the stores, and create-time 409s)."""
        meta = release["metadata"]
        ns, name, uid = meta["namespace"], meta["name"], meta.get("uid")
        wanted = [("Deployment", deployment_name(name, s)) for s in SLOTS] + \
                 [("Service", slot_service_name(name, s)) for s in SLOTS] + [("Service", app_service_name(name))]
        if spec.traffic.provider == "gateway-api":
            wanted.append(("HTTPRoute", app_service_name(name)))
        found = []
        for kind, obj_name in wanted:
            obj = self.stores.by_kind(kind).get(ns, obj_name)
            if obj is None:
                continue
            owner = controller_uid(obj)
            adoptable = owner is None and (obj["metadata"].get("annotations") or {}).get(ADOPT_ANNOTATION) == name
            if owner != uid and not adoptable:
                release_of = (obj["metadata"].get("labels") or {}).get("ripcord.dev/release")
                who = f"Release {release_of}" if release_of and release_of != name else \
                    ("another owner" if owner else "no Release (it was not created by Ripcord)")
                found.append(Collision(kind, obj_name, who))
        found += [c for c in self.foreign.get((ns, name), []) if not self._cleared(ns, c)]
        return found

    def _cleared(self, ns: str, c: Collision) -> bool:
        """A collision found at create time is re-checked (one GET) until the object is gone or handed over."""
        try:
            if c.kind == "Deployment":
                obj = self.api.sanitize_for_serialization(self.apps.read_namespaced_deployment(c.name, ns))
            elif c.kind == "Service":
                obj = self.api.sanitize_for_serialization(client.CoreV1Api(self.api).read_namespaced_service(c.name, ns))
            else:
                return False
        except ApiException as exc:
            if exc.status == 404:
                return True
            raise
        return controller_uid(obj) is None and bool((obj["metadata"].get("annotations") or {}).get(ADOPT_ANNOTATION))

    # ---------------------------------------------------------------- from the API, when planned

    def _adopt(self, ns: str, release: str, deployment: str) -> AdoptView:
        try:
            d = self.apps.read_namespaced_deployment(deployment, ns)
        except ApiException as exc:
            if exc.status == 404:
                return AdoptView(exists=False)
            raise
        template = self.api.sanitize_for_serialization(d.spec.template)
        return AdoptView(exists=True, template=template, template_hash=self.hasher.hash(ns, release, template),
                         replicas=d.spec.replicas or 0)

    # ---------------------------------------------------------------- from Prometheus, when planned

    def _preflight(self, ns: str, name: str, spec: ReleaseSpec, status: ReleaseStatus) -> Optional[Preflight]:
        if self.analyzer is None:
            return None
        from ripcord.analysis.analyzer import Target
        assert status.stable is not None
        canary_slot = other_slot(status.stable.slot)
        provider = provider_for(spec.traffic.provider)
        weights = spec.weights()
        try:
            out = self.analyzer.preflight(
                spec.analysis, Target(ns, name, deployment_name(name, canary_slot),
                                      deployment_name(name, status.stable.slot)),
                weights=weights, canary_pods=provider.canary_replicas(spec, weights[0]), stable_pods=spec.replicas)
        except Exception as exc:  # noqa: BLE001 - a pre-flight is advice; it never blocks a rollout
            log.warning("%s/%s: pre-flight failed: %s", ns, name, redact(f"{type(exc).__name__}: {exc}")[:500])
            return Preflight(message="pre-flight unavailable: Prometheus could not be read")
        return Preflight(message=out.summary, feasible=out.feasible, fix=out.fix or None, detail=out.message)

    def _analyze(self, ns: str, name: str, spec: ReleaseSpec, read: AnalysisRead, now: dt.datetime) -> AnalysisResult:
        if self.analyzer is None:
            return AnalysisResult(verdict="Unavailable", error="no analyzer configured")
        from ripcord.analysis.analyzer import Target
        mirror = {} if read.mirror is None else {"mirror": read.mirror}  # a mirroring Release only
        out = self.analyzer.analyze(spec.analysis, Target(ns, name, read.canary, read.stable), since=read.since,
                                    now=now.timestamp(), step=read.step, weight=read.weight,
                                    judge_state=read.judge_state, failed_checks=read.failed_checks, **mirror)
        return AnalysisResult(verdict=out.verdict, metrics=tuple(out.metrics), judge_state=out.judge_state,
                              failed_checks=out.failed_checks, failing=out.failing, error=out.error)
