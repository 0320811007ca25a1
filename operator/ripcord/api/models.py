"""The Release API: pydantic models of spec and status.

These models are the one source of truth: `ripcord.api.crd` generates the CRD's
OpenAPI schema from them (`crds/release.yaml` is that output, committed, and a test
checks they agree). Field names are the wire names (camelCase) through aliases.
"""
from __future__ import annotations

import re
from typing import Any, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ripcord.contract import GROUP, KIND, PLURAL, VERSION

__all__ = ["GROUP", "KIND", "PLURAL", "VERSION"]  # re-exported: the CRD module and older callers name them here

DURATION_PATTERN = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$"
_DURATION_PART = re.compile(r"([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)")
_UNIT_S = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: str) -> float:
    """'1m30s' -> 90.0 seconds."""
    if not re.fullmatch(DURATION_PATTERN, text):
        raise ValueError(f"not a duration: {text!r} (use e.g. 5s, 2m, 1h30m)")
    return sum(float(n) * _UNIT_S[u] for n, u in _DURATION_PART.findall(text))


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


class Model(BaseModel):
    model_config = ConfigDict(alias_generator=_camel, populate_by_name=True, extra="forbid")

    def wire(self) -> dict[str, Any]:
        """The object as the API server gets it: camelCase, no nulls, no empty strings.

        Empty strings are left out because the sandbox's 1.20 API server decodes "" in a
        custom resource as null and then rejects it against a string schema.
        """
        return _drop_empty(self.model_dump(by_alias=True, exclude_none=True, mode="json"))


def _drop_empty(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_empty(v) for k, v in value.items() if v != ""}
    if isinstance(value, list):
        return [_drop_empty(v) for v in value]
    return value


def Duration(default: str, description: str) -> Any:  # noqa: N802 - reads as a type
    return Field(default, pattern=DURATION_PATTERN, description=description)


def Preserved(description: str) -> Any:  # noqa: N802
    """A subtree the schema keeps as-is (a PodTemplateSpec, judge state)."""
    return Field(None, description=description,
                 json_schema_extra={"x-kubernetes-preserve-unknown-fields": True})


# ----------------------------------------------------------------------------- spec

class ServicePort(Model):
    name: str = Field("http", max_length=63)
    port: int = Field(80, ge=1, le=65535)
    target_port: int = Field(8080, ge=1, le=65535, description="container port")
    protocol: Literal["TCP", "UDP", "SCTP"] = "TCP"
    routed: bool = Field(True, description="gateway-api, istio: traffic on this port is routed and weighted "
                         "(false: cluster-internal only, e.g. a metrics port)")
    section_name: Optional[str] = Field(
        None, max_length=253, pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$",
        description="gateway-api: the Gateway listener this port's HTTPRoute attaches to (default: "
        "traffic.gatewayRef.sectionName)")


class ServiceSpec(Model):
    ports: list[ServicePort] = Field(default_factory=lambda: [ServicePort()], min_length=1)


class ParentRef(Model):
    name: str
    namespace: Optional[str] = None
    section_name: Optional[str] = None


HEADER_NAME_PATTERN = r"^[A-Za-z0-9!#$%&'*+\-.^_`|~]+$"
COOKIE_NAME_PATTERN = r"^[A-Za-z0-9!#$%&'*+\-.^_`|~]+$"


class HeaderMatch(Model):
    name: str = Field(..., min_length=1, max_length=256, pattern=HEADER_NAME_PATTERN)
    value: str = Field(..., min_length=1, max_length=4096)
    type: Literal["Exact", "RegularExpression"] = "Exact"


class PathMatch(Model):
    type: Literal["Exact", "PathPrefix", "RegularExpression"] = "PathPrefix"
    value: str = Field("/", min_length=1, max_length=1024)

    @model_validator(mode="after")
    def _absolute(self) -> "PathMatch":
        if self.type != "RegularExpression" and not self.value.startswith("/"):
            raise ValueError(f"path value {self.value!r} must start with '/'")
        return self


class RequestMatch(Model):
    """One way a request matches (all of its parts must hold); a list of them matches any."""

    path: Optional[PathMatch] = None
    headers: list[HeaderMatch] = Field(default_factory=list, max_length=16)
    method: Optional[Literal["GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"]] = None


class Tester(Model):
    """Requests carrying this header (or cookie) go to the canary whatever the weight."""

    header: Optional[str] = Field(None, min_length=1, max_length=256, pattern=HEADER_NAME_PATTERN)
    cookie: Optional[str] = Field(None, min_length=1, max_length=256, pattern=COOKIE_NAME_PATTERN)
    value: str = Field(..., min_length=1, max_length=1024, pattern=r"^[^;,\s]+$")

    @model_validator(mode="after")
    def _one_way(self) -> "Tester":
        if (self.header is None) == (self.cookie is None):
            raise ValueError("a tester gives exactly one of header or cookie (with its value)")
        return self


class RouteRef(Model):
    name: str = Field(..., min_length=1, max_length=253, description="an existing HTTPRoute in the Release's namespace")
    rule: Optional[Union[int, str]] = Field(
        None, description="the rule whose backendRefs Ripcord sets: its name, or its index (0 is the first); "
        "default: the one rule that sends to the Release's Service")

    @field_validator("rule")
    @classmethod
    def _rule(cls, v: Optional[Union[int, str]]) -> Optional[Union[int, str]]:
        if isinstance(v, int) and not 0 <= v < 64:
            raise ValueError(f"rule index {v} is out of range: 0..63")
        if isinstance(v, str) and not re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", v):
            raise ValueError(f"rule name {v!r} is not a valid rule name")
        return v


class IstioSpec(Model):
    gateways: list[str] = Field(
        default_factory=list, max_length=16, description="Istio Gateways the VirtualService also binds to "
        "(`namespace/name`); the mesh (sidecars) always")
    subsets: bool = Field(
        False, description="route to subsets a/b of the Release's Service (with a DestinationRule) instead of "
        "to the slot Services; metrics then name the Service, not the slot")


class TrafficSpec(Model):
    provider: Literal["replicas", "gateway-api", "istio"] = Field(
        "replicas", description="replicas: share of ready pods behind one Service (quantised); "
        "gateway-api: HTTPRoute backendRefs weights (exact); istio: VirtualService route weights (exact)")
    gateway_ref: Optional[ParentRef] = Field(None, description="gateway-api: the Gateway the HTTPRoute attaches to")
    route_ref: Optional[RouteRef] = Field(
        None, description="gateway-api: your own HTTPRoute; Ripcord changes only the backendRefs of one rule")
    hostnames: Optional[list[str]] = None
    matches: list[RequestMatch] = Field(
        default_factory=list, max_length=8, description="gateway-api, istio: the requests the generated route "
        "serves (default: all)")
    testers: list[Tester] = Field(
        default_factory=list, max_length=8, description="gateway-api, istio: requests with one of these headers "
        "or cookies go to the canary whatever the weight, from the start of a rollout")
    istio: IstioSpec = Field(default_factory=IstioSpec)
    canary_replicas: Optional[int] = Field(
        None, ge=1, le=1000, description="gateway-api, istio: canary pods during analysis (default: "
        "min(replicas, 3)); several pods at a small weight let the judge tell a regression from pod-to-pod spread")
    max_weight_drift: int = Field(
        20, ge=0, le=100, description="replicas: a WeightQuantised condition is set when the effective weight "
        "exceeds the asked weight by more than this many points")


class MetricSpec(Model):
    name: str = Field(..., min_length=1, max_length=63, pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
    type: Literal["error-rate", "latency", "custom"] = "error-rate"
    source: Literal["app", "gateway", "istio"] = Field(
        "app", description="app: the application's own metrics; gateway: the ingress's metrics; istio: Istio's "
        "client-side metrics (both see hangs and refused connections)")
    judge: Literal["sequential", "threshold"] = Field(
        "sequential", description="sequential: anytime-valid comparison with stable; threshold: fixed bounds")
    max: Optional[float] = Field(None, ge=0, description="absolute bound (error ratio 0..1, latency seconds, custom value)")
    max_ratio: Optional[float] = Field(None, gt=0, description="bound relative to stable: canary <= maxRatio * stable")
    quantile: float = Field(0.99, gt=0, lt=1, description="latency: the quantile bounded by max/maxRatio")
    threshold_seconds: float = Field(0.5, gt=0, description="latency: a request slower than this is slow")
    query: Optional[str] = Field(
        None, description="custom: a PromQL template giving one value; variables {{namespace}}, {{release}}, "
        "{{workload}} (the workload judged), {{canary}}, {{stable}}, {{pod_regex}}, {{window}}")
    metric_prefix: Optional[str] = Field(None, description="app/gateway metric name prefix override")


def _default_metrics() -> list[MetricSpec]:
    return [MetricSpec(name="error-rate", type="error-rate", source="app"),
            MetricSpec(name="latency", type="latency", source="app", judge="threshold", max_ratio=2.0)]


class PrometheusRef(Model):
    name: str = Field("default", description="a Prometheus the operator's configuration allows")
    address: Optional[str] = Field(None, description="must be listed in the operator's configuration")


class JudgeSettings(Model):
    alpha: float = Field(0.05, gt=0, lt=0.5, description="bound on the chance of rolling back a healthy canary (the benchmarked default)")
    beta: float = Field(0.05, gt=0, lt=0.5, description="bound on the chance of promoting a canary worse than r1")
    r0: float = Field(1.1, ge=1, description="tolerance: a canary up to r0 x stable is healthy")
    r1: float = Field(2.0, gt=1, description="a canary at r1 x stable or worse must not be promoted")
    circuit_breaker: float = Field(0.2, gt=0, le=1, description="canary error ratio that fails at once")


class PodHealthSpec(Model):
    ready_deadline: str = Duration("60s", "a canary pod not ready within this is a failure (the Deployment's own progress deadline is not waited for)")
    max_restarts: int = Field(1, ge=0, description="restarts of a canary container beyond this fail the rollout")
    crash_loop: bool = Field(True, description="any canary container in CrashLoopBackOff fails the rollout")


class AnalysisSpec(Model):
    interval: str = Duration("10s", "how often each step is judged")
    step_duration: str = Duration("30s", "minimum time at each step before it may pass")
    min_requests: int = Field(50, ge=0, description="minimum canary requests per step before it may pass")
    failure_threshold: int = Field(1, ge=1, description="threshold metrics: failed checks in a row that roll back")
    prometheus: PrometheusRef = Field(default_factory=PrometheusRef)
    metrics: list[MetricSpec] = Field(default_factory=_default_metrics)
    judge: JudgeSettings = Field(default_factory=JudgeSettings)
    pod_health: PodHealthSpec = Field(default_factory=PodHealthSpec)
    post_promotion_watch: str = Duration("60s", "previous stable kept warm; a breach moves traffic straight back")
    max_duration: str = Duration("1h", "longest a rollout may run without a verdict; then it holds (never promotes)")
    metrics_unavailable_limit: str = Duration("120s", "roll back when metrics stay unavailable this long")
    pod_health_only: bool = Field(
        False, description="with metrics: [], promote on pod health alone; without it an empty metrics list "
        "is refused (no metric would judge the canary)")

    @field_validator("metrics")
    @classmethod
    def _unique_names(cls, v: list[MetricSpec]) -> list[MetricSpec]:
        names = [m.name for m in v]
        if len(set(names)) != len(names):
            raise ValueError(f"metric names must be unique: {names}")
        return v

    @model_validator(mode="after")
    def _judged_by_something(self) -> "AnalysisSpec":
        if not self.metrics and not self.pod_health_only:
            raise ValueError("metrics is empty, so no metric would judge the canary; add metrics, or set "
                             "podHealthOnly: true to promote on pod health alone")
        if self.metrics and self.pod_health_only:
            raise ValueError("podHealthOnly: true promotes on pod health alone, but metrics are given; "
                             "remove one or the other")
        return self


class WebhookSpec(Model):
    name: str
    url: str = Field(..., description="must be listed in the operator's configuration")
    type: Literal["generic", "slack", "pagerduty", "msteams"] = Field(
        "generic", description="generic: Ripcord's JSON; slack: Block Kit; pagerduty: Events API v2 (trigger on "
        "rollback/stall, resolve on the next promotion); msteams: an Adaptive Card")
    events: list[Literal["pre-rollout", "rollback", "promotion", "stall", "post-rollout"]] = Field(
        default_factory=lambda: ["rollback", "promotion", "stall"])
    secret_ref: Optional[str] = Field(None, description="Secret with a `token` key sent as a bearer token "
                                      "(pagerduty: the routing key, required)")

    @model_validator(mode="after")
    def _pagerduty_key(self) -> "WebhookSpec":
        if self.type == "pagerduty" and not self.secret_ref:
            raise ValueError(f"notifications[{self.name}].secretRef is required with type pagerduty: "
                             "its Secret's `token` key is the routing key")
        return self


class AutoscalingSpec(Model):
    """An HPA on the stable slot; the canary is sized from the stable's current replicas and the weight."""

    min_replicas: int = Field(..., ge=1, le=1000)
    max_replicas: int = Field(..., ge=1, le=1000)
    metrics: list[dict[str, Any]] = Field(
        default_factory=lambda: [{"type": "Resource", "resource": {
            "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}],
        max_length=16, description="autoscaling/v2 MetricSpecs, as written in an HPA (default: 80% CPU)")
    behavior: Optional[dict[str, Any]] = Preserved("autoscaling/v2 HorizontalPodAutoscalerBehavior, as written in an HPA")

    @field_validator("metrics")
    @classmethod
    def _metric_types(cls, v: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for i, m in enumerate(v):
            kind = m.get("type")
            key = {"Resource": "resource", "Pods": "pods", "Object": "object", "External": "external"}.get(
                str(kind))
            if key is None:
                raise ValueError(f"metrics[{i}].type {kind!r}: one of Resource, Pods, Object, External")
            if not isinstance(m.get(key), dict):
                raise ValueError(f"metrics[{i}]: type {kind} needs its {key!r} field")
        return v

    @model_validator(mode="after")
    def _bounds(self) -> "AutoscalingSpec":
        if self.min_replicas > self.max_replicas:
            raise ValueError(f"minReplicas ({self.min_replicas}) is above maxReplicas ({self.max_replicas})")
        return self


IntOrPercent = Union[int, str]


class Budget(Model):
    min_available: Optional[IntOrPercent] = None
    max_unavailable: Optional[IntOrPercent] = None

    @field_validator("min_available", "max_unavailable")
    @classmethod
    def _count_or_percent(cls, v: Optional[IntOrPercent]) -> Optional[IntOrPercent]:
        if isinstance(v, int) and v < 0:
            raise ValueError(f"{v} is negative")
        if isinstance(v, str) and not re.fullmatch(r"(100|[1-9]?[0-9])%", v):
            raise ValueError(f"{v!r} is neither a count nor a percentage like '25%'")
        return v

    @model_validator(mode="after")
    def _one(self) -> "Budget":
        if (self.min_available is None) == (self.max_unavailable is None):
            raise ValueError("a budget gives exactly one of minAvailable or maxUnavailable")
        return self


class DisruptionBudgets(Model):
    """A PodDisruptionBudget per slot, by the slot's role (moved with the roles at promotion)."""

    stable: Optional[Budget] = Field(None, description="the stable's (and, through the watch, the previous stable's)")
    canary: Optional[Budget] = Field(None, description="the canary's")


class WorkloadRef(Model):
    name: str = Field(..., description="an existing Deployment to adopt; its template becomes the first stable")


class ReleaseSpec(Model):
    version: str = Field(..., min_length=1, max_length=128, description="the version label recorded in history")
    replicas: int = Field(2, ge=1, le=1000)
    template: Optional[dict[str, Any]] = Preserved("PodTemplateSpec of this version")
    workload_ref: Optional[WorkloadRef] = None
    service: ServiceSpec = Field(default_factory=ServiceSpec)
    traffic: TrafficSpec = Field(default_factory=TrafficSpec)
    steps: Optional[list[int]] = Field(None, min_length=1, max_length=50,
                                       description="canary weights in percent, e.g. [5, 10, 25, 50]")
    step_weight: Optional[int] = Field(None, ge=1, le=100)
    max_weight: Optional[int] = Field(None, ge=1, le=100)
    analysis: AnalysisSpec = Field(default_factory=AnalysisSpec)
    paused: bool = False
    notifications: list[WebhookSpec] = Field(default_factory=list)
    deletion_policy: Literal["Retain", "Delete"] = Field(
        "Retain", description="Retain: deleting the Release leaves the stable Deployment and Service serving; "
        "Delete: everything the Release owns goes with it")
    autoscaling: Optional[AutoscalingSpec] = Field(
        None, description="an HPA on the stable; Ripcord then never sets the stable's replicas (replicas is only "
        "the size a first stable starts at)")
    disruption_budgets: Optional[DisruptionBudgets] = None

    @field_validator("steps")
    @classmethod
    def _steps_increase(cls, v: Optional[list[int]]) -> Optional[list[int]]:
        if v is None:
            return v
        if any(not 1 <= w <= 100 for w in v):
            raise ValueError(f"steps are weights in percent, 1..100: {v}")
        if any(b <= a for a, b in zip(v, v[1:])):
            raise ValueError(f"steps must increase: {v}")
        return v

    @model_validator(mode="after")
    def _one_source(self) -> "ReleaseSpec":
        if self.template is None and self.workload_ref is None:
            raise ValueError("either template or workloadRef is required")
        if self.steps is not None and self.step_weight is not None:
            raise ValueError("give steps or stepWeight/maxWeight, not both")
        _check_traffic(self.traffic)
        return self

    def weights(self) -> list[int]:
        """The canary weights of the steps, before promotion (100 is never a step: promotion is)."""
        if self.steps is not None:
            ws = list(self.steps)
        elif self.step_weight is not None:
            top = self.max_weight or 50
            ws = list(range(self.step_weight, top + 1, self.step_weight)) or [top]
        else:
            ws = [5, 10, 25, 50]
        return [w for w in ws if w < 100] or [50]


def _check_traffic(t: TrafficSpec) -> None:
    """Which traffic fields go with which provider; each message names the field."""
    if t.provider == "gateway-api":
        if t.gateway_ref is None and t.route_ref is None:
            raise ValueError("traffic.gatewayRef (Ripcord generates the HTTPRoute) or traffic.routeRef (your own "
                             "HTTPRoute) is required with the gateway-api provider")
        if t.gateway_ref is not None and t.route_ref is not None:
            raise ValueError("give traffic.gatewayRef (Ripcord generates the HTTPRoute) or traffic.routeRef (your "
                             "own HTTPRoute), not both")
    elif t.gateway_ref is not None or t.route_ref is not None:
        field = "gatewayRef" if t.gateway_ref is not None else "routeRef"
        raise ValueError(f"traffic.{field} is for the gateway-api provider, not {t.provider}")
    if t.route_ref is not None:
        for field, value in (("matches", t.matches), ("testers", t.testers), ("hostnames", t.hostnames)):
            if value:
                raise ValueError(f"traffic.{field} shapes the route Ripcord generates; with traffic.routeRef your "
                                 f"own HTTPRoute says that (Ripcord changes only the backendRefs of one rule)")
    if t.provider == "replicas":
        for field, value in (("matches", t.matches), ("testers", t.testers)):
            if value:
                raise ValueError(f"traffic.{field} needs a provider that routes requests (gateway-api or istio); "
                                 "the replicas provider only spreads connections over pods")
    if t.provider != "istio" and (t.istio.gateways or t.istio.subsets):
        raise ValueError(f"traffic.istio is for the istio provider, not {t.provider}")
    if len(t.testers) * max(1, len(t.matches)) > 64:
        raise ValueError("traffic.testers x traffic.matches makes more than 64 matches in one rule")


# --------------------------------------------------------------------------- status

class Condition(Model):
    type: str
    status: Literal["True", "False", "Unknown"]
    reason: str = Field(..., max_length=1024, pattern=r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$")
    message: str = Field("", max_length=32768)
    last_transition_time: str
    observed_generation: Optional[int] = None


class Workload(Model):
    slot: Literal["a", "b"]
    deployment: str
    version: str
    template_hash: str


class MetricResult(Model):
    name: str
    verdict: Literal["Pass", "Fail", "Inconclusive", "Unavailable"]
    value: Optional[float] = None
    stable_value: Optional[float] = None
    bound: str = ""
    message: str = ""
    canary_requests: Optional[float] = Field(
        None, description="requests sent to the canary in this interval, answered or not (counted metrics)")
    canary_bad: Optional[float] = Field(None, description="of those, errors (or slow requests)")
    stable_requests: Optional[float] = Field(None, description="requests sent to the stable in this interval")
    stable_bad: Optional[float] = Field(None, description="of those, errors (or slow requests)")


class AnalysisStatus(Model):
    at: Optional[str] = None
    verdict: Optional[Literal["Pass", "Fail", "Inconclusive", "Unavailable"]] = None
    step: Optional[int] = None
    metrics: list[MetricResult] = Field(default_factory=list)
    since: Optional[float] = Field(None, description="unix time the evidence so far starts from")
    last_sample_at: Optional[float] = None
    attempted_at: Optional[float] = Field(None, description="unix time of the last analysis, whatever its verdict")
    unavailable_since: Optional[str] = None
    failed_checks: int = 0
    preflight: Optional[str] = None
    judge_state: Optional[dict[str, Any]] = Preserved("the judge's evidence, kept so a restart resumes it")


class RollbackReason(Model):
    kind: Literal["Metric", "PodHealth", "Manual", "MetricsUnavailable", "PostPromotionWatch", "Reverted",
                  "Superseded"]
    message: str
    metric: Optional[str] = None
    value: Optional[float] = None
    bound: Optional[str] = None
    weight: Optional[int] = None
    at: str


class TimelineEntry(Model):
    at: str
    event: str
    weight: Optional[int] = None
    message: str = ""


class HistoryEntry(Model):
    id: int
    version: str
    template_hash: str
    outcome: Literal["Installed", "Progressing", "Promoted", "RolledBack", "Superseded", "Aborted", "Failed"]
    started_at: str
    ended_at: Optional[str] = None
    step_reached: int = 0
    weight_reached: int = 0
    reason: Optional[RollbackReason] = None
    timeline: list[TimelineEntry] = Field(default_factory=list)


class RolloutStatus(Model):
    """The rollout in flight; absent when the release is at rest."""

    id: int
    state: Literal["Progressing", "Promoting", "Watching", "RollingBack"]
    step: int = 0
    weight: int = 0
    effective_weight: Optional[float] = None
    step_started_at: str
    settled_at: Optional[str] = Field(None, description="when the data plane first served this step's weight")
    started_at: str
    paused: bool = False
    held: bool = Field(False, description="no verdict by analysis.maxDuration: holding, never promoting")
    promote_requested: bool = False
    reason: Optional[RollbackReason] = None
    restarts_at_step: dict[str, int] = Field(
        default_factory=dict, description="restarts per canary container (pod/container) when this step began: "
        "the step does not advance while one grows or a canary pod is not ready")


class OutboxItem(Model):
    """An Event or a notification recorded with the transition that caused it, delivered until acknowledged."""

    key: str = Field(..., description="unique per Release; the idempotency key receivers deduplicate on")
    kind: Literal["Event", "Notification"]
    reason: str = Field(..., description="Event reason, or the notification's event (rollback, promotion...)")
    message: str = ""
    type: Literal["Normal", "Warning"] = "Normal"
    rollout_id: Optional[int] = None
    at: str


class RouteRecord(Model):
    """traffic.routeRef: the named rule's backendRefs as Ripcord last saw them carry its own weights."""

    backends: str = Field(..., description="the rule's backendRefs, canonical: name:port=weight, comma-separated")
    generation: int = Field(0, description="the route's generation then")
    conflict: Optional[str] = Field(None, description="someone else changed the weights mid-rollout: why Ripcord "
                                    "holds the rollout and leaves the route as it is (`kubectl ripcord resume` "
                                    "takes the rule back)")


class Acknowledged(Model):
    promote: Optional[str] = None
    abort: Optional[str] = None
    pause: Optional[str] = None
    resume: Optional[str] = None
    retry: Optional[str] = None


class ReleaseStatus(Model):
    observed_generation: int = -1
    phase: Optional[str] = Field(None, description="display only; conditions carry the state")
    message: Optional[str] = None
    conditions: list[Condition] = Field(default_factory=list)
    stable: Optional[Workload] = None
    canary: Optional[Workload] = None
    previous: Optional[Workload] = Field(None, description="the former stable, kept warm through the watch")
    rollout: Optional[RolloutStatus] = None
    watch_until: Optional[str] = None
    weight: int = 0
    effective_weight: Optional[float] = None
    last_outcome: Optional[str] = None
    stalled_template_hash: Optional[str] = Field(None, description="the rolled-back template that stays rolled back")
    analysis: Optional[AnalysisStatus] = None
    acknowledged: Acknowledged = Field(default_factory=Acknowledged)
    history: list[HistoryEntry] = Field(default_factory=list, max_length=20)
    next_rollout_id: int = 1
    outbox: list[OutboxItem] = Field(default_factory=list, description="Events and notifications not yet delivered")
    next_outbox_seq: int = 1
    adopted: Optional[str] = Field(None, description="workloadRef: the adopted Deployment, once scaled to zero")
    route: Optional[RouteRecord] = Field(None, description="traffic.routeRef: what Ripcord knows of your route")
