"""The counters a measurement window reads at its start and end: the operator's own metrics,
the API server's ``apiserver_request_total``, Prometheus's own HTTP request count, and the
CPU and memory of the operator and the API server from /proc."""
from __future__ import annotations

import ssl
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import yaml

from . import procstat, promtext
from .procstat import ProcSample
from .promtext import Counts

if TYPE_CHECKING:
    from .operator_process import OperatorUnderTest

#: The operator's count of its own requests (ripcord.telemetry.kubecalls).
CLIENT_REQUESTS = "ripcord_kube_api_requests_total"
RECONCILES = "ripcord_reconcile_duration_seconds_count"
#: Exported by the event-driven design: a due tick to its run.
LATENESS = "ripcord_reconcile_lateness_seconds"
PROMETHEUS_QUERY_HANDLERS = ("/api/v1/query", "/api/v1/query_range")


def _resource(labels_resource: str, subresource: str) -> str:
    return f"{labels_resource}/{subresource}" if subresource else labels_resource


class ApiServer:
    """The sandbox's API server's /metrics, read as the admin, and the sandbox's processes."""

    def __init__(self, sandbox: Any) -> None:
        cfg = yaml.safe_load(Path(sandbox.admin_kubeconfig).read_text())
        self.token = cfg["users"][0]["user"]["token"]
        self.url = sandbox.apiserver_url.rstrip("/") + "/metrics"
        self.ssl = ssl.create_default_context(cafile=str(Path(sandbox.state_dir) / "pki" / "ca.crt"))
        self.run_dir = Path(sandbox.state_dir) / "run"

    def metrics(self) -> str:
        req = urllib.request.Request(self.url, headers={"Authorization": f"Bearer {self.token}"})
        with urllib.request.urlopen(req, timeout=30, context=self.ssl) as resp:
            return str(resp.read().decode())

    def components(self) -> dict[str, ProcSample]:
        """CPU and memory of every sandbox process (etcd, kube-apiserver, kubelet, Prometheus...)."""
        out = {}
        for pid_file in sorted(self.run_dir.glob("*.pid")):
            try:
                out[pid_file.stem] = procstat.sample(int(pid_file.read_text().split()[0]))
            except (OSError, ValueError, IndexError):
                continue
        return out


def apiserver_requests(text: str) -> Counts:
    """``apiserver_request_total`` by (verb, resource[/subresource]), every client together."""
    out: Counts = {}
    for labels, value in promtext.samples(text, "apiserver_request_total"):
        key = (labels.get("verb", ""), _resource(labels.get("resource", ""), labels.get("subresource", "")))
        out[key] = out.get(key, 0.0) + value
    return out


def client_requests(text: str) -> Counts:
    return promtext.counts(text, CLIENT_REQUESTS, ("verb", "resource"))


def prometheus_queries(text: str) -> float:
    return sum(promtext.total(text, "prometheus_http_requests_total", handler=h) for h in PROMETHEUS_QUERY_HANDLERS)


@dataclass(frozen=True)
class Snapshot:
    at: float  # monotonic
    apiserver: Counts
    components: dict[str, ProcSample]  # the sandbox's processes, by name
    prometheus_queries: float
    client: Counts = field(default_factory=dict)  # the operator's own count; empty when none runs
    reconciles: float = 0.0
    lateness: Optional[list[tuple[float, float]]] = None  # cumulative buckets, if exported
    operator_proc: Optional[ProcSample] = None


def take(apiserver: ApiServer, prometheus_url: str, operator: "Optional[OperatorUnderTest]" = None) -> Snapshot:
    """Read every source now; ``operator``: an OperatorUnderTest, or None when none runs."""
    with urllib.request.urlopen(f"{prometheus_url}/metrics", timeout=30) as resp:
        prom = resp.read().decode()
    api_text = apiserver.metrics()
    components = apiserver.components()
    if operator is None:
        return Snapshot(time.monotonic(), apiserver_requests(api_text), components, prometheus_queries(prom))
    op_text = operator.metrics()
    hist = promtext.histogram(op_text, LATENESS)
    return Snapshot(time.monotonic(), apiserver_requests(api_text), components, prometheus_queries(prom),
                    client=client_requests(op_text), reconciles=promtext.total(op_text, RECONCILES),
                    lateness=hist or None, operator_proc=procstat.sample(operator.pid))
