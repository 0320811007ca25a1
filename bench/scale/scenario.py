"""The benchmark's Releases: where they live, what they look like, installing and rolling out.

Release ``i`` is ``r<i>`` in namespace ``scale-<i mod namespaces>``: a Release of the demo
app on virtual pods (``ripcord/virtual-app``, sandbox.kubelet.virtual), 2 replicas, the
``replicas`` traffic provider, steps 20% and 50%, and two threshold-judged app metrics
(error rate and p99 latency) analysed every 10 s. Rollout round ``k`` of a Release sets
version ``1.<k>.0`` (good) or ``2.0.0`` (the demo app's bad version: every request a 500);
the template carries ``BENCH_ROUND=k`` so each round's template is new.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable, cast

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from ripcord.api.models import GROUP, PLURAL, VERSION
from sandbox.prometheus import VIRTUAL_SCRAPE_INTERVAL_S
from sandbox.releases import release_manifest

LABEL = "bench.ripcord.dev/scale"
SELECTOR = f"{LABEL}=true"
PREFIX = "scale"
ANALYSIS_INTERVAL_S = 2 * VIRTUAL_SCRAPE_INTERVAL_S
REQUEST_RATE = 20  # synthesised requests per second per pod
BAD_VERSION = "2.0.0"


@dataclass(frozen=True, order=True)
class ReleaseRef:
    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True)
class Started:
    """A rollout the benchmark started: when the template changed, and what must come of it."""

    ref: ReleaseRef
    changed_at: float  # unix seconds, when the API server accepted the new template
    rollout_id: int  # the id the operator will give it (status.nextRolloutId before the change)
    good: bool

    @property
    def expected(self) -> str:
        return "Promoted" if self.good else "RolledBack"


def analysis() -> dict[str, Any]:
    return {"interval": f"{ANALYSIS_INTERVAL_S}s", "stepDuration": f"{2 * ANALYSIS_INTERVAL_S}s",
            "postPromotionWatch": f"{ANALYSIS_INTERVAL_S}s", "maxDuration": "30m",
            "metrics": [{"name": "error-rate", "type": "error-rate", "source": "app", "judge": "threshold",
                         "max": 0.05},
                        # An absolute bound: a good version never breaches it, so an outcome says whether
                        # the operator did its job, not how noisy a p99 of 80 requests is (a bound of
                        # 1.5 x stable fails a healthy canary's check about 3% of the time).
                        {"name": "latency", "type": "latency", "source": "app", "judge": "threshold",
                         "max": 0.25, "quantile": 0.99}]}


def manifest(name: str, version: str, round_: int) -> dict[str, Any]:
    body = release_manifest(name, version, virtual=True, replicas=2, steps=[20, 50], analysis=analysis(),
                            env={"REQUEST_RATE": str(REQUEST_RATE), "BENCH_ROUND": str(round_)})
    body["metadata"]["labels"] = {LABEL: "true"}
    return body


def is_bad(index: int, bad_every: int) -> bool:
    """Every ``bad_every``-th rolling Release gets the bad version (the last of each group)."""
    return index % bad_every == bad_every - 1


def at_rest(status: dict[str, Any]) -> bool:
    return bool(status.get("stable")) and not status.get("rollout") and status.get("phase") in ("Stable", "RolledBack")


class Scenario:
    def __init__(self, api_client: client.ApiClient, namespaces: int) -> None:
        self.api_client = api_client
        self.custom = client.CustomObjectsApi(api_client)
        self.core = client.CoreV1Api(api_client)
        self.namespaces = namespaces
        self.requests = 0  # API requests this object made (the API server counts them too)

    def ref(self, i: int) -> ReleaseRef:
        return ReleaseRef(f"{PREFIX}-{i % self.namespaces}", f"r{i:04d}")

    def namespace_names(self) -> list[str]:
        return [f"{PREFIX}-{i}" for i in range(self.namespaces)]

    def ensure_namespaces(self) -> None:
        for ns in self.namespace_names():
            self.requests += 1
            try:
                self.core.create_namespace(client.V1Namespace(
                    metadata=client.V1ObjectMeta(name=ns, labels={LABEL: "true"})))
            except ApiException as e:
                if e.status != 409:
                    raise

    def statuses(self) -> dict[ReleaseRef, dict[str, Any]]:
        self.requests += 1
        items = cast(dict[str, Any], self.custom.list_cluster_custom_object(
            GROUP, VERSION, PLURAL, label_selector=SELECTOR, _request_timeout=120))["items"]
        return {ReleaseRef(o["metadata"]["namespace"], o["metadata"]["name"]): o.get("status") or {} for o in items}

    def install(self, count: int, echo: Callable[[str], None] = print) -> int:
        """Create Releases 0..count-1 that do not exist yet; how many were created."""
        have = set(self.statuses())
        made = 0
        for i in range(count):
            ref = self.ref(i)
            if ref in have:
                continue
            self.requests += 1
            self.custom.create_namespaced_custom_object(GROUP, VERSION, ref.namespace, PLURAL,
                                                        manifest(ref.name, "1.0.0", 0), _request_timeout=30)
            made += 1
            if made % 100 == 0:
                echo(f"  created {made} Releases")
        return made

    def wait_at_rest(self, count: int, timeout: float, echo: Callable[[str], None] = print,
                     poll_s: float = 0.0) -> float:
        """Wait until Releases 0..count-1 are all at rest; seconds waited. Each poll lists every
        Release (megabytes at 1,000): by default every 5 s per 500 Releases."""
        poll_s = poll_s or 5.0 * max(1.0, count / 500)
        t0 = time.monotonic()
        wanted = {self.ref(i) for i in range(count)}
        last_told = 0.0
        while True:
            statuses = self.statuses()
            resting = sum(1 for r in wanted if at_rest(statuses.get(r, {})))
            if resting == len(wanted):
                return time.monotonic() - t0
            waited = time.monotonic() - t0
            if waited > timeout:
                raise TimeoutError(f"{resting}/{len(wanted)} Releases at rest after {timeout:.0f}s")
            if waited - last_told >= 30:
                echo(f"  {resting}/{len(wanted)} Releases at rest after {waited:.0f}s")
                last_told = waited
            time.sleep(poll_s)

    def start_rollouts(self, refs: Iterable[ReleaseRef], round_: int, bad_every: int) -> list[Started]:
        """Change the template of every Release in ``refs`` (as fast as the API server takes it)."""
        statuses = self.statuses()
        started = []
        for k, ref in enumerate(refs):
            good = not is_bad(k, bad_every)
            version = f"1.{round_}.0" if good else BAD_VERSION
            body = manifest(ref.name, version, round_)
            self.requests += 1
            self.custom.patch_namespaced_custom_object(GROUP, VERSION, ref.namespace, PLURAL, ref.name,
                                                       {"spec": body["spec"]}, _request_timeout=30)
            started.append(Started(ref, time.time(), int(statuses[ref].get("nextRolloutId") or 1), good))
        return started

    def delete_all(self, timeout: float = 900) -> None:
        """Delete the benchmark's namespaces, with no operator running: Ripcord's finalizer is
        cleared first, or the Releases would hold their namespaces for ever."""
        from sandbox.releases import clear_release_finalizers
        for ns in self.namespace_names():
            clear_release_finalizers(self.api_client, ns)
            try:
                self.core.delete_namespace(ns)
            except ApiException as e:
                if e.status != 404:
                    raise
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            left = [ns for ns in self.namespace_names() if self._exists(ns)]
            if not left:
                return
            time.sleep(2)
        raise TimeoutError(f"namespaces still terminating after {timeout:.0f}s")

    def _exists(self, ns: str) -> bool:
        try:
            self.core.read_namespace(ns)
            return True
        except ApiException as e:
            if e.status == 404:
                return False
            raise


def rollout_refs(scenario: Scenario, rolling: int) -> list[ReleaseRef]:
    """The Releases that roll out: the first ``rolling`` (spread over the namespaces)."""
    return [scenario.ref(i) for i in range(rolling)]

