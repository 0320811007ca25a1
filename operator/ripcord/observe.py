"""Gather what the engine needs to decide, from the cluster and Prometheus.

Reads only. Everything that can fail slowly (Prometheus) is bounded inside the analyzer;
everything else is a handful of GETs and LISTs against the API server.
"""
from __future__ import annotations

import datetime as dt
import logging
from typing import Any, Callable, Mapping, Optional

from kubernetes import client
from kubernetes.client.rest import ApiException
from ripcord.actuate.kube import HASH_ANNOTATION, VERSION_ANNOTATION, Actuator
from ripcord.api.limits import SPEC_PROBLEM_MAX, bounded
from ripcord.api.models import ReleaseSpec, ReleaseStatus, parse_duration
from ripcord.api.status import parse_status
from ripcord.api.validation import SpecProblem, parse_spec
from ripcord.api.template import referenced_objects, template_hash
from ripcord.engine.decide import parse_iso, traffic_intent
from ripcord.engine.observed import ACTIONS, AdoptView, AnalysisResult, HealthBreach, Observed, Request, SlotView
from ripcord.engine.plan import SlotIntent
from ripcord.traffic import provider_for
from ripcord.traffic.base import RELEASE_LABEL, SLOT_LABEL, deployment_name, other_slot
from ripcord.traffic.gateway_api import ROUTE_GROUP, ROUTE_VERSION

log = logging.getLogger("ripcord.observe")

class Observer:
    def __init__(self, api_client: client.ApiClient, *, analyzer: Any = None,
                 check_prometheus: Optional[Callable[[ReleaseSpec], Optional[str]]] = None) -> None:
        self.api = api_client
        self.core = client.CoreV1Api(api_client)
        self.apps = client.AppsV1Api(api_client)
        self.custom = client.CustomObjectsApi(api_client)
        self.analyzer = analyzer
        self.check_prometheus = check_prometheus

    def observe(self, release: Mapping[str, Any], now: dt.datetime) -> Observed:
        meta = release["metadata"]
        ns, name = meta["namespace"], meta["name"]
        parsed_status = parse_status(release.get("status"))
        status = parsed_status.status
        base = dict(name=name, namespace=ns, now=now, generation=int(meta.get("generation") or 0), status=status)
        if parsed_status.newer is not None:
            return Observed(**base, spec=None, spec_error=parsed_status.newer, spec_error_reason="NewerStatus")
        parsed = parse_spec(release.get("spec"), name)
        if isinstance(parsed, SpecProblem):
            return Observed(**base, spec=None, spec_error=parsed.message)
        spec = parsed.spec
        if self.check_prometheus is not None and (problem := self.check_prometheus(spec)):
            return Observed(**base, spec=spec, spec_error=problem, spec_error_reason="PrometheusNotAllowed")

        slots = {s: self._slot(ns, deployment_name(name, s), s) for s in ("a", "b")}
        desired_hash = self._template_hash(ns, spec.template) if spec.template is not None else None
        adopt = self._adopt(ns, spec) if spec.workload_ref is not None else None
        requests = self._requests(meta.get("annotations") or {})

        ro = status.rollout
        intent = traffic_intent(status)
        effective = None
        if intent is not None and (ro is not None or status.stable is not None):
            effective = self._effective_weight(ns, name, spec, intent)

        breach = None
        if ro is not None and ro.state in ("Progressing", "Promoting") and status.canary is not None:
            breach = self._health(ns, name, status.canary.slot, spec, parse_iso(ro.started_at), now)
        elif ro is not None and ro.state == "Watching" and status.stable is not None:
            breach = self._health(ns, name, status.stable.slot, spec, parse_iso(ro.started_at), now)

        template_error = preflight = None
        starting = status.stable is None or (
            ro is None and desired_hash not in (None, status.stable.template_hash, status.stalled_template_hash))
        if starting and spec.template is not None:
            template_error = self._dry_run(ns, name, spec, status, desired_hash)
            if status.stable is not None and self.analyzer is not None and template_error is None:
                preflight = self._preflight(ns, name, spec, status)
        if ro is not None and desired_hash not in (None, status.canary.template_hash if status.canary else None,
                                                   status.stable.template_hash if status.stable else None):
            template_error = self._dry_run(ns, name, spec, status, desired_hash)

        analysis = self._analyze_if_due(ns, name, spec, status, now)
        return Observed(**base, spec=spec, desired_hash=desired_hash, template_error=template_error, slots=slots,
                        effective_weight=effective, health_breach=breach, analysis=analysis, requests=requests,
                        adopt=adopt, preflight=preflight)

    # ---------------------------------------------------------------- pieces

    def _slot(self, ns: str, name: str, slot: str) -> SlotView:
        try:
            d = self.apps.read_namespaced_deployment(name, ns)
        except ApiException as exc:
            if exc.status == 404:
                return SlotView(slot=slot)
            raise
        ann = d.metadata.annotations or {}
        st = d.status
        rolled_out = (st.observed_generation or 0) >= (d.metadata.generation or 0)
        updated, ready, total = st.updated_replicas or 0, st.ready_replicas or 0, st.replicas or 0
        current_ready = ready if rolled_out and updated == total else min(ready, updated) if rolled_out else 0
        return SlotView(slot=slot, exists=True, template_hash=ann.get(HASH_ANNOTATION), version=ann.get(VERSION_ANNOTATION),
                        replicas=d.spec.replicas or 0, ready=current_ready)

    def _template_hash(self, ns: str, template: Mapping[str, Any]) -> str:
        data: dict[tuple[str, str], Any] = {}
        for kind, obj_name in sorted(referenced_objects(template)):
            try:
                if kind == "ConfigMap":
                    cm = self.core.read_namespaced_config_map(obj_name, ns)
                    data[(kind, obj_name)] = {"data": cm.data, "binaryData": cm.binary_data}
                else:
                    sec = self.core.read_namespaced_secret(obj_name, ns)
                    data[(kind, obj_name)] = {"data": sec.data}
            except ApiException as exc:
                if exc.status != 404:
                    raise
                data[(kind, obj_name)] = None
        return template_hash(template, data)

    def _adopt(self, ns: str, spec: ReleaseSpec) -> AdoptView:
        assert spec.workload_ref is not None
        try:
            d = self.apps.read_namespaced_deployment(spec.workload_ref.name, ns)
        except ApiException as exc:
            if exc.status == 404:
                return AdoptView(exists=False)
            raise
        template = self.api.sanitize_for_serialization(d.spec.template)
        return AdoptView(exists=True, template=template, template_hash=self._template_hash(ns, template),
                         replicas=d.spec.replicas or 0)

    @staticmethod
    def _requests(annotations: Mapping[str, str]) -> dict[str, Request]:
        return {a: Request.parse(a, annotations[f"ripcord.dev/{a}"]) for a in ACTIONS
                if f"ripcord.dev/{a}" in annotations}

    def _effective_weight(self, ns: str, name: str, spec: ReleaseSpec, intent: Any) -> Optional[float]:
        provider = provider_for(spec.traffic.provider)
        fetched: dict[str, Any] = {}
        if spec.traffic.provider == "gateway-api":
            try:
                fetched["route"] = self.custom.get_namespaced_custom_object(ROUTE_GROUP, ROUTE_VERSION, ns,
                                                                            "httproutes", name)
            except ApiException as exc:
                if exc.status != 404:
                    raise
        else:
            try:
                svc = self.core.read_namespaced_service(name, ns)
            except ApiException as exc:
                if exc.status != 404:
                    raise
                svc = None
            if svc is not None:
                fetched["service"] = self.api.sanitize_for_serialization(svc)
                selector = ",".join(f"{k}={v}" for k, v in (svc.spec.selector or {}).items())
                pods = self.core.list_namespaced_pod(ns, label_selector=selector).items if selector else []
                fetched["pods"] = [self.api.sanitize_for_serialization(p) for p in pods]
        return provider.effective_weight(intent, fetched)

    def _pods(self, ns: str, release: str, slot: str) -> list[dict[str, Any]]:
        pods = self.core.list_namespaced_pod(ns, label_selector=f"{RELEASE_LABEL}={release},{SLOT_LABEL}={slot}").items
        return [self.api.sanitize_for_serialization(p) for p in pods]

    def _health(self, ns: str, release: str, slot: str, spec: ReleaseSpec, since: dt.datetime,
                now: dt.datetime) -> Optional[HealthBreach]:
        from ripcord.analysis import health
        pods = self._pods(ns, release, slot)
        breach = health.evaluate(pods, spec.analysis.pod_health, now=now, rolled_out_at=since)
        if breach is None:
            return None
        return HealthBreach(gate=breach.gate, pod=breach.pod, message=breach.message)

    def _dry_run(self, ns: str, name: str, spec: ReleaseSpec, status: ReleaseStatus,
                 thash: Optional[str]) -> Optional[str]:
        """Ask the API server whether the template would make a valid Deployment; nothing is created."""
        slot = other_slot(status.stable.slot) if status.stable else "a"
        intent = SlotIntent(slot=slot, replicas=1, template=spec.template, template_hash=thash, version=spec.version)
        body = Actuator(self.api).deployment_body(ns, name, spec, intent, {
            "apiVersion": "ripcord.dev/v1alpha1", "kind": "Release", "name": name, "uid": "dry-run"})
        body["metadata"]["name"] = f"{name}-dry-run"
        body["metadata"].pop("ownerReferences")
        try:
            self.apps.create_namespaced_deployment(ns, body, dry_run="All")
        except ApiException as exc:
            if exc.status in (400, 422):
                return _api_message(exc)
            if exc.status == 409:
                return None
            raise
        return None

    def _preflight(self, ns: str, name: str, spec: ReleaseSpec, status: ReleaseStatus) -> Optional[str]:
        from ripcord.analysis.analyzer import Target
        assert status.stable is not None
        canary_slot = other_slot(status.stable.slot)
        provider = provider_for(spec.traffic.provider)
        weights = spec.weights()
        try:
            return self.analyzer.preflight(
                spec.analysis, Target(ns, name, deployment_name(name, canary_slot), deployment_name(name, status.stable.slot)),
                weights=weights, canary_pods=provider.canary_replicas(spec, weights[0]), stable_pods=spec.replicas)
        except Exception as exc:  # a pre-flight is advice; it never blocks a rollout
            log.warning("pre-flight failed: %s", exc)
            return f"pre-flight unavailable: {exc}"

    def _analyze_if_due(self, ns: str, name: str, spec: ReleaseSpec, status: ReleaseStatus,
                        now: dt.datetime) -> Optional[AnalysisResult]:
        ro, an = status.rollout, status.analysis
        if ro is None or an is None or an.last_sample_at is None:
            return None
        if ro.state == "Progressing" and ro.settled_at is not None and status.canary is not None:
            canary, stable = status.canary, status.stable
        elif ro.state == "Watching" and status.previous is not None:
            canary, stable = status.stable, status.previous
        else:
            return None
        assert canary is not None and stable is not None
        if now.timestamp() - an.last_sample_at < parse_duration(spec.analysis.interval):
            return None
        if not spec.analysis.metrics:
            return AnalysisResult(verdict="Pass")  # pod-health gates only: nothing else to judge
        if self.analyzer is None:
            return AnalysisResult(verdict="Unavailable", error="no analyzer configured")
        from ripcord.analysis.analyzer import Target
        out = self.analyzer.analyze(spec.analysis, Target(ns, name, canary.deployment or deployment_name(name, canary.slot),
                                                          stable.deployment or deployment_name(name, stable.slot)),
                                    since=an.last_sample_at, now=now.timestamp(), step=ro.step, weight=float(ro.weight),
                                    judge_state=an.judge_state, failed_checks=an.failed_checks)
        return AnalysisResult(verdict=out.verdict, metrics=tuple(out.metrics), judge_state=out.judge_state,
                              failed_checks=out.failed_checks, failing=out.failing, error=out.error)


def _api_message(exc: ApiException) -> str:
    import json
    try:
        return bounded(str(json.loads(exc.body).get("message") or exc.reason), SPEC_PROBLEM_MAX)
    except (ValueError, TypeError, AttributeError):
        return bounded(str(exc.reason), SPEC_PROBLEM_MAX)
