"""Metric sources: where a source's request counter and latency histogram live, and how they are labelled.

Configuration vocabulary shared by the operator's configuration (``ripcord.config``, which
may override a preset) and the analysis (``ripcord.analysis.queries``, which builds the
built-in queries from a profile). Pure.
"""
from __future__ import annotations

import dataclasses
import re
from typing import Mapping


class TemplateError(ValueError):
    """A custom query template that cannot be rendered (unknown variable, bad value)."""


@dataclasses.dataclass(frozen=True)
class SourceProfile:
    """Where a source's request counter and latency histogram live, and how they are labelled.

    A series belongs to a workload, in this order:

    * ``service_label`` set and naming one of the workloads: the route sent the request to
      that slot's Service (Ripcord names each slot's Service like its Deployment), whether
      or not a pod answered. ``service_namespace_label`` (default: ``namespace_label``)
      holds that Service's namespace;
    * ``workload_label`` set: the workload whose name equals that label (a gateway or mesh
      that knows the Deployment of the pod that answered);
    * otherwise the Deployment its ``pod_label`` names, through the pod name pattern.

    ``pod_label`` also feeds the per-pod counts; an empty or ``"unknown"`` value there
    (no pod was reached) counts in the totals but is no pod (:data:`counters.NO_POD`).
    """

    name: str
    requests_metric: str
    duration_metric: str  # the histogram's ``_bucket`` series
    duration_unit_s: float = 1.0  # seconds per unit of the ``le`` bounds (Istio: 0.001)
    namespace_label: str = "namespace"
    workload_label: str | None = None
    service_label: str | None = None  # the backend Service the route chose (gateway, client side)
    service_namespace_label: str | None = None  # its namespace; None: namespace_label
    pod_label: str | None = "pod"  # the serving pod, for per-pod counts (None: not known)
    code_label: str = "code"
    error_codes: str = "5.."  # regex, fully matched against the code label
    le_label: str = "le"
    extra_matchers: str = ""  # e.g. 'reporter="source"'
    mirror_label: str | None = None  # a label set to "true" on mirrored requests (the sandbox gateway: mirrored)

    def with_prefix(self, prefix: str) -> "SourceProfile":
        """The profile with ``<prefix>_requests_total`` / ``<prefix>_request_duration_seconds_bucket``."""
        if not re.fullmatch(r"[a-zA-Z_:][a-zA-Z0-9_:]*", prefix):
            raise TemplateError(f"not a metric name prefix: {prefix!r}")
        return dataclasses.replace(self, requests_metric=f"{prefix}_requests_total",
                                   duration_metric=f"{prefix}_request_duration_seconds_bucket",
                                   duration_unit_s=1.0)

    @classmethod
    def from_mapping(cls, base: "SourceProfile", data: Mapping[str, object]) -> "SourceProfile":
        """Override ``base`` with camelCase keys from the operator's configuration."""
        fields = {f.name: f for f in dataclasses.fields(cls)}
        changes: dict[str, object] = {}
        for key, value in data.items():
            name = re.sub(r"(?<!^)([A-Z])", lambda m: "_" + m.group(1).lower(), key)
            if name not in fields or name == "name":
                raise ValueError(f"unknown metric source setting {key!r}; known: "
                                 + ", ".join(sorted(_camel(f) for f in fields if f != "name")))
            changes[name] = value
        out = dataclasses.replace(base, **changes)  # type: ignore[arg-type]
        re.compile(out.error_codes)
        return out


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


#: The sandbox demo app, and any app exporting the Prometheus client conventions.
APP = SourceProfile(name="app", requests_metric="http_requests_total",
                    duration_metric="http_request_duration_seconds_bucket")

#: The sandbox gateway stand-in (modelled on Istio's client-side view): attributed by the
#: backend Service the route chose, and by the answering pod's Deployment.
GATEWAY = SourceProfile(name="gateway", requests_metric="gateway_requests_total",
                        duration_metric="gateway_request_duration_seconds_bucket",
                        workload_label="backend_workload", service_label="backend_service",
                        pod_label="backend_pod", mirror_label="mirrored")

#: Istio, as seen by the calling side (gateway or client sidecars): sees refused and hung
#: connections (503 UF, 504 UT) that the destination never counts, labelled with the
#: destination Service and ``destination_workload="unknown"``. No per-pod labels.
ISTIO = SourceProfile(name="istio", requests_metric="istio_requests_total",
                      duration_metric="istio_request_duration_milliseconds_bucket", duration_unit_s=0.001,
                      namespace_label="destination_workload_namespace", workload_label="destination_workload",
                      service_label="destination_service_name",
                      service_namespace_label="destination_service_namespace",
                      pod_label=None, code_label="response_code", extra_matchers='reporter="source"')

#: Istio, as reported by the destination's sidecar (the pod's own view, with ``pod``): only
#: requests a pod accepted, so the workload says it all.
ISTIO_DESTINATION = dataclasses.replace(ISTIO, name="istio-destination", pod_label="pod", service_label=None,
                                        service_namespace_label=None, extra_matchers='reporter="destination"')

PRESETS: Mapping[str, SourceProfile] = {p.name: p for p in (APP, GATEWAY, ISTIO, ISTIO_DESTINATION)}
