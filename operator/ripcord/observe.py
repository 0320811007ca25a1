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
from typing import Any, Callable, Mapping, Optional, Protocol, cast

from kubernetes import client
from kubernetes.client.rest import ApiException
from ripcord.analysis import health
from ripcord.api.models import ReleaseSpec, ReleaseStatus
from ripcord.api.status import parse_status
from ripcord.api.template import template_hash
from ripcord.api.validation import SpecProblem, parse_spec
from ripcord.contract import (ACTIONS, ADOPT_ANNOTATION, HASH_ANNOTATION, RELEASE_LABEL, SLOT_LABEL, SLOTS,
                              VERSION_ANNOTATION, TrafficIntent, action_annotation, app_service_name, autoscaler_name,
                              budget_name, controller_uid, deployment_name, other_slot, slot_service_name)
from ripcord.engine.observed import (AdoptView, AnalysisResult, Collision, HealthBreach, HealthView, Observed,
                                     Preflight, Request, RouteView, SlotView)
from ripcord.engine.calls import GateRead, GateRound, HookRead, HookReply
from ripcord.engine.reads import AnalysisRead, HealthRead, plan_reads
from ripcord.engine.scaling import canary_replicas, stable_replicas
from ripcord.kube.discovery import CURRENT, ApiVersions
from ripcord.kube.kinds import coordinates
from ripcord.kube.stores import Stores
from ripcord.redact import redact
from ripcord.traffic import provider_for, userroute
from ripcord.traffic.gateway_api import route_names

log = logging.getLogger("ripcord.observe")

SpecCheck = Callable[[str, ReleaseSpec], Optional[str]]  # (namespace, spec) -> why it may not be used


class Hasher(Protocol):
    def hash(self, namespace: str, release: str, template: Mapping[str, Any]) -> str: ...


class Checker(Protocol):
    def check(self, namespace: str, release: str, slot: str, template: Mapping[str, Any], template_hash: str,
              version: str) -> Optional[str]: ...


class PlainHasher:
    """Hashes templates that reference no ConfigMap or Secret (tests, tools)."""

    def hash(self, namespace: str, release: str, template: Mapping[str, Any]) -> str:
        return template_hash(template, None)


class Observer:
    def __init__(self, api: client.ApiClient, stores: Stores, *, hasher: Hasher, checker: Checker,
                 analyzer: Any = None, check_spec: Optional[SpecCheck] = None, prober: Any = None,
                 versions: Callable[[], ApiVersions] = lambda: CURRENT) -> None:
        self.versions = versions
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
        parsed_status = parse_status(release.get("status"))
        status = parsed_status.status
        base = dict(name=name, namespace=ns, now=now, generation=int(meta.get("generation") or 0), status=status,
                    deleting=bool(meta.get("deletionTimestamp")), delivered=delivered)
        if parsed_status.newer is not None:
            return Observed(**base, spec=None, spec_error=parsed_status.newer, spec_error_reason="NewerStatus")
        parsed = parse_spec(release.get("spec"), name)
        if isinstance(parsed, SpecProblem):
            return Observed(**base, spec=None, spec_error=parsed.message)
        spec = parsed.spec
        if self.check_spec is not None and (problem := self.check_spec(ns, spec)):
            return Observed(**base, spec=spec, spec_error=problem, spec_error_reason="PrometheusNotAllowed")
        if self.prober is not None and (problem := self.prober.spec_problem(ns, spec)):
            return Observed(**base, spec=spec, spec_error=problem, spec_error_reason="InvalidSpec")
        route_view: Optional[RouteView] = None
        if spec.traffic.route_ref is not None:
            route_view, problem = self._user_route(ns, name, spec)
            if problem is not None and not base["deleting"]:
                return Observed(**base, spec=spec, spec_error=problem)

        reads = plan_reads(status, spec, now, name)
        desired = self.hasher.hash(ns, name, spec.template) if reads.template and spec.template is not None else None
        template_error = preflight = None
        slots = {s: self._slot(ns, name, s) for s in SLOTS}
        if desired is not None and reads.new_template_unless is not None and desired not in reads.new_template_unless:
            slot = other_slot(status.stable.slot) if status.stable else "a"
            assert spec.template is not None
            template_error = self.checker.check(ns, name, slot, spec.template, desired, spec.version)
            if reads.preflight and template_error is None and status.stable is not None:
                preflight = self._preflight(ns, name, spec, status, slots[status.stable.slot])
        gate, hooks = self._probe(ns, meta.get("uid") or "", reads.gate, reads.hooks)
        return Observed(
            **base, spec=spec, desired_hash=desired, template_error=template_error, gate=gate, hooks=hooks,
            effective_mirror=self._effective_mirror(ns, name, spec, reads.traffic)
            if reads.traffic is not None and reads.traffic.mirror else None,
            slots=slots,
            effective_weight=self._effective_weight(ns, name, spec, reads.traffic) if reads.traffic else None,
            health=self._health(ns, name, spec, reads.health, now) if reads.health else HealthView(),
            analysis=self._analyze(ns, name, spec, reads.analysis, now) if reads.analysis else None,
            requests=self._requests(meta.get("annotations") or {}),
            adopt=self._adopt(ns, name, reads.adopt) if reads.adopt else None,
            preflight=preflight, collisions=tuple(self._collisions(release, spec)), route=route_view)

    # ---------------------------------------------------------------- from the stores

    def _slot(self, ns: str, release: str, slot: str) -> SlotView:
        d = self.stores.deployments.get(ns, deployment_name(release, slot))
        if d is None or (d["metadata"].get("labels") or {}).get(SLOT_LABEL) != slot:
            return SlotView(slot=slot)
        ann = d["metadata"].get("annotations") or {}
        st = d.get("status") or {}
        rolled_out = (st.get("observedGeneration") or 0) >= (d["metadata"].get("generation") or 0)
        updated, ready, total = st.get("updatedReplicas") or 0, st.get("readyReplicas") or 0, st.get("replicas") or 0
        # Ready as this template only once the controller has acted on the latest change and no pod of
        # an older template is left: a rolled-back version's pod still Ready in the slot is served
        # beside the new canary's (the Deployment's ready count mixes them in), so a step must not start.
        current_ready = ready if rolled_out and updated == total else 0
        return SlotView(slot=slot, exists=True, template_hash=ann.get(HASH_ANNOTATION),
                        version=ann.get(VERSION_ANNOTATION), replicas=(d.get("spec") or {}).get("replicas") or 0,
                        ready=current_ready)

    def _effective_weight(self, ns: str, release: str, spec: ReleaseSpec, intent: TrafficIntent) -> Optional[float]:
        provider = provider_for(spec.traffic.provider)
        fetched: dict[str, Any] = {}
        ref = spec.traffic.route_ref
        if spec.traffic.provider == "gateway-api" and ref is not None:
            route = self.stores.user_routes.get(ns, ref.name)
            found = userroute.find_rule(route, release, ref.rule) if route is not None else None
            if route is None or found is None or found.index is None:
                return None
            fetched.update(user_route=route, rule=found.index, release=release)
        elif spec.traffic.provider == "gateway-api":
            routes = [self.stores.routes.get(ns, n) for n in route_names(release, spec)]
            if any(r is None for r in routes):
                return None
            fetched["routes"] = routes
        elif spec.traffic.provider == "istio":
            vs = self.stores.virtual_services.get(ns, app_service_name(release))
            if vs is not None:
                fetched["virtual_service"] = vs
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
            wanted += [("HTTPRoute", n) for n in route_names(name, spec)]
        if spec.traffic.provider == "istio":
            wanted.append(("VirtualService", app_service_name(name)))
            if spec.traffic.istio.subsets:
                wanted.append(("DestinationRule", app_service_name(name)))
        if spec.autoscaling is not None:
            wanted.append(("HorizontalPodAutoscaler", autoscaler_name(name)))
        if spec.disruption_budgets is not None:
            wanted += [("PodDisruptionBudget", budget_name(name, s)) for s in SLOTS]
        found = []
        for kind, obj_name in wanted:
            obj = self.stores.by_kind(kind).get(ns, obj_name)
            if obj is None:
                continue
            owner = controller_uid(obj)
            adoptable = owner is None and (obj["metadata"].get("annotations") or {}).get(ADOPT_ANNOTATION) == name
            if owner != uid and not adoptable:
                release_of = (obj["metadata"].get("labels") or {}).get(RELEASE_LABEL)
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

    def _user_route(self, ns: str, release: str, spec: ReleaseSpec) -> tuple[Optional[RouteView], Optional[str]]:
        """traffic.routeRef: the rule Ripcord weights, from the watch of users' routes; or why it cannot be used.

        The API is asked only when the store has no such route (before the watch has listed it,
        or when it does not exist), to tell the two apart.
        """
        ref = spec.traffic.route_ref
        assert ref is not None
        route = self.stores.user_routes.get(ns, ref.name)
        if route is None:
            route = self._get_route(ns, ref.name)
            if route is None:
                return None, f"spec.traffic.routeRef.name: HTTPRoute {ref.name} not found in namespace {ns}"
            if RELEASE_LABEL not in (route["metadata"].get("labels") or {}):
                self.stores.user_routes.apply("MODIFIED", route)
        owner = (route["metadata"].get("labels") or {}).get(RELEASE_LABEL)
        if owner:
            return None, (f"spec.traffic.routeRef.name: HTTPRoute {ref.name} is generated by Ripcord for Release "
                          f"{owner}; name a route of your own")
        found = userroute.find_rule(route, release, ref.rule)
        if found.index is None:
            return None, found.problem
        return RouteView(rule=found.index, refs=tuple(userroute.rule_refs(route, found.index)),
                         generation=int(route["metadata"].get("generation") or 0),
                         resource_version=route["metadata"].get("resourceVersion")), None

    def _get_route(self, ns: str, name: str) -> Optional[dict[str, Any]]:
        group, version, plural = coordinates("HTTPRoute", self.versions())
        try:
            return cast(dict[str, Any], client.CustomObjectsApi(self.api).get_namespaced_custom_object(
                group, version, ns, plural, name))
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise

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

    def _preflight(self, ns: str, name: str, spec: ReleaseSpec, status: ReleaseStatus,
                   stable_view: SlotView) -> Optional[Preflight]:
        """Sized as the rollout will be: under an autoscaler, from the stable's current replicas."""
        if self.analyzer is None:
            return None
        from ripcord.analysis.analyzer import Target
        assert status.stable is not None
        canary_slot = other_slot(status.stable.slot)
        weights = spec.weights()
        stable_pods = stable_replicas(spec, stable_view.replicas if stable_view.exists else 0)
        try:
            out = self.analyzer.preflight(
                spec.analysis, Target(ns, name, deployment_name(name, canary_slot),
                                      deployment_name(name, status.stable.slot)),
                weights=weights, canary_pods=canary_replicas(spec, stable_pods, weights[0]), stable_pods=stable_pods)
        except Exception as exc:  # noqa: BLE001 - a pre-flight is advice; it never blocks a rollout
            log.warning("%s/%s: pre-flight failed: %s", ns, name, redact(f"{type(exc).__name__}: {exc}")[:500])
            return Preflight(message="pre-flight unavailable: Prometheus could not be read")
        return Preflight(message=out.summary, feasible=out.feasible, fix=out.fix or None, detail=out.message)

    def _replica_set(self, ns: str, release: str, slot: Optional[str], template_hash: Optional[str]) -> Optional[str]:
        """The ``pod-template-hash`` of the slot's pods of ``template_hash`` (from the pod store), if any."""
        if slot is None or template_hash is None:
            return None
        for p in self.stores.pods.of_release(ns, release):
            meta = p["metadata"]
            if (meta.get("labels") or {}).get(SLOT_LABEL) == slot and \
                    (meta.get("annotations") or {}).get(HASH_ANNOTATION) == template_hash:
                rs = (meta.get("labels") or {}).get("pod-template-hash")
                if rs:
                    return str(rs)
        return None

    def _analyze(self, ns: str, name: str, spec: ReleaseSpec, read: AnalysisRead, now: dt.datetime) -> AnalysisResult:
        if self.analyzer is None:
            return AnalysisResult(verdict="Unavailable", error="no analyzer configured")
        from ripcord.analysis.analyzer import Target
        mirror = {} if read.mirror is None else {"mirror": read.mirror}  # a mirroring Release only
        rs = self._replica_set(ns, name, read.canary_slot, read.canary_hash)
        target = Target(ns, name, read.canary, read.stable, canary_pods=f"{read.canary}-{rs}-" if rs else None)
        out = self.analyzer.analyze(spec.analysis, target, since=read.since,
                                    now=read.until, step=read.step, weight=read.weight,
                                    judge_state=read.judge_state, failed_checks=read.failed_checks, **mirror)
        return AnalysisResult(verdict=out.verdict, metrics=tuple(out.metrics), judge_state=out.judge_state,
                              failed_checks=out.failed_checks, failing=out.failing, error=out.error, until=read.until)
