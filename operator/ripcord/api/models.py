"""The Release API: pydantic models of spec and status.

These models are the one source of truth: `ripcord.api.crd` generates the CRD's
OpenAPI schema from them (`crds/release.yaml` is that output, committed, and a test
checks they agree). Field names are the wire names (camelCase) through aliases.

The spec is strict: every string has a length bound, every list a size bound, names
follow the patterns Kubernetes checks them against, and every rule the schema can say
is in the schema, so most bad input is refused at ``kubectl apply``. The 1.20 API server
has no CEL, so cross-field rules are model validators, checked again by the operator
(:func:`ripcord.api.validation.parse_spec`), and reported with the field path.

The status is tolerant: a status written by a newer Ripcord (unknown fields, enum values
this version does not know) still parses (:mod:`ripcord.api.status`), and every text in
it is cut to the API's limits when the model is built or assigned.
"""
from __future__ import annotations

import re
from typing import Annotated, Any, Callable, Literal, Optional, Union

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, \
    ValidationError, WithJsonSchema, field_validator, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from ripcord.api.limits import BOUND_TEXT_MAX, CONDITION_MESSAGE_MAX, CONDITION_REASON_MAX, CONDITIONS_MAX, \
    EVENT_MESSAGE_MAX, HISTORY_MAX, METRIC_RESULTS_MAX, OUTBOX_MAX, RESTARTS_TRACKED_MAX, REASON_MESSAGE_MAX, SHORT_TEXT_MAX, STATUS_MESSAGE_MAX, \
    TIMELINE_MAX, TIMELINE_MESSAGE_MAX, bounded
from ripcord.contract import GROUP, KIND, PLURAL, VERSION

__all__ = ["GROUP", "KIND", "PLURAL", "VERSION"]  # re-exported: the CRD module and older callers name them here

# ------------------------------------------------------------------------- names

DNS1123_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
DNS1035_LABEL = r"^[a-z]([-a-z0-9]*[a-z0-9])?$"
DNS1123_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
HOSTNAME = r"^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
PROM_METRIC_PREFIX = r"^[a-zA-Z_:][a-zA-Z0-9_:]*$"

SLOT_SUFFIXES = ("-a", "-b")
GENERATED_NAME_PREFIX_MAX = 58  # the API server keeps 58 characters of a generateName, then adds 5 random
POD_TEMPLATE_HASH_MAX = 10  # a Deployment's pod-template-hash label: a uint32, encoded
RELEASE_NAME_MAX = GENERATED_NAME_PREFIX_MAX - len("-a-") - POD_TEMPLATE_HASH_MAX - len("-")
"""44: the longest name a Release can have so every name derived from it is valid and whole.

The longest derived name is a canary pod's: ``NAME-a-<pod-template-hash>-<5 random>``.
The ReplicaSet controller asks for ``NAME-a-<hash>-`` as the pod's generateName, and the
API server keeps only its first 58 characters; Ripcord's queries find a slot's pods by
that whole prefix (``NAME-a-[a-z0-9]+-[a-z0-9]+``), so it must not be cut. The other
derived names are shorter: Services and Deployments ``NAME``, ``NAME-a``, ``NAME-b``
(DNS-1035 labels: a letter first, at most 63), the label value ``ripcord.dev/release:
NAME`` (at most 63), the HTTPRoute ``NAME``.
"""
RELEASE_NAME_PATTERN = DNS1035_LABEL

# --------------------------------------------------------------------- durations

DURATION_PATTERN = r"^([0-9]{1,6}(\.[0-9]{1,6})?(ms|s|m|h)){1,4}$"
_DURATION_PART = re.compile(r"([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)")
_UNIT_S = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: str) -> float:
    """'1m30s' -> 90.0 seconds. At most 4 parts of at most 6 digits: never overflows a datetime."""
    if not isinstance(text, str) or not re.fullmatch(DURATION_PATTERN, text):
        raise ValueError(f"not a duration: {text!r} (use e.g. 5s, 2m, 1h30m)")
    return sum(float(n) * _UNIT_S[u] for n, u in _DURATION_PART.findall(text))


def format_seconds(seconds: float) -> str:
    for unit, size in (("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


class Model(BaseModel):
    """Spec models are strict: no type coercion ("3" is not 3, 1 is not true), as the CRD schema says."""

    model_config = ConfigDict(alias_generator=_camel, populate_by_name=True, extra="forbid", allow_inf_nan=False,
                              strict=True)

    def wire(self) -> dict[str, Any]:
        """The object as the API server gets it: camelCase, no nulls, no empty strings.

        Empty strings are left out because the sandbox's 1.20 API server decodes "" in a
        custom resource as null and then rejects it against a string schema.
        """
        wired: dict[str, Any] = _drop_empty(self.model_dump(by_alias=True, exclude_none=True, mode="json"))
        return wired


def _drop_empty(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_empty(v) for k, v in value.items() if v != ""}
    if isinstance(value, list):
        return [_drop_empty(v) for v in value]
    return value


def field_problem(loc: tuple[str | int, ...], message: str, value: Any = None) -> ValidationError:
    """A validation error at ``loc`` (wire names, relative to the model raising it) for cross-field rules."""
    return ValidationError.from_exception_data("ReleaseSpec", [InitErrorDetails(
        type=PydanticCustomError("spec_rule", "{message}", {"message": message}), loc=loc, input=value)])


def Duration(default: str, description: str, least: str, most: str) -> Any:  # noqa: N802 - reads as a type
    """A duration field's schema: the pattern (the API server checks it), the range in the description.

    The range itself is checked by :func:`within` on the field's type: a pattern cannot say it.
    """
    return Field(default, pattern=DURATION_PATTERN, max_length=64, description=f"{description} ({least}..{most})")


def within(least: str, most: str) -> AfterValidator:
    """A duration between ``least`` and ``most``, both included."""
    low, high = parse_duration(least), parse_duration(most)

    def check(value: str) -> str:
        if not low <= parse_duration(value) <= high:
            raise ValueError(f"{value} is out of range {least}..{most}")
        return value
    return AfterValidator(check)


def Preserved(description: str) -> Any:  # noqa: N802
    """A subtree the schema keeps as-is (a PodTemplateSpec, judge state)."""
    return Field(None, description=description,
                 json_schema_extra={"x-kubernetes-preserve-unknown-fields": True})


def Name(pattern: str = DNS1123_SUBDOMAIN, max_length: int = 253, description: Optional[str] = None,
         default: Any = ...) -> Any:  # noqa: N802
    """The name of a Kubernetes object: the pattern and length the API server checks it against."""
    return Field(default, min_length=1, max_length=max_length, pattern=pattern, description=description)


# ----------------------------------------------------------------------------- spec

class ServicePort(Model):
    name: str = Field("http", min_length=1, max_length=15, pattern=DNS1123_LABEL,
                      description="an IANA service name: at most 15 of a-z, 0-9, '-', with a letter")
    port: int = Field(80, ge=1, le=65535)
    target_port: int = Field(8080, ge=1, le=65535, description="container port")
    protocol: Literal["TCP", "UDP", "SCTP"] = "TCP"
    routed: bool = Field(True, description="gateway-api, istio: traffic on this port is routed and weighted "
                         "(false: cluster-internal only, e.g. a metrics port)")
    section_name: Optional[str] = Field(
        None, max_length=253, pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$",
        description="gateway-api: the Gateway listener this port's HTTPRoute attaches to (default: "
        "traffic.gatewayRef.sectionName)")

    @field_validator("name")
    @classmethod
    def _iana_name(cls, v: str) -> str:
        if not re.search("[a-z]", v) or "--" in v:
            raise ValueError(f"{v!r} is not an IANA service name: it needs a letter and no '--'")
        return v


class ServiceSpec(Model):
    ports: list[ServicePort] = Field(default_factory=lambda: [ServicePort()], min_length=1, max_length=20)

    @field_validator("ports")
    @classmethod
    def _distinct(cls, v: list[ServicePort]) -> list[ServicePort]:
        names = [p.name for p in v]
        if len(set(names)) != len(names):
            raise ValueError(f"port names must be unique: {names}")
        keys = [(p.port, p.protocol) for p in v]
        if len(set(keys)) != len(keys):
            raise ValueError(f"ports must be unique per protocol: {[f'{p}/{q}' for p, q in keys]}")
        return v


class ParentRef(Model):
    name: str = Name(max_length=253)
    namespace: Optional[str] = Name(DNS1123_LABEL, 63, default=None)
    section_name: Optional[str] = Name(DNS1123_SUBDOMAIN, 253, default=None)


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
        None, json_schema_extra={"maxLength": 63, "maximum": 63, "minimum": 0},
        description="the rule whose backendRefs Ripcord sets: its name, or its index (0 is the first); "
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
    gateways: list[Annotated[str, Field(min_length=1, max_length=253 + 1 + 253)]] = Field(
        default_factory=list, max_length=16, description="Istio Gateways the VirtualService also binds to "
        "(`namespace/name`); the mesh (sidecars) always")
    subsets: bool = Field(
        False, description="route to subsets a/b of the Release's Service (with a DestinationRule) instead of "
        "to the slot Services; metrics then name the Service, not the slot")


class MirrorSpec(Model):
    """gateway-api: mirror a share of live requests to the canary at weight 0 and judge it on them first."""

    percent: int = Field(..., ge=1, le=100, description="share of live requests copied to the canary (their "
                         "answers are discarded), from the canary Ready until the mirror phase ends")
    duration: Optional[str] = Field(None, pattern=DURATION_PATTERN, max_length=64, description="how long the canary is judged "
                                    "on mirrored requests before its first real step (default: analysis.stepDuration)")


class TrafficSpec(Model):
    provider: Literal["replicas", "gateway-api", "istio"] = Field(
        "replicas", description="replicas: share of ready pods behind one Service (quantised); "
        "gateway-api: HTTPRoute backendRefs weights (exact); istio: VirtualService route weights (exact)")
    gateway_ref: Optional[ParentRef] = Field(None, description="gateway-api: the Gateway the HTTPRoute attaches to")
    route_ref: Optional[RouteRef] = Field(
        None, description="gateway-api: your own HTTPRoute; Ripcord changes only the backendRefs of one rule")
    hostnames: Optional[list[Annotated[str, Field(min_length=1, max_length=253, pattern=HOSTNAME)]]] = Field(
        None, max_length=16, description="gateway-api, istio: the generated route's hostnames")
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
    mirror: Optional[MirrorSpec] = Field(None, description="gateway-api: judge the canary on mirrored live "
                                         "requests at weight 0 before its first step (HTTPRoute RequestMirror)")

    @model_validator(mode="after")
    def _provider_fields(self) -> "TrafficSpec":
        """Which traffic fields go with which provider; each message names the field."""
        if self.provider == "gateway-api":
            if self.gateway_ref is None and self.route_ref is None:
                raise field_problem(("gatewayRef",), "is required with the gateway-api provider (Ripcord generates "
                                    "the HTTPRoute), or give traffic.routeRef (your own HTTPRoute)")
            if self.gateway_ref is not None and self.route_ref is not None:
                raise field_problem(("routeRef",), "give traffic.gatewayRef (Ripcord generates the HTTPRoute) or "
                                    "traffic.routeRef (your own HTTPRoute), not both")
        else:
            for name, ref in (("gatewayRef", self.gateway_ref), ("routeRef", self.route_ref)):
                if ref is not None:
                    raise field_problem((name,), f"is for the gateway-api provider, not {self.provider}")
        if self.provider == "replicas":
            for name, value in (("hostnames", self.hostnames), ("canaryReplicas", self.canary_replicas)):
                if value is not None:
                    raise field_problem((name,), f"is used by the gateway-api and istio providers, not by "
                                        f"{self.provider}", value)
            for name, listed in (("matches", self.matches), ("testers", self.testers)):
                if listed:
                    raise field_problem((name,), "needs a provider that routes requests (gateway-api or istio); "
                                        "the replicas provider only spreads connections over pods")
        if self.route_ref is not None:
            for name, given in (("matches", self.matches), ("testers", self.testers), ("hostnames", self.hostnames)):
                if given:
                    raise field_problem((name,), "shapes the route Ripcord generates; with traffic.routeRef your own "
                                        "HTTPRoute says that (Ripcord changes only the backendRefs of one rule)")
        if self.provider != "istio" and (self.istio.gateways or self.istio.subsets):
            raise field_problem(("istio",), f"is for the istio provider, not {self.provider}")
        if self.mirror is not None and (self.provider != "gateway-api" or self.route_ref is not None):
            raise field_problem(("mirror",), "needs the gateway-api provider with the route Ripcord generates "
                                "(traffic.gatewayRef): it is a RequestMirror filter on that route")
        if len(self.testers) * max(1, len(self.matches)) > 64:
            raise field_problem(("testers",), "times traffic.matches makes more than 64 matches in one rule")
        return self


MetricName = Field(..., min_length=1, max_length=63, pattern=DNS1123_LABEL)


class MetricSpec(Model):
    name: str = MetricName
    type: Literal["error-rate", "latency", "custom"] = "error-rate"
    source: Literal["app", "gateway", "istio"] = Field(
        "app", description="app: the application's own metrics; gateway: the ingress's metrics; istio: Istio's "
        "client-side metrics (both see hangs and refused connections)")
    judge: Literal["sequential", "threshold"] = Field(
        "sequential", description="sequential: anytime-valid comparison with stable (error-rate and latency); "
        "threshold: fixed bounds (custom metrics always)")
    max: Optional[float] = Field(None, ge=0, le=1e12,
                                 description="absolute bound (error ratio 0..1, latency seconds, custom value)")
    max_ratio: Optional[float] = Field(None, gt=0, le=1000,
                                       description="bound relative to stable: canary <= maxRatio * stable")
    quantile: float = Field(0.99, gt=0, lt=1, description="latency only: the quantile bounded by max/maxRatio")
    threshold_seconds: float = Field(0.5, gt=0, le=3600, description="latency only: a request slower than this is slow")
    query: Optional[str] = Field(
        None, min_length=1, max_length=4096,
        description="custom only: a PromQL template giving one value; variables {{namespace}}, {{release}}, "
        "{{workload}} (the workload judged), {{canary}}, {{stable}}, {{pod_regex}}, {{window}}")
    metric_prefix: Optional[str] = Field(None, min_length=1, max_length=128, pattern=PROM_METRIC_PREFIX,
                                         description="app/gateway metric name prefix override")

    @model_validator(mode="after")
    def _type_fields(self) -> "MetricSpec":
        if self.type == "custom":
            if self.query is None:
                raise field_problem(("query",), "is required for a custom metric")
            if self.max is None and self.max_ratio is None:
                raise field_problem(("max",), "a custom metric needs max or maxRatio (it is judged by fixed bounds)")
        elif self.query is not None:
            raise field_problem(("query",), f"is used by custom metrics only, not {self.type}")
        if self.judge == "threshold" and self.max is None and self.max_ratio is None:
            raise field_problem(("max",), "a threshold metric needs max or maxRatio")
        return self


def _default_metrics() -> list[MetricSpec]:
    return [MetricSpec(name="error-rate", type="error-rate", source="app"),
            MetricSpec(name="latency", type="latency", source="app", judge="threshold", max_ratio=2.0)]


class PrometheusRef(Model):
    name: str = Field("default", min_length=1, max_length=63, pattern=DNS1123_LABEL,
                      description="a Prometheus the operator's configuration allows")
    address: Optional[str] = Field(None, min_length=1, max_length=2048,
                                   description="must be listed in the operator's configuration")


LATENCY_TOLERANCE = 1.2  # the sequential judge's r0 for latency metrics (slow-request shares)


class JudgeSettings(Model):
    alpha: float = Field(0.05, gt=0, lt=0.5, description="bound on the chance of rolling back a healthy canary (the benchmarked default)")
    beta: float = Field(0.05, gt=0, lt=0.5, description="bound on the chance of promoting a canary worse than r1")
    r0: float = Field(1.1, ge=1, le=5, description="tolerance: a canary up to r0 x stable is healthy (below r1)")
    r1: float = Field(2.0, gt=LATENCY_TOLERANCE, le=10, description="a canary at r1 x stable or worse must not be "
                      f"promoted (above r0, and above {LATENCY_TOLERANCE}, the latency tolerance)")
    circuit_breaker: float = Field(0.2, gt=0, le=1, description="canary error ratio that fails at once")

    @model_validator(mode="after")
    def _ordered(self) -> "JudgeSettings":
        if self.r0 >= self.r1:
            raise field_problem(("r0",), f"must be below r1 (r0 = {self.r0:g}, r1 = {self.r1:g})", self.r0)
        return self


class PodHealthSpec(Model):
    ready_deadline: Annotated[str, within("1s", "1h")] = Duration(
        "60s", "a canary pod not ready within this is a failure (the Deployment's own progress deadline is not "
        "waited for)", "1s", "1h")
    max_restarts: int = Field(1, ge=0, le=1000, description="restarts of a canary container beyond this fail the rollout")
    crash_loop: bool = Field(True, description="any canary container in CrashLoopBackOff fails the rollout")


class AnalysisSpec(Model):
    interval: Annotated[str, within("1s", "1h")] = Duration("10s", "how often each step is judged", "1s", "1h")
    step_duration: Annotated[str, within("0s", "24h")] = Duration(
        "30s", "minimum time at each step before it may pass", "0s", "24h")
    min_requests: int = Field(50, ge=0, le=1_000_000_000, description="minimum canary requests per step before it may pass")
    failure_threshold: int = Field(1, ge=1, le=100, description="threshold metrics: failed checks in a row that roll back")
    prometheus: PrometheusRef = Field(default_factory=PrometheusRef)
    metrics: list[MetricSpec] = Field(default_factory=_default_metrics, max_length=16,
                                      description="[] judges by pod health only")
    judge: JudgeSettings = Field(default_factory=JudgeSettings)
    pod_health: PodHealthSpec = Field(default_factory=PodHealthSpec)
    post_promotion_watch: Annotated[str, within("0s", "24h")] = Duration(
        "60s", "previous stable kept warm; a breach moves traffic straight back", "0s", "24h")
    max_duration: Annotated[str, within("1s", "168h")] = Duration(
        "1h", "longest a rollout may run without a verdict; then it holds (never promotes)", "1s", "168h")
    metrics_unavailable_limit: Annotated[str, within("0s", "24h")] = Duration(
        "120s", "roll back when metrics stay unavailable this long", "0s", "24h")
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


WebhookEvent = Literal["pre-rollout", "rollback", "promotion", "stall", "post-rollout"]
DEFAULT_EVENTS: tuple[WebhookEvent, ...] = ("rollback", "promotion", "stall")


class WebhookSpec(Model):
    name: str = Field(..., min_length=1, max_length=63, pattern=DNS1123_LABEL)
    url: str = Field(..., min_length=1, max_length=2048, description="must be listed in the operator's configuration")
    type: Literal["generic", "slack", "pagerduty", "msteams"] = Field(
        "generic", description="generic: Ripcord's JSON; slack: Block Kit; pagerduty: Events API v2 (trigger on "
        "rollback/stall, resolve on the next promotion); msteams: an Adaptive Card")
    events: list[WebhookEvent] = Field(
        default_factory=lambda: list(DEFAULT_EVENTS), min_length=1, max_length=5,
        description="which events are sent (default rollback, promotion, stall); at least one")
    secret_ref: Optional[str] = Name(default=None, description="Secret with a `token` key sent as a bearer token "
                                     "(pagerduty: the routing key, required)")

    @field_validator("events")
    @classmethod
    def _distinct(cls, v: list[str]) -> list[str]:
        if len(set(v)) != len(v):
            raise ValueError(f"events must not repeat: {v}")
        return v

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


IntOrPercent = Annotated[Union[int, str], Field(json_schema_extra={"maxLength": 4})]


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


# ------------------------------------------------- pre-traffic gate, gating webhooks, pauses

STATUS_CLASS_PATTERN = r"^([1-5][0-9][0-9]|[1-5]xx)$"
PAUSE_PATTERN = r"^pause( ([0-9]+(\.[0-9]+)?(ms|s|m|h))+)?$"


class GateRequest(Model):
    """One request of the pre-traffic gate, sent to the canary's own Service."""

    path: str = Field(..., min_length=1, max_length=1024, pattern=r"^/[^\s?#]*(\?[^\s#]*)?$",
                      description="absolute path (and query) on the canary's Service, e.g. /health")
    method: Literal["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] = "GET"
    headers: dict[str, Annotated[str, Field(max_length=4096)]] = Field(
        default_factory=dict, max_length=32, description="request headers")
    body: Optional[str] = Field(None, max_length=4096, description="request body (POST, PUT, PATCH)")
    expect: list[str] = Field(
        default_factory=lambda: ["2xx"], min_length=1, max_length=20,
        json_schema_extra={"items": {"type": "string", "pattern": STATUS_CLASS_PATTERN, "maxLength": 3}},
        description="status codes that pass: exact (200) or a class (2xx, 3xx, 4xx, 5xx)")
    max_latency: Optional[str] = Field(None, pattern=DURATION_PATTERN, max_length=64,
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
    interval: Annotated[str, within("100ms", "1h")] = Duration("1s", "time between the starts of two rounds",
                                                               "100ms", "1h")
    timeout: Annotated[str, within("1ms", "10s")] = Duration(
        "2s", "one request, hard limit: the reconcile waits for it", "1ms", "10s")
    port: Optional[str] = Field(None, min_length=1, max_length=15, pattern=DNS1123_LABEL,
                                description="the name of the service port to call (default: the first)")



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
    timeout: Annotated[str, within("1ms", "15s")] = Duration(
        "5s", "one call, hard limit: the reconcile waits for it; no answer in time is a failed call", "1ms", "15s")
    retries: int = Field(2, ge=0, le=20, description="pre-rollout, load-test, post-rollout: failed calls retried "
                         "before the hook counts as failed")
    interval: Annotated[str, within("100ms", "1h")] = Duration(
        "5s", "time between retries, and between the calls of confirm-* and rollback hooks", "100ms", "1h")
    metadata: dict[str, Annotated[str, Field(max_length=1024)]] = Field(
        default_factory=dict, max_length=32, description="passed through in the call's JSON body")


StepItem = Annotated[Union[int, str], WithJsonSchema({"x-kubernetes-int-or-string": True,
                                                      "anyOf": [{"type": "integer"}, {"type": "string"}],
                                                      "minimum": 1, "maximum": 100, "pattern": PAUSE_PATTERN,
                                                      "maxLength": 64})]


def pause_seconds(item: str) -> Optional[float]:
    """``"pause"`` -> None (until resumed or promoted); ``"pause 30s"`` -> 30.0."""
    _, _, rest = item.partition(" ")
    return parse_duration(rest) if rest else None


class WorkloadRef(Model):
    name: str = Name(description="an existing Deployment to adopt; its template becomes the first stable")


def _check_template(value: Optional[dict[str, Any]]) -> Optional[dict[str, Any]]:
    if value is not None:
        from ripcord.api.podtemplate import check_pod_template
        check_pod_template(value)
    return value


DEFAULT_STEPS = (5, 10, 25, 50)
DEFAULT_MAX_WEIGHT = 50


class ReleaseSpec(Model):
    version: str = Field(..., min_length=1, max_length=128, description="the version label recorded in history")
    replicas: int = Field(2, ge=1, le=1000)
    template: Optional[dict[str, Any]] = Preserved("PodTemplateSpec of this version")
    workload_ref: Optional[WorkloadRef] = None
    service: ServiceSpec = Field(default_factory=ServiceSpec)
    traffic: TrafficSpec = Field(default_factory=TrafficSpec)
    steps: Optional[list[StepItem]] = Field(
        None, min_length=1, max_length=50,
        description="canary weights in percent, increasing, e.g. [5, 10, 25, 50] (a last 100 means the promotion and "
        "is not a step); a pause between them holds the rollout: \"pause\" until kubectl ripcord resume (or "
        "promote), \"pause 10m\" for a duration")
    step_weight: Optional[int] = Field(None, ge=1, le=99, description="steps of this many percent: stepWeight, "
                                       "2 x stepWeight, ... up to maxWeight, which is always the last step")
    max_weight: Optional[int] = Field(None, ge=1, le=100, description=f"with stepWeight: the last step "
                                      f"(default {DEFAULT_MAX_WEIGHT}; 100 is the promotion, not a step)")
    analysis: AnalysisSpec = Field(default_factory=AnalysisSpec)
    paused: bool = False
    gate: Optional[GateSpec] = Field(None, description="pre-traffic gate: requests to the canary's own Service "
                                     "once it is Ready, before any user request reaches it")
    webhooks: list[GatingWebhook] = Field(default_factory=list, max_length=20,
                                          description="gating webhooks (they decide); notifications only tell")
    require_approval: bool = Field(False, description="hold before promotion (phase AwaitingApproval) until "
                                   "kubectl ripcord promote")
    notifications: list[WebhookSpec] = Field(default_factory=list, max_length=10)
    deletion_policy: Literal["Retain", "Delete"] = Field(
        "Retain", description="Retain: deleting the Release leaves the stable Deployment and Service serving; "
        "Delete: everything the Release owns goes with it")
    autoscaling: Optional[AutoscalingSpec] = Field(
        None, description="an HPA on the stable; Ripcord then never sets the stable's replicas (replicas is only "
        "the size a first stable starts at)")
    disruption_budgets: Optional[DisruptionBudgets] = None

    @field_validator("template", mode="after")
    @classmethod
    def _typed_template(cls, v: Optional[dict[str, Any]]) -> Optional[dict[str, Any]]:
        return _check_template(v)

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
        for i, item in enumerate(v):  # each weight where it stands: the message names spec.steps[i]
            if isinstance(item, int) and not 1 <= item <= 100:
                bound = "greater than or equal to 1" if item < 1 else "less than or equal to 100"
                raise field_problem((i,), f"Input should be {bound} (a weight in percent)", item)
        if any(b <= a for a, b in zip(ws, ws[1:])):
            raise ValueError(f"steps must increase: {ws}")
        if ws[0] >= 100:
            raise ValueError(f"steps need a weight below 100 (100 is the promotion, not a step): {ws}")
        return v

    @field_validator("notifications")
    @classmethod
    def _unique_notifications(cls, v: list[WebhookSpec]) -> list[WebhookSpec]:
        names = [h.name for h in v]
        if len(set(names)) != len(names):
            raise ValueError(f"notification names must be unique: {names}")
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
            raise field_problem(("template",), "either template or workloadRef is required")
        if self.steps is not None and (self.step_weight is not None or self.max_weight is not None):
            raise field_problem(("steps",), "give steps or stepWeight/maxWeight, not both")
        if self.max_weight is not None and self.step_weight is None:
            raise field_problem(("maxWeight",), "needs stepWeight (or give steps)", self.max_weight)
        if self.step_weight is not None and self.step_weight > (self.max_weight or DEFAULT_MAX_WEIGHT):
            top = "maxWeight" if self.max_weight is not None else f"maxWeight (default {DEFAULT_MAX_WEIGHT})"
            raise field_problem(("stepWeight",), f"{self.step_weight} is above {top}: the first step would be "
                                f"past the last", self.step_weight)
        if self.gate is not None and self.gate.port is not None \
                and self.gate.port not in [p.name for p in self.service.ports]:
            raise field_problem(("gate", "port"), f"no service port named {self.gate.port!r}; ports: "
                                f"{[p.name for p in self.service.ports]}", self.gate.port)
        return self

    def weights(self) -> list[int]:
        """The canary weights of the steps, before promotion (100 is never a step: promotion is).

        ``stepWeight`` s with ``maxWeight`` m: s, 2s, ... below m, then m (so m is always reached).
        """
        if self.steps is not None:
            ws = [w for w in self.steps if isinstance(w, int)]
        elif self.step_weight is not None:
            top = self.max_weight or DEFAULT_MAX_WEIGHT
            ws = list(range(self.step_weight, top, self.step_weight)) + [top]
        else:
            ws = list(DEFAULT_STEPS)
        return [w for w in ws if w < 100]  # validation keeps at least one

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
#
# Tolerant by construction: unknown fields are ignored, enum-like fields are strings with
# the enum in the schema only (a value from a newer Ripcord is kept, and written back
# as it was), lists are cut to their bounds, and every text is cut to its limit.

def _cut(limit: int) -> Callable[[Any], Any]:
    def cut(value: Any) -> Any:
        return bounded(value, limit) if isinstance(value, str) else value
    return cut


def _keep_first(limit: int) -> BeforeValidator:
    return BeforeValidator(lambda v: v[:limit] if isinstance(v, list) else v)


def _keep_last(limit: int) -> BeforeValidator:
    return BeforeValidator(lambda v: v[-limit:] if isinstance(v, list) else v)


# Status strings: cut to their limit when built, assigned or read (never refused).
ShortText = Annotated[str, BeforeValidator(_cut(SHORT_TEXT_MAX)), Field(max_length=SHORT_TEXT_MAX)]
BoundText = Annotated[str, BeforeValidator(_cut(BOUND_TEXT_MAX)), Field(max_length=BOUND_TEXT_MAX)]
ConditionMessage = Annotated[str, BeforeValidator(_cut(CONDITION_MESSAGE_MAX)), Field(max_length=CONDITION_MESSAGE_MAX)]
StatusMessage = Annotated[str, BeforeValidator(_cut(STATUS_MESSAGE_MAX)), Field(max_length=STATUS_MESSAGE_MAX)]
ReasonMessage = Annotated[str, BeforeValidator(_cut(REASON_MESSAGE_MAX)), Field(max_length=REASON_MESSAGE_MAX)]
TimelineMessage = Annotated[str, BeforeValidator(_cut(TIMELINE_MESSAGE_MAX)), Field(max_length=TIMELINE_MESSAGE_MAX)]
EventMessage = Annotated[str, BeforeValidator(_cut(EVENT_MESSAGE_MAX)), Field(max_length=EVENT_MESSAGE_MAX)]

VERDICTS = ("Pass", "Fail", "Inconclusive", "Unavailable")
SLOTS = ("a", "b")
REASON_KINDS = ("Metric", "PodHealth", "Manual", "MetricsUnavailable", "PostPromotionWatch", "Reverted", "Superseded",
                "Gate", "Webhook",
                "Drill")
OUTCOMES = ("Installed", "Progressing", "Promoted", "RolledBack", "Superseded", "Aborted", "Failed", "Drilled")
ROLLOUT_STATES = ("Progressing", "Promoting", "Watching", "RollingBack")


def _enum(values: tuple[str, ...]) -> WithJsonSchema:
    return WithJsonSchema({"type": "string", "enum": list(values), "maxLength": SHORT_TEXT_MAX})


# Enum-like status strings: the schema lists the values this version writes; any value parses,
# so a status from a newer Ripcord is kept as it is (ripcord.api.status says what is unknown).
Verdict = Annotated[ShortText, _enum(VERDICTS)]
SlotName = Annotated[ShortText, _enum(SLOTS)]
ReasonKind = Annotated[ShortText, _enum(REASON_KINDS)]
Outcome = Annotated[ShortText, _enum(OUTCOMES)]
RolloutState = Annotated[ShortText, _enum(ROLLOUT_STATES)]


class StatusModel(Model):
    """Status models ignore unknown fields (a newer Ripcord's) and check every assignment."""

    model_config = ConfigDict(alias_generator=_camel, populate_by_name=True, extra="ignore", allow_inf_nan=False,
                              validate_assignment=True, strict=False)


class Condition(StatusModel):
    type: ShortText
    status: Literal["True", "False", "Unknown"]
    reason: str = Field(..., max_length=CONDITION_REASON_MAX, pattern=r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$")
    message: ConditionMessage = ""
    last_transition_time: ShortText
    observed_generation: Optional[int] = None


class Workload(StatusModel):
    slot: SlotName
    deployment: ShortText
    version: ShortText
    template_hash: ShortText


class MetricResult(StatusModel):
    name: ShortText
    verdict: Verdict
    value: Optional[float] = None
    stable_value: Optional[float] = None
    bound: BoundText = ""
    message: ReasonMessage = ""
    canary_requests: Optional[float] = Field(
        None, description="requests sent to the canary in this interval, answered or not (counted metrics)")
    canary_bad: Optional[float] = Field(None, description="of those, errors (or slow requests)")
    stable_requests: Optional[float] = Field(None, description="requests sent to the stable in this interval")
    stable_bad: Optional[float] = Field(None, description="of those, errors (or slow requests)")


def _unix(value: Any) -> Any:
    """A time as the status stores it (RFC 3339), or as older versions did (unix seconds), in unix seconds."""
    if isinstance(value, str):
        import datetime as dt
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    return value


def _rfc3339(value: float) -> str:
    import datetime as dt
    return dt.datetime.fromtimestamp(value, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")[:-4] + "Z"


#: A time: unix seconds in Python, RFC 3339 (milliseconds) on the wire and in ``kubectl describe``.
UnixTime = Annotated[float, BeforeValidator(_unix), PlainSerializer(_rfc3339, return_type=str, when_used="json"),
                     WithJsonSchema({"type": "string", "maxLength": 40})]

JUDGE_STATE_MAX = 262_144


def _unpack(value: Any) -> Any:
    """The judge's state as the status stores it (``z1:`` + base64 of zlib'd JSON), or as older versions did (a map)."""
    if isinstance(value, str) and value.startswith("z1:"):
        import base64
        import json
        import zlib
        return json.loads(zlib.decompress(base64.b64decode(value[3:])))
    return value


def _pack(value: dict[str, Any]) -> str:
    import base64
    import json
    import zlib
    return "z1:" + base64.b64encode(zlib.compress(json.dumps(value, separators=(",", ":"), sort_keys=True).encode(),
                                                 9)).decode()


#: The judge's evidence: a map in Python, one compact opaque line in the status (out of the reader's way).
JudgeState = Annotated[dict[str, Any], BeforeValidator(_unpack),
                       PlainSerializer(_pack, return_type=str, when_used="json"),
                       WithJsonSchema({"type": "string", "maxLength": JUDGE_STATE_MAX,
                                       "description": "the judge's evidence (compressed), kept so a restart resumes "
                                                      "it"})]


class AnalysisStatus(StatusModel):
    at: Optional[ShortText] = None
    verdict: Optional[Verdict] = None
    step: Optional[int] = None
    metrics: Annotated[list[MetricResult], _keep_first(METRIC_RESULTS_MAX)] = Field(
        default_factory=list, max_length=METRIC_RESULTS_MAX)
    since: Optional[UnixTime] = Field(None, description="when the evidence so far starts")
    last_sample_at: Optional[UnixTime] = Field(None, description="the end of the evidence judged so far")
    attempted_at: Optional[UnixTime] = Field(None, description="the last analysis, whatever its verdict")
    unavailable_since: Optional[ShortText] = None
    failed_checks: int = 0
    preflight: Optional[ReasonMessage] = None
    judge_state: Optional[JudgeState] = None


class RollbackReason(StatusModel):
    kind: ReasonKind
    message: ReasonMessage
    metric: Optional[ShortText] = None
    value: Optional[float] = None
    bound: Optional[BoundText] = None
    weight: Optional[int] = None
    at: ShortText


class TimelineEntry(StatusModel):
    at: ShortText
    event: ShortText
    weight: Optional[int] = None
    message: TimelineMessage = ""


class HistoryEntry(StatusModel):
    id: int
    version: ShortText
    template_hash: ShortText
    outcome: Outcome
    started_at: ShortText
    ended_at: Optional[ShortText] = None
    step_reached: int = 0
    weight_reached: int = 0
    reason: Optional[RollbackReason] = None
    timeline: Annotated[list[TimelineEntry], _keep_last(TIMELINE_MAX)] = Field(default_factory=list,
                                                                             max_length=TIMELINE_MAX)
    drill: bool = Field(False, description="a rollback drill: the stable's own template to the first step, then "
                        "rolled back; restoreSeconds is how long the data plane took to serve the stable 100% again")
    restore_seconds: Optional[float] = Field(None, description="drills: rollback decided to canary at 0%, seconds")


class GateCheck(StatusModel):
    """One request of the last round of the pre-traffic gate, and what came back."""

    request: ShortText = Field(..., description="e.g. GET /health")
    passed: bool
    status: Optional[int] = Field(None, description="the HTTP status; absent when nothing came back")
    latency_ms: Optional[float] = None
    message: ReasonMessage = ""


class GateStatus(StatusModel):
    """The pre-traffic gate of the rollout in flight."""

    started_at: ShortText = Field(..., description="when the canary was seen Ready and the gate began")
    rounds: int = 0
    passes: int = Field(0, description="rounds passed in a row")
    failures: int = Field(0, description="rounds failed in a row")
    last_round_at: Optional[float] = Field(None, description="unix time the last round was sent")
    passed_at: Optional[ShortText] = None
    checks: Annotated[list[GateCheck], _keep_first(20)] = Field(default_factory=list, max_length=20,
                                                                description="the last round")


class PauseStatus(StatusModel):
    """A pause step the rollout is holding at."""

    after_step: int = Field(..., ge=-1, description="the weight step it follows (0-based; -1: before the first)")
    started_at: ShortText
    until: Optional[ShortText] = Field(None, description="when it ends by itself; absent: kubectl ripcord resume")


class WebhookCall(StatusModel):
    """A gating webhook's call for one rollout (and one step, for the per-step types): tries and answer."""

    name: ShortText
    type: ShortText
    rollout_id: int
    key: ShortText = Field(..., description="what the call is for: its type, or type/step for the per-step types")
    attempts: int = 0
    last_at: Optional[float] = Field(None, description="unix time of the last attempt")
    status: Optional[int] = Field(None, description="the last HTTP status; absent when no answer came")
    result: Annotated[ShortText, _enum(("Pending", "Waiting", "Passed", "Failed"))] = Field(
        "Pending", description="Pending: not called yet; Waiting: called, no 2xx yet (confirm-*, rollback) or "
        "retrying; Passed: answered 2xx; Failed: no 2xx after its retries")
    message: ReasonMessage = Field("", description="the last answer, or why none came")


class RolloutStatus(StatusModel):
    """The rollout in flight; absent when the release is at rest."""

    id: int
    state: RolloutState
    step: int = 0
    weight: int = 0
    effective_weight: Optional[float] = None
    step_started_at: ShortText
    settled_at: Optional[ShortText] = Field(None, description="when the data plane first served this step's weight")
    started_at: ShortText
    paused: bool = False
    held: bool = Field(False, description="no verdict by analysis.maxDuration: holding, never promoting")
    promote_requested: bool = False
    reason: Optional[RollbackReason] = None
    drill: bool = Field(False, description="a rollback drill (kubectl ripcord drill): rolled back at its first step")
    restarts_at_step: dict[str, int] = Field(
        default_factory=dict, max_length=RESTARTS_TRACKED_MAX, description="restarts per canary container (pod/container) when this step began: "
        "the step does not advance while one grows or a canary pod is not ready")
    gate: Optional[GateStatus] = Field(None, description="the pre-traffic gate, once the canary is Ready")
    mirror: Optional[int] = Field(None, description="percent of live requests mirrored to the canary now "
                                  "(the mirror phase, at weight 0)")
    mirror_done: bool = False
    pause: Optional[PauseStatus] = None
    pauses_done: list[int] = Field(default_factory=list, max_length=50,
                                   description="pause steps passed (by the step they follow)")
    awaiting_approval: bool = Field(False, description="requireApproval: every step passed, promotion waits for "
                                    "kubectl ripcord promote")


class OutboxItem(StatusModel):
    """An Event or a notification recorded with the transition that caused it, delivered until acknowledged."""

    key: ShortText = Field(..., description="unique per Release; the idempotency key receivers deduplicate on")
    kind: Literal["Event", "Notification"]
    reason: ShortText = Field(..., description="Event reason, or the notification's event (rollback, promotion...)")
    message: EventMessage = ""
    type: Literal["Normal", "Warning"] = "Normal"
    rollout_id: Optional[int] = None
    at: ShortText


class RouteRecord(StatusModel):
    """traffic.routeRef: the named rule's backendRefs as Ripcord last saw them carry its own weights."""

    # Compared, never cut: at most 16 backendRefs of a validated route, each name:port=weight.
    backends: str = Field(..., max_length=8192,
                          description="the rule's backendRefs, canonical: name:port=weight, comma-separated")
    generation: int = Field(0, description="the route's generation then")
    conflict: Optional[ReasonMessage] = Field(
        None, description="someone else changed the weights mid-rollout: why Ripcord holds the rollout and leaves "
        "the route as it is (`kubectl ripcord resume` takes the rule back)")


class Acknowledged(StatusModel):
    """The manual requests acted on, verbatim (the engine compares them with the annotations)."""

    promote: Optional[str] = None
    abort: Optional[str] = None
    pause: Optional[str] = None
    resume: Optional[str] = None
    retry: Optional[str] = None
    drill: Optional[str] = None


class ReleaseStatus(StatusModel):
    observed_generation: int = -1
    phase: Optional[ShortText] = Field(None, description="display only; conditions carry the state")
    message: Optional[StatusMessage] = None
    conditions: Annotated[list[Condition], _keep_first(CONDITIONS_MAX)] = Field(default_factory=list,
                                                                              max_length=CONDITIONS_MAX)
    stable: Optional[Workload] = None
    canary: Optional[Workload] = None
    previous: Optional[Workload] = Field(None, description="the former stable, kept warm through the watch")
    rollout: Optional[RolloutStatus] = None
    watch_until: Optional[ShortText] = None
    weight: int = 0
    effective_weight: Optional[float] = None
    last_outcome: Optional[ShortText] = None
    activity: Optional[ShortText] = Field(None, description="display: what is happening now (empty at rest)")
    last: Optional[ShortText] = Field(None, description="display: the last rollout's outcome with a short reason")
    canary_weight: Optional[int] = Field(None, description="display: the canary's weight, only while there is one")
    stalled_template_hash: Optional[ShortText] = Field(None, description="the rolled-back template that stays rolled back")
    analysis: Optional[AnalysisStatus] = None
    acknowledged: Acknowledged = Field(default_factory=Acknowledged)
    history: Annotated[list[HistoryEntry], _keep_first(HISTORY_MAX)] = Field(default_factory=list,
                                                                           max_length=HISTORY_MAX)
    next_rollout_id: int = 1
    outbox: Annotated[list[OutboxItem], _keep_last(OUTBOX_MAX)] = Field(
        default_factory=list, max_length=OUTBOX_MAX, description="Events and notifications not yet delivered")
    next_outbox_seq: int = 1
    adopted: Optional[ShortText] = Field(None, description="workloadRef: the adopted Deployment, once scaled to zero")
    route: Optional[RouteRecord] = Field(None, description="traffic.routeRef: what Ripcord knows of your route")
    webhooks: Annotated[list[WebhookCall], _keep_last(64)] = Field(
        default_factory=list, max_length=64, description="gating webhook calls of the rollout in flight (and the "
        "post-rollout calls of the last one)")
