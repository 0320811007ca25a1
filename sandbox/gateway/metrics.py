"""Per-backend request metrics, modelled on Istio's client side (docs/design.md, "Metrics").

``code`` is the status the client saw; the gateway's own answers carry Envoy's response
flags: ``UF`` no connection (refused), ``UC`` connection reset or closed before a complete
answer, ``UT`` timeout, ``UH`` no healthy upstream (no ready pod behind the Service), ``UO``
overflow (the load's in-flight bound), ``NR`` no route, ``NC`` no such Service.

``backend_service`` is the Service the route (or the load) sent the request to, answered
or not. ``backend_workload``/``backend_pod`` name the pod that *answered*; when no answer
came back (any flag above) they are ``"unknown"``, as Istio's ``destination_workload`` is
when its proxy never heard from the peer: the request still belongs to its Service.

``mirrored`` is ``"true"`` on the copies an HTTPRoute ``RequestMirror`` filter sent (their
answers went nowhere: no client saw them), ``"false"`` on every request a client sent. An
analysis reads the mirrored series only to judge a canary on mirrored traffic.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

from . import BUCKETS

disable_created_metrics()  # *_created series would only add load to the sandbox's Prometheus

CONTENT_TYPE = CONTENT_TYPE_LATEST


#: The workload and pod label of a request no pod answered (Istio's value for an unknown peer).
UNKNOWN = "unknown"
#: Istio's request duration buckets are milliseconds.
MESH_BUCKETS_MS = tuple(b * 1000.0 for b in BUCKETS)


class GatewayMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "gateway_requests_total", "Requests the gateway handled, by backend and outcome.",
            ("namespace", "route", "backend_service", "backend_workload", "backend_pod", "code", "flags", "mirrored"),
            registry=self.registry,
        )
        self.duration = Histogram(
            "gateway_request_duration_seconds", "Time until the client saw the outcome.",
            ("namespace", "route", "backend_service", "backend_workload", "mirrored"),
            buckets=BUCKETS, registry=self.registry,
        )
        # A mesh client's requests (loads to a host), as Istio's client-side proxy reports them.
        mesh_labels = ("reporter", "source_workload", "source_workload_namespace", "destination_service",
                       "destination_service_name", "destination_service_namespace", "destination_workload",
                       "destination_workload_namespace", "response_code", "response_flags")
        self.mesh_requests = Counter(
            "istio_requests_total", "Requests a mesh client sent, as Istio's client-side proxy counts them.",
            mesh_labels, registry=self.registry)
        self.mesh_duration = Histogram(
            "istio_request_duration_milliseconds", "Time until the mesh client saw the outcome, milliseconds.",
            mesh_labels[:-1], buckets=MESH_BUCKETS_MS, registry=self.registry)

    def observe(self, namespace: str, route: str, service: str, workload: str, pod: str,
                code: int, flags: str, seconds: float, mirrored: bool = False) -> None:
        m = "true" if mirrored else "false"
        self.requests.labels(namespace, route, service, workload, pod, str(code), flags, m).inc()
        self.duration.labels(namespace, route, service, workload, m).observe(seconds)

    def observe_mesh(self, namespace: str, service: str, service_namespace: str, workload: str, code: int,
                     flags: str, seconds: float) -> None:
        """One request of a mesh client (``reporter="source"``): the destination Service it was sent to,
        the workload that answered (``unknown``, in namespace ``unknown``, when none did), Envoy's flags
        (``-`` when none)."""
        answered = workload != UNKNOWN
        labels = ("source", "sandbox-gateway", namespace,
                  f"{service}.{service_namespace}.svc.cluster.local" if service else UNKNOWN,
                  service or UNKNOWN, service_namespace if service else UNKNOWN, workload,
                  service_namespace if answered else UNKNOWN)
        self.mesh_requests.labels(*labels, str(code), flags or "-").inc()
        self.mesh_duration.labels(*labels, str(code)).observe(seconds * 1000.0)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
