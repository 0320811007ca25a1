"""The Release API: pydantic models of spec and status.

These models are the one source of truth: `ripcord.api.crd` generates the CRD's
OpenAPI schema from them (`crds/release.yaml` is that output, committed, and a test
checks they agree). Field names are the wire names (camelCase) through aliases.
"""
from __future__ import annotations

import re
from typing import Annotated, Any, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema, field_validator, model_validator

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


class ServiceSpec(Model):
    ports: list[ServicePort] = Field(default_factory=lambda: [ServicePort()], min_length=1)


class ParentRef(Model):
    name: str
    namespace: Optional[str] = None
    section_name: Optional[str] = None


class MirrorSpec(Model):
    """gateway-api: mirror a share of live requests to the canary at weight 0 and judge it on them first."""

    percent: int = Field(..., ge=1, le=100, description="share of live requests copied to the canary (their "
                         "answers are discarded), from the canary Ready until the mirror phase ends")
    duration: Optional[str] = Field(None, pattern=DURATION_PATTERN, description="how long the canary is judged "
                                    "on mirrored requests before its first real step (default: analysis.stepDuration)")


class TrafficSpec(Model):
    provider: Literal["replicas", "gateway-api"] = Field(
        "replicas", description="replicas: share of ready pods behind one Service (quantised); "
        "gateway-api: HTTPRoute backendRefs weights (exact)")
    gateway_ref: Optional[ParentRef] = Field(None, description="gateway-api: the Gateway the HTTPRoute attaches to")
    hostnames: Optional[list[str]] = None
    canary_replicas: Optional[int] = Field(
        None, ge=1, le=1000, description="gateway-api: canary pods during analysis (default: min(replicas, 3)); "
        "several pods at a small weight let the judge tell a regression from pod-to-pod spread")
    max_weight_drift: int = Field(
        20, ge=0, le=100, description="replicas: a WeightQuantised condition is set when the effective weight "
        "exceeds the asked weight by more than this many points")
    mirror: Optional[MirrorSpec] = Field(None, description="gateway-api: judge the canary on mirrored live "
                                         "requests at weight 0 before its first step (HTTPRoute RequestMirror)")


class MetricSpec(Model):
    name: str = Field(..., min_length=1, max_length=63, pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
    type: Literal["error-rate", "latency", "custom"] = "error-rate"
    source: Literal["app", "gateway"] = Field(
        "app", description="app: the application's own metrics; gateway: the ingress/mesh's metrics "
        "(sees hangs and refused connections)")
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


# ------------------------------------------------- pre-traffic gate, gating webhooks, pauses

STATUS_CLASS_PATTERN = r"^([1-5][0-9][0-9]|[1-5]xx)$"
HEADER_NAME_PATTERN = r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$"
PAUSE_PATTERN = r"^pause( ([0-9]+(\.[0-9]+)?(ms|s|m|h))+)?$"
GATE_TIMEOUT_MAX_S = 10.0
WEBHOOK_TIMEOUT_MAX_S = 15.0


def _bounded(text: str, field: str, most: float) -> str:
    seconds = parse_duration(text)
    if not 0 < seconds <= most:
        raise ValueError(f"{field} must be more than 0 and at most {most:g}s (the reconcile waits for it), "
                         f"got {text}")
    return text


class GateRequest(Model):
    """One request of the pre-traffic gate, sent to the canary's own Service."""

    path: str = Field(..., min_length=1, max_length=1024, pattern=r"^/[^\s?#]*(\?[^\s#]*)?$",
                      description="absolute path (and query) on the canary's Service, e.g. /health")
    method: Literal["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] = "GET"
    headers: dict[str, str] = Field(default_factory=dict, description="request headers")
    body: Optional[str] = Field(None, max_length=4096, description="request body (POST, PUT, PATCH)")
    expect: list[str] = Field(
        default_factory=lambda: ["2xx"], min_length=1, max_length=20,
        json_schema_extra={"items": {"type": "string", "pattern": STATUS_CLASS_PATTERN}},
        description="status codes that pass: exact (200) or a class (2xx, 3xx, 4xx, 5xx)")
    max_latency: Optional[str] = Field(None, pattern=DURATION_PATTERN,
                                       description="an answer slower than this fails, whatever its status")

    @field_validator("expect")
    @classmethod
    def _status_classes(cls, v: list[str]) -> list[str]:
        bad = [c for c in v if not re.fullmatch(STATUS_CLASS_PATTERN, c)]
        if bad:
            raise ValueError(f"unknown status code or class {bad}: use a code from 100 to 599 (e.g. 200) or a "
                             f"class 1xx..5xx")
        return v

    @field_validator("headers")
    @classmethod
    def _headers(cls, v: dict[str, str]) -> dict[str, str]:
        for name, value in v.items():
            if not re.fullmatch(HEADER_NAME_PATTERN, name) or len(name) > 256:
                raise ValueError(f"header name {name!r} is not an HTTP token")
            if any(c in value for c in "\r\n\0") or len(value) > 4096:
                raise ValueError(f"header {name}: the value must be one line of at most 4096 characters")
        return v

    def label(self) -> str:
        """``GET /health``: how messages name the request."""
        return f"{self.method} {self.path}"


class GateSpec(Model):
    """The built-in pre-traffic gate: requests to the canary's Service before its weight leaves 0."""

    requests: list[GateRequest] = Field(..., min_length=1, max_length=20,
                                        description="sent together, once per round")
    successes: int = Field(1, ge=1, le=100, description="rounds in a row in which every request passes; then the "
                           "gate passes")
    failures: int = Field(1, ge=1, le=100, description="rounds in a row with a failed request that roll back "
                          "(an unreachable canary is a failed request)")
    interval: str = Duration("1s", "time between the starts of two rounds")
    timeout: str = Duration("2s", "one request, hard limit (at most 10s)")
    port: Optional[str] = Field(None, description="the name of the service port to call (default: the first)")

    @field_validator("timeout")
    @classmethod
    def _timeout(cls, v: str) -> str:
        return _bounded(v, "timeout", GATE_TIMEOUT_MAX_S)


GatingWebhookType = Literal["confirm-rollout", "pre-rollout", "confirm-traffic-increase", "confirm-promotion",
                            "post-rollout", "rollback", "load-test"]


class GatingWebhook(Model):
    """A webhook that decides (unlike ``notifications``, which only tell): Flagger's meanings."""

    name: str = Field(..., min_length=1, max_length=63, pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
    type: GatingWebhookType = Field(
        ..., description="confirm-rollout: hold before the canary is scaled up until it answers 2xx; pre-rollout: "
        "before the canary's first traffic, a failure rolls back; confirm-traffic-increase: hold before each weight "
        "increase until 2xx; confirm-promotion: hold before promotion until 2xx; post-rollout: told the outcome; "
        "rollback: polled while a rollout runs, a 2xx rolls back; load-test: asked to send traffic to the canary "
        "at each judged phase, a failure rolls back")
    url: str = Field(..., max_length=2048, description="must be allowed by the operator's configuration "
                     "(webhooks.allowedUrls)")
    timeout: str = Duration("5s", "one call, hard limit (at most 15s); no answer in time is a failed call")
    retries: int = Field(2, ge=0, le=20, description="pre-rollout, load-test, post-rollout: failed calls retried "
                         "before the hook counts as failed")
    interval: str = Duration("5s", "time between retries, and between the calls of confirm-* and rollback hooks")
    metadata: dict[str, str] = Field(default_factory=dict, description="passed through in the call's JSON body")

    @field_validator("timeout")
    @classmethod
    def _timeout(cls, v: str) -> str:
        return _bounded(v, "timeout", WEBHOOK_TIMEOUT_MAX_S)


StepItem = Annotated[Union[int, str], WithJsonSchema({"x-kubernetes-int-or-string": True,
                                                      "anyOf": [{"type": "integer"}, {"type": "string"}],
                                                      "minimum": 1, "maximum": 100, "pattern": PAUSE_PATTERN})]


def pause_seconds(item: str) -> Optional[float]:
    """``"pause"`` -> None (until resumed or promoted); ``"pause 30s"`` -> 30.0."""
    _, _, rest = item.partition(" ")
    return parse_duration(rest) if rest else None


class WorkloadRef(Model):
    name: str = Field(..., description="an existing Deployment to adopt; its template becomes the first stable")


class ReleaseSpec(Model):
    version: str = Field(..., min_length=1, max_length=128, description="the version label recorded in history")
    replicas: int = Field(2, ge=1, le=1000)
    template: Optional[dict[str, Any]] = Preserved("PodTemplateSpec of this version")
    workload_ref: Optional[WorkloadRef] = None
    service: ServiceSpec = Field(default_factory=ServiceSpec)
    traffic: TrafficSpec = Field(default_factory=TrafficSpec)
    steps: Optional[list[StepItem]] = Field(
        None, min_length=1, max_length=50,
        description="canary weights in percent, e.g. [5, 10, 25, 50]; a pause between them holds the rollout: "
        "\"pause\" until kubectl ripcord resume (or promote), \"pause 10m\" for a duration")
    step_weight: Optional[int] = Field(None, ge=1, le=100)
    max_weight: Optional[int] = Field(None, ge=1, le=100)
    analysis: AnalysisSpec = Field(default_factory=AnalysisSpec)
    paused: bool = False
    gate: Optional[GateSpec] = Field(None, description="pre-traffic gate: requests to the canary's own Service "
                                     "once it is Ready, before any user request reaches it")
    webhooks: list[GatingWebhook] = Field(default_factory=list, max_length=20,
                                          description="gating webhooks (they decide); notifications only tell")
    require_approval: bool = Field(False, description="hold before promotion (phase AwaitingApproval) until "
                                   "kubectl ripcord promote")
    notifications: list[WebhookSpec] = Field(default_factory=list)
    deletion_policy: Literal["Retain", "Delete"] = Field(
        "Retain", description="Retain: deleting the Release leaves the stable Deployment and Service serving; "
        "Delete: everything the Release owns goes with it")

    @field_validator("steps")
    @classmethod
    def _steps_increase(cls, v: Optional[list[Union[int, str]]]) -> Optional[list[Union[int, str]]]:
        if v is None:
            return v
        for i, item in enumerate(v):
            if isinstance(item, str):
                if not re.fullmatch(PAUSE_PATTERN, item):
                    raise ValueError(f"steps[{i}]: {item!r} is neither a weight (1..100) nor a pause "
                                     f"(\"pause\", or \"pause 30s\" with a positive duration)")
                if (seconds := pause_seconds(item)) is not None and seconds <= 0:
                    raise ValueError(f"steps[{i}]: a pause must last more than 0s, got {item!r}")
                if i > 0 and isinstance(v[i - 1], str):
                    raise ValueError(f"steps[{i}]: two pauses in a row; keep one")
        ws = [w for w in v if isinstance(w, int)]
        if not ws:
            raise ValueError(f"steps need at least one weight: {v}")
        if any(not 1 <= w <= 100 for w in ws):
            raise ValueError(f"steps are weights in percent, 1..100: {ws}")
        if any(b <= a for a, b in zip(ws, ws[1:])):
            raise ValueError(f"steps must increase: {ws}")
        return v

    @field_validator("webhooks")
    @classmethod
    def _unique_hooks(cls, v: list[GatingWebhook]) -> list[GatingWebhook]:
        names = [h.name for h in v]
        if len(set(names)) != len(names):
            raise ValueError(f"webhook names must be unique: {names}")
        return v

    @model_validator(mode="after")
    def _one_source(self) -> "ReleaseSpec":
        if self.template is None and self.workload_ref is None:
            raise ValueError("either template or workloadRef is required")
        if self.steps is not None and self.step_weight is not None:
            raise ValueError("give steps or stepWeight/maxWeight, not both")
        if self.traffic.provider == "gateway-api" and self.traffic.gateway_ref is None:
            raise ValueError("traffic.gatewayRef is required with the gateway-api provider")
        if self.traffic.mirror is not None and self.traffic.provider != "gateway-api":
            raise ValueError("traffic.mirror needs the gateway-api provider (an HTTPRoute RequestMirror filter)")
        if self.gate is not None and self.gate.port is not None \
                and self.gate.port not in [p.name for p in self.service.ports]:
            raise ValueError(f"gate.port: no service port named {self.gate.port!r}; ports: "
                             f"{[p.name for p in self.service.ports]}")
        return self

    def weights(self) -> list[int]:
        """The canary weights of the steps, before promotion (100 is never a step: promotion is)."""
        if self.steps is not None:
            ws = [w for w in self.steps if isinstance(w, int)]
        elif self.step_weight is not None:
            top = self.max_weight or 50
            ws = list(range(self.step_weight, top + 1, self.step_weight)) or [top]
        else:
            ws = [5, 10, 25, 50]
        return [w for w in ws if w < 100] or [50]

    def pauses(self) -> dict[int, Optional[float]]:
        """Pause steps by the weight step they follow (-1: before the first weight): seconds, None until resumed."""
        out: dict[int, Optional[float]] = {}
        last = len(self.weights()) - 1
        index = -1
        for item in self.steps or []:
            if isinstance(item, int):
                if item < 100:
                    index += 1
            else:
                out[min(index, last)] = pause_seconds(item)
        return out


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
                  "Superseded", "Gate", "Webhook"]
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


class GateCheck(Model):
    """One request of the last round of the pre-traffic gate, and what came back."""

    request: str = Field(..., description="e.g. GET /health")
    passed: bool
    status: Optional[int] = Field(None, description="the HTTP status; absent when nothing came back")
    latency_ms: Optional[float] = None
    message: str = Field("", max_length=1024)


class GateStatus(Model):
    """The pre-traffic gate of the rollout in flight."""

    started_at: str = Field(..., description="when the canary was seen Ready and the gate began")
    rounds: int = 0
    passes: int = Field(0, description="rounds passed in a row")
    failures: int = Field(0, description="rounds failed in a row")
    last_round_at: Optional[float] = Field(None, description="unix time the last round was sent")
    passed_at: Optional[str] = None
    checks: list[GateCheck] = Field(default_factory=list, max_length=20, description="the last round")


class PauseStatus(Model):
    """A pause step the rollout is holding at."""

    after_step: int = Field(..., ge=-1, description="the weight step it follows (0-based; -1: before the first)")
    started_at: str
    until: Optional[str] = Field(None, description="when it ends by itself; absent: kubectl ripcord resume")


class WebhookCall(Model):
    """A gating webhook's call for one rollout (and one step, for the per-step types): tries and answer."""

    name: str
    type: str
    rollout_id: int
    key: str = Field(..., description="what the call is for: its type, or type/step for the per-step types")
    attempts: int = 0
    last_at: Optional[float] = Field(None, description="unix time of the last attempt")
    status: Optional[int] = Field(None, description="the last HTTP status; absent when no answer came")
    result: Literal["Pending", "Waiting", "Passed", "Failed"] = Field(
        "Pending", description="Pending: not called yet; Waiting: called, no 2xx yet (confirm-*, rollback) or "
        "retrying; Passed: answered 2xx; Failed: no 2xx after its retries")
    message: str = Field("", max_length=1024, description="the last answer, or why none came")


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
    gate: Optional[GateStatus] = Field(None, description="the pre-traffic gate, once the canary is Ready")
    mirror: Optional[int] = Field(None, description="percent of live requests mirrored to the canary now "
                                  "(the mirror phase, at weight 0)")
    mirror_done: bool = False
    pause: Optional[PauseStatus] = None
    pauses_done: list[int] = Field(default_factory=list, description="pause steps passed (by the step they follow)")
    awaiting_approval: bool = Field(False, description="requireApproval: every step passed, promotion waits for "
                                    "kubectl ripcord promote")


class OutboxItem(Model):
    """An Event or a notification recorded with the transition that caused it, delivered until acknowledged."""

    key: str = Field(..., description="unique per Release; the idempotency key receivers deduplicate on")
    kind: Literal["Event", "Notification"]
    reason: str = Field(..., description="Event reason, or the notification's event (rollback, promotion...)")
    message: str = ""
    type: Literal["Normal", "Warning"] = "Normal"
    rollout_id: Optional[int] = None
    at: str


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
    webhooks: list[WebhookCall] = Field(default_factory=list, max_length=64,
                                        description="gating webhook calls of the rollout in flight (and the "
                                        "post-rollout calls of the last one)")
