"""One pod on the node: its address, its containers, its status and its deletion."""

from __future__ import annotations

import asyncio
import logging
import re
from pathlib import Path
from typing import TYPE_CHECKING

import aiohttp

from ..layout import HOST
from ..prometheus import POD_JOB
from .api import ApiError
from .container import ContainerRunner, now

if TYPE_CHECKING:
    from .node import Kubelet

log = logging.getLogger(__name__)


class PodWorker:
    def __init__(self, kubelet: "Kubelet", pod: dict) -> None:
        meta = pod["metadata"]
        self.kubelet = kubelet
        self.pod = pod
        self.uid: str = meta["uid"]
        self.namespace: str = meta["namespace"]
        self.name: str = meta["name"]
        self.key = f"{self.namespace}/{self.name}"
        status = pod.get("status") or {}
        self.ip = kubelet.ipam.allocate(self.uid, status.get("podIP"))
        self.start_time: str = status.get("startTime") or now()
        self.dir: Path = kubelet.paths.pod_logs / f"{self.namespace}_{self.name}_{self.uid}"
        self.dir.mkdir(parents=True, exist_ok=True)
        previous = {c["name"]: c.get("restartCount", 0) for c in status.get("containerStatuses") or []}
        # Init containers are not run by the sandbox; the pod counts as initialized.
        self.runners = [ContainerRunner(self, c, previous.get(c["name"], 0)) for c in pod["spec"]["containers"]]
        self._conditions: dict[str, tuple[str, str]] = {
            c["type"]: (c["status"], c.get("lastTransitionTime") or now()) for c in status.get("conditions") or []}
        self._dirty = asyncio.Event()
        self._last_written: dict | None = None
        self._tasks: list[asyncio.Task] = []
        self.terminating = False
        self.done = asyncio.Event()
        # A pod that had finished before a kubelet restart keeps its phase and is not rerun.
        self._terminal_phase = status.get("phase") if status.get("phase") in ("Succeeded", "Failed") else None

    # --- properties of the spec ---------------------------------------------------------

    @property
    def restart_policy(self) -> str:
        return self.pod["spec"].get("restartPolicy") or "Always"

    @property
    def grace_period(self) -> float:
        g = self.pod["spec"].get("terminationGracePeriodSeconds")
        return float(30 if g is None else g)

    # --- lifecycle ----------------------------------------------------------------------

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._tasks.append(loop.create_task(self._status_loop()))
        if self._terminal_phase:
            for r, old in zip(self.runners, self.pod["status"].get("containerStatuses") or []):
                r.finished, r.state = True, old.get("state") or {}
        elif not self.pod["metadata"].get("deletionTimestamp"):  # else: being deleted, never start
            self._tasks.extend(loop.create_task(r.run()) for r in self.runners)
        self.changed()

    def update(self, pod: dict) -> None:
        """A newer version of the pod object was seen."""
        self.pod = pod
        meta = pod["metadata"]
        if meta.get("deletionTimestamp") and not self.terminating:
            grace = meta.get("deletionGracePeriodSeconds")
            self.terminating = True
            self._tasks.append(asyncio.get_running_loop().create_task(
                self._terminate(float(self.grace_period if grace is None else grace), delete=True)))
        self.changed()

    def gone(self) -> None:
        """The pod object was removed from the API (e.g. force-deleted)."""
        if not self.terminating:
            self.terminating = True
            self._tasks.append(asyncio.get_running_loop().create_task(self._terminate(2.0, delete=False)))

    async def shutdown(self, grace: float) -> None:
        """The kubelet stops: stop the processes, leave the API object alone."""
        self.terminating = True
        await asyncio.gather(*(r.stop(grace) for r in self.runners))
        for t in self._tasks:
            t.cancel()
        self.kubelet.targets.set(self.uid, None)

    async def _terminate(self, grace: float, delete: bool) -> None:
        try:
            self.event("Killing", f"Stopping containers (grace period {grace:g}s)")
            await asyncio.gather(*(r.stop(grace) for r in self.runners))
            self.kubelet.targets.set(self.uid, None)
            if delete:
                body = {"apiVersion": "v1", "kind": "DeleteOptions", "gracePeriodSeconds": 0,
                        "preconditions": {"uid": self.uid}}
                for attempt in range(5):
                    try:
                        await self.kubelet.api.delete(f"/api/v1/namespaces/{self.namespace}/pods/{self.name}", body)
                        break
                    except ApiError as e:
                        if e.status in (404, 409):
                            break
                        log.warning("deleting %s: %s", self.key, e)
                    except (aiohttp.ClientError, asyncio.TimeoutError) as e:
                        log.warning("deleting %s: %s", self.key, e)
                    await asyncio.sleep(1 + attempt)
        finally:
            for t in self._tasks:
                if t is not asyncio.current_task():
                    t.cancel()
            self.kubelet.ipam.release(self.uid)
            self.kubelet.forget(self)
            self.done.set()

    # --- status -------------------------------------------------------------------------

    def changed(self) -> None:
        self._dirty.set()
        self.kubelet.targets.set(self.uid, self.target())

    def _condition(self, type_: str, ok: bool, reason: str = "", message: str = "") -> dict:
        status = "True" if ok else "False"
        old = self._conditions.get(type_)
        ts = old[1] if old and old[0] == status else now()
        self._conditions[type_] = (status, ts)
        # null clears a field left from an earlier write (the status patch merges conditions by type)
        return {"type": type_, "status": status, "lastProbeTime": None, "lastTransitionTime": ts,
                "reason": reason or None, "message": message or None}

    def phase(self) -> str:
        if self._terminal_phase:
            return self._terminal_phase
        if not self.terminating and all(r.finished for r in self.runners):
            codes = [r.state.get("terminated", {}).get("exitCode", 1) for r in self.runners]
            return "Succeeded" if all(c == 0 for c in codes) else "Failed"
        if any(r.ever_started for r in self.runners):
            return "Running"
        return "Pending"

    def build_status(self) -> dict:
        unready = [r.name for r in self.runners if not r.ready]
        ready = not unready and not self.terminating
        msg = f"containers with unready status: [{' '.join(unready)}]" if unready else ""
        reason = "ContainersNotReady" if unready else ""
        return {
            "phase": self.phase(),
            "conditions": [
                self._condition("Initialized", True),
                self._condition("Ready", ready, reason, msg),
                self._condition("ContainersReady", ready, reason, msg),
                self._condition("PodScheduled", True),
            ],
            "hostIP": HOST,
            "podIP": self.ip,
            "podIPs": [{"ip": self.ip}],
            "startTime": self.start_time,
            "containerStatuses": [r.status() for r in self.runners],
        }

    async def _status_loop(self) -> None:
        path = f"/api/v1/namespaces/{self.namespace}/pods/{self.name}/status"
        while True:
            await self._dirty.wait()
            self._dirty.clear()
            status = self.build_status()
            if status != self._last_written:
                try:
                    await self.kubelet.api.patch(path, {"metadata": {"uid": self.uid}, "status": status})
                    self._last_written = status
                except ApiError as e:
                    if e.status in (404, 409):  # gone, or replaced by a pod with another uid
                        return
                    log.warning("status of %s: %s", self.key, e)
                    self._dirty.set()
                    await asyncio.sleep(1)
                except (aiohttp.ClientError, asyncio.TimeoutError) as e:
                    log.warning("status of %s: %s", self.key, e)
                    self._dirty.set()
                    await asyncio.sleep(1)
            await asyncio.sleep(0.05)  # coalesce bursts of changes into one write

    # --- Prometheus target ----------------------------------------------------------------

    def target(self) -> dict | None:
        """The file_sd entry for this pod while a container process runs, else None.

        Virtual containers have no process to scrape: ``virtual_target`` labels their series.
        """
        if not any(r.running and not r.virtual for r in self.runners):
            return None
        meta = self.pod["metadata"]
        ann = meta.get("annotations") or {}
        if ann.get("prometheus.io/scrape") == "false":
            return None
        port = ann.get("prometheus.io/port") or _metrics_port(self.pod)
        if not port:
            return None
        labels = target_labels(self.pod)
        if ann.get("prometheus.io/path"):
            labels["__metrics_path__"] = ann["prometheus.io/path"]
        return {"targets": [f"{self.ip}:{port}"], "labels": labels}

    def virtual_target(self) -> dict[str, str] | None:
        """The labels a scrape of this pod would give its series (job, instance and the
        target labels), for the kubelet's virtual-pods endpoint; None: not scraped."""
        ann = self.pod["metadata"].get("annotations") or {}
        if ann.get("prometheus.io/scrape") == "false":
            return None
        port = ann.get("prometheus.io/port") or _metrics_port(self.pod) or 8080
        return {"job": POD_JOB, "instance": f"{self.ip}:{port}", **target_labels(self.pod)}

    def event(self, reason: str, message: str, warning: bool = False) -> None:
        self.kubelet.events.emit(self.pod, reason, message, warning)


def target_labels(pod: dict) -> dict[str, str]:
    """Prometheus target labels of a pod (docs/design.md "Metrics as the sandbox exposes them")."""
    meta = pod["metadata"]
    labels = {"namespace": meta["namespace"], "pod": meta["name"], "workload": _workload(meta),
              "pod_template_hash": (meta.get("labels") or {}).get("pod-template-hash", "")}
    for k, v in (meta.get("labels") or {}).items():
        labels["label_" + re.sub(r"[^a-zA-Z0-9]", "_", k)] = v
    return labels


def _metrics_port(pod: dict) -> int | None:
    ports = [p for c in pod["spec"]["containers"] for p in c.get("ports") or [] if p.get("containerPort")]
    for wanted in ("metrics", "http"):
        for p in ports:
            if p.get("name") == wanted:
                return int(p["containerPort"])
    return int(ports[0]["containerPort"]) if ports else None


def _workload(meta: dict) -> str:
    """The owning Deployment (through its ReplicaSet), else the owner's name, else the pod's."""
    owners = meta.get("ownerReferences") or []
    owner = next((o for o in owners if o.get("controller")), owners[0] if owners else None)
    if owner is None:
        return meta["name"]
    name = owner["name"]
    h = (meta.get("labels") or {}).get("pod-template-hash")
    if owner.get("kind") == "ReplicaSet" and h and name.endswith("-" + h):
        return name[: -len(h) - 1]
    return name
