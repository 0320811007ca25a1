"""The kubelet stand-in: registers the Node, keeps it alive, binds and runs pods."""

from __future__ import annotations

import asyncio
import logging
import os
import platform
import time
from pathlib import Path

import aiohttp

from .. import proc
from ..layout import HOST, KUBELET_PORT, NODE_NAME, Paths
from .api import ApiError, KubeClient
from .events import Events
from .ipam import Ipam
from .pod import PodWorker
from .targets import Targets
from .virtual import VirtualPods

log = logging.getLogger(__name__)

LEASE_SECONDS = 40
RENEW_EVERY = 10.0
NODE_STATUS_EVERY = 30.0
FINISHED_MEMORY = 600.0  # seconds a finished pod's uid is remembered, so stale events cannot restart it


def _micro_now() -> str:
    t = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t % 1 * 1e6):06d}Z"


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _mem_kib() -> int:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 4 * 1024 * 1024


class Kubelet:
    def __init__(self, api: KubeClient, paths: Paths, backoff_base: float = 10.0, backoff_max: float = 300.0) -> None:
        self.api = api
        self.paths = paths
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.ipam = Ipam()
        self.targets = Targets(paths.targets_dir / "pods.json")
        self.virtual = VirtualPods()  # the series of virtual containers, served at /metrics/virtual
        self.events = Events(api)
        self.workers: dict[str, PodWorker] = {}
        self.pid_dir = paths.kubelet_dir / "pids"
        self.pid_dir.mkdir(parents=True, exist_ok=True)
        self._binding: set[str] = set()
        self._finished: dict[str, float] = {}
        self._tasks: set[asyncio.Task] = set()

    # --- node ---------------------------------------------------------------------------

    def _node_status(self) -> dict:
        cpu = str(os.cpu_count() or 2)
        resources = {"cpu": cpu, "memory": f"{_mem_kib()}Ki", "pods": "1000", "ephemeral-storage": "100Gi"}
        now = _now()
        cond = [("Ready", "True", "KubeletReady", "sandbox kubelet stand-in is posting ready status"),
                ("MemoryPressure", "False", "KubeletHasSufficientMemory", "sandbox"),
                ("DiskPressure", "False", "KubeletHasNoDiskPressure", "sandbox"),
                ("PIDPressure", "False", "KubeletHasSufficientPID", "sandbox")]
        return {
            "conditions": [{"type": t, "status": s, "reason": r, "message": m, "lastHeartbeatTime": now}
                           for t, s, r, m in cond],
            "addresses": [{"type": "InternalIP", "address": HOST}, {"type": "Hostname", "address": NODE_NAME}],
            "capacity": resources, "allocatable": resources,
            "daemonEndpoints": {"kubeletEndpoint": {"Port": KUBELET_PORT}},
            "nodeInfo": {"kubeletVersion": "v1.20.2-sandbox", "kubeProxyVersion": "v1.20.2-sandbox",
                         "operatingSystem": "linux", "architecture": "amd64",
                         "containerRuntimeVersion": "sandbox://1", "osImage": "ripcord sandbox",
                         "kernelVersion": platform.release(), "machineID": "", "systemUUID": "", "bootID": ""},
        }

    async def register(self, timeout: float = 60.0) -> None:
        node = {"apiVersion": "v1", "kind": "Node",
                "metadata": {"name": NODE_NAME, "labels": {
                    "kubernetes.io/hostname": NODE_NAME, "kubernetes.io/os": "linux",
                    "kubernetes.io/arch": "amd64", "ripcord.dev/sandbox": "true"}}}
        deadline = time.monotonic() + timeout
        while True:
            try:
                try:
                    await self.api.post("/api/v1/nodes", node)
                except ApiError as e:
                    if e.status != 409:
                        raise
                await self.api.patch(f"/api/v1/nodes/{NODE_NAME}/status", {"status": self._node_status()})
                # TaintNodesByCondition puts a not-ready taint on new nodes; the node controller
                # lifts it once Ready, but nothing needs to wait for that here.
                return
            except (ApiError, aiohttp.ClientError, asyncio.TimeoutError, OSError) as e:
                if time.monotonic() > deadline:
                    raise
                log.warning("registering node: %s", e)
                await asyncio.sleep(1)

    async def heartbeat(self) -> None:
        """Renew the node Lease every 10 s and the Ready condition every 30 s."""
        lease_path = f"/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/{NODE_NAME}"
        last_status = time.monotonic()
        while True:
            try:
                try:
                    lease = await self.api.get(lease_path)
                    lease["spec"].update(renewTime=_micro_now(), holderIdentity=NODE_NAME,
                                         leaseDurationSeconds=LEASE_SECONDS)
                    await self.api.put(lease_path, lease)
                except ApiError as e:
                    if e.status != 404:
                        raise
                    node = await self.api.get(f"/api/v1/nodes/{NODE_NAME}")
                    await self.api.post("/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases", {
                        "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                        "metadata": {"name": NODE_NAME, "ownerReferences": [{
                            "apiVersion": "v1", "kind": "Node", "name": NODE_NAME, "uid": node["metadata"]["uid"]}]},
                        "spec": {"holderIdentity": NODE_NAME, "leaseDurationSeconds": LEASE_SECONDS,
                                 "renewTime": _micro_now()}})
                if time.monotonic() - last_status >= NODE_STATUS_EVERY:
                    await self.api.patch(f"/api/v1/nodes/{NODE_NAME}/status", {"status": self._node_status()})
                    last_status = time.monotonic()
            except ApiError as e:
                if e.status == 404:  # the Node itself was deleted: register again
                    await self.register()
                else:
                    log.warning("heartbeat: %s", e)
            except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as e:
                log.warning("heartbeat: %s", e)
            await asyncio.sleep(RENEW_EVERY)

    # --- pods ---------------------------------------------------------------------------

    def forget(self, worker: PodWorker) -> None:
        if self.workers.get(worker.uid) is worker:
            del self.workers[worker.uid]
        now = time.monotonic()
        self._finished[worker.uid] = now
        for uid, t in list(self._finished.items()):
            if now - t > FINISHED_MEMORY:
                del self._finished[uid]

    def _spawn(self, coro) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def handle(self, pod: dict, deleted: bool = False) -> None:
        meta, spec = pod["metadata"], pod["spec"]
        uid = meta["uid"]
        if deleted:
            w = self.workers.pop(uid, None)
            if w:
                w.gone()
            return
        node = spec.get("nodeName")
        if not node:
            if not meta.get("deletionTimestamp") and uid not in self._binding:
                self._binding.add(uid)
                self._spawn(self._bind(pod))
            return
        if node != NODE_NAME or uid in self._finished:
            return
        w = self.workers.get(uid)
        if w is None:
            w = self.workers[uid] = PodWorker(self, pod)
            w.start()
        w.update(pod)

    async def _bind(self, pod: dict) -> None:
        meta = pod["metadata"]
        body = {"apiVersion": "v1", "kind": "Binding",
                "metadata": {"name": meta["name"], "namespace": meta["namespace"], "uid": meta["uid"]},
                "target": {"apiVersion": "v1", "kind": "Node", "name": NODE_NAME}}
        try:
            for attempt in range(5):
                try:
                    await self.api.post(f"/api/v1/namespaces/{meta['namespace']}/pods/{meta['name']}/binding", body)
                    return
                except ApiError as e:
                    if e.status in (404, 409, 410):  # gone, or already bound
                        return
                    log.warning("binding %s/%s: %s", meta["namespace"], meta["name"], e)
                except (aiohttp.ClientError, asyncio.TimeoutError) as e:
                    log.warning("binding %s/%s: %s", meta["namespace"], meta["name"], e)
                await asyncio.sleep(0.5 * 2 ** attempt)
        finally:
            self._binding.discard(meta["uid"])

    async def watch_pods(self) -> None:
        """List, then watch, all pods; relist on 410 Gone or errors (bounded back-off)."""
        errors = 0
        while True:
            try:
                lst = await self.api.get("/api/v1/pods")
                rv = lst["metadata"]["resourceVersion"]
                seen = set()
                for pod in lst["items"]:
                    seen.add(pod["metadata"]["uid"])
                    self.handle(pod)
                for uid, w in list(self.workers.items()):
                    if uid not in seen:
                        self.workers.pop(uid, None)
                        w.gone()
                errors = 0
                expired = False
                while not expired:
                    async for ev in self.api.watch("/api/v1/pods", rv):
                        obj = ev["object"]
                        if ev["type"] == "ERROR":
                            if obj.get("code") == 410:
                                expired = True
                                break
                            raise ApiError(obj.get("code", 500), str(obj.get("message")))
                        rv = obj["metadata"]["resourceVersion"]
                        if ev["type"] != "BOOKMARK":
                            self.handle(obj, deleted=ev["type"] == "DELETED")
            except asyncio.CancelledError:
                raise
            except Exception as e:  # keep the node alive whatever one event does
                errors += 1
                log.warning("pod watch: %r", e)
                await asyncio.sleep(min(0.5 * 2 ** errors, 10))

    def kill_orphans(self) -> None:
        """Stop container processes a previous kubelet instance left behind."""
        for pid_file in self.pid_dir.glob("*.pid"):
            rec = proc.read_pid(pid_file)
            if rec and rec.alive():
                log.info("stopping orphaned container process %s (%s)", rec.pid, pid_file.stem)
                proc.terminate(rec, 3)
            pid_file.unlink(missing_ok=True)

    async def shutdown(self, grace: float = 5.0) -> None:
        workers = list(self.workers.values())
        await asyncio.gather(*(w.shutdown(min(grace, w.grace_period)) for w in workers), return_exceptions=True)
        self.targets.write()
