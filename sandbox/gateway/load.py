"""Steady request loads: open loop, bounded concurrency, one asyncio task per request.

A load sends ``rps`` requests per second on a fixed schedule whatever the backends do
(open loop: a slow or hung backend does not slow the sender down, as with real users),
cycling through its paths. The backend is chosen when a request is sent
(:mod:`.routing`). At most ``max_inflight`` requests are pending at once; a request over
that bound is answered by the gateway itself with 503 ``UO`` (Envoy's overflow flag),
labelled with the Service the route chose for it (Envoy's circuit breakers are per
upstream cluster, so an overflow is the chosen backend's too).
Connections to pods are kept alive and reused, as a proxy's upstream pools are
(:mod:`.upstream`).

Loads are kept in ``<state-dir>/gateway/loads.json`` and restarted with the gateway; their
records (``<state-dir>/gateway/<name>.jsonl``, :mod:`.record`) start afresh when a load of
that name is created, and are appended to when it is updated or restored.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import re
import time
from pathlib import Path
from typing import Any, Optional

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .discovery import ClusterState
from .metrics import UNKNOWN, GatewayMetrics
from .record import Aggregator, Outcome, RecordFile, read_rows
from .routing import Pick, Router, Target
from .upstream import ConnectFailed, Pool, Response

log = logging.getLogger("sandbox.gateway.load")

MAX_RPS = 2000.0
NAME_RE = re.compile(r"^[a-z0-9]([-a-z0-9_.]{0,61}[a-z0-9])?$")


HEADER_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+\-.^_`|~]+$")


class LoadSpec(BaseModel):
    """The body of ``PUT /loads/<name>``: exactly one of ``service``, ``route`` or ``host``.

    ``host``: a mesh client (an Istio sidecar) calling that Service name: VirtualServices for
    it apply, and the requests are counted as Istio's client side counts them
    (``istio_requests_total``). ``headers`` go with every request, and route matches see them
    (a ``Cookie`` header carries cookies).
    """

    model_config = ConfigDict(extra="forbid")

    namespace: str = Field(min_length=1, max_length=63)
    service: str | None = Field(None, min_length=1)
    route: str | None = Field(None, min_length=1)
    host: str | None = Field(None, min_length=1, max_length=253)
    headers: dict[str, str] = Field(default_factory=dict, max_length=16)
    port: int | None = Field(None, ge=1, le=65535, description="Service port (default: the first)")
    rps: float = Field(50.0, gt=0, le=MAX_RPS)
    paths: list[str] = Field(default_factory=lambda: ["/api/status", "/health"], min_length=1, max_length=32)
    timeout_s: float = Field(2.0, gt=0, le=60)
    max_inflight: int = Field(256, ge=1, le=4096)
    seed: int | None = Field(None, description="seed of the random choice among pods")

    @field_validator("paths")
    @classmethod
    def _paths(cls, v: list[str]) -> list[str]:
        bad = [p for p in v if not p.startswith("/") or any(c.isspace() for c in p)]
        if bad:
            raise ValueError(f"paths must start with '/' and hold no spaces: {bad}")
        return v

    @field_validator("headers")
    @classmethod
    def _headers(cls, v: dict[str, str]) -> dict[str, str]:
        bad = [k for k, val in v.items() if not HEADER_NAME.match(k) or any(c in val for c in "\r\n")]
        if bad:
            raise ValueError(f"bad header names or values: {bad}")
        if any(k.lower() in ("host", "content-length", "connection", "transfer-encoding") for k in v):
            raise ValueError("headers may not set Host, Content-Length, Connection or Transfer-Encoding")
        return v

    @model_validator(mode="after")
    def _one_target(self) -> "LoadSpec":
        if sum(x is not None for x in (self.service, self.route, self.host)) != 1:
            raise ValueError("give exactly one of 'service', 'route' or 'host'")
        return self

    def target(self) -> Target:
        return Target(self.namespace, service=self.service, route=self.route, port=self.port, host=self.host)


class Load:
    """One named load: its schedule, its in-flight requests, its record."""

    def __init__(self, name: str, spec: LoadSpec, state: ClusterState, metrics: GatewayMetrics,
                 pool: Pool, record_path: Path, truncate: bool) -> None:
        self.name, self.state, self.metrics, self.pool = name, state, metrics, pool
        self.spec = spec
        self.router = Router(random.Random(spec.seed))
        self.started = time.time()
        self.agg = Aggregator(self.started)
        self.file = RecordFile(record_path, truncate=truncate)
        self.sent = 0
        self.inflight = 0
        self.mirrored = 0  # copies sent by a RequestMirror filter (their answers are discarded)
        self.mirror_inflight = 0
        self._path_i = 0
        self._tasks: set[asyncio.Task] = set()
        self._scheduler: asyncio.Task | None = None

    def start(self) -> None:
        self._scheduler = asyncio.create_task(self._schedule(), name=f"load-{self.name}")

    def update(self, spec: LoadSpec) -> None:
        if spec.seed != self.spec.seed:
            self.router = Router(random.Random(spec.seed))
        self.spec = spec  # the scheduler sees the new object and restarts its timetable

    def info(self) -> dict[str, Any]:
        return {"name": self.name, "spec": self.spec.model_dump(), "started": self.started,
                "sent": self.sent, "inflight": self.inflight, "mirrored": self.mirrored,
                "record": str(self.file.path)}

    def flush(self, now: float, final: bool = False) -> None:
        self.file.write(self.agg.close_until(now, include_current=final))

    async def stop(self) -> None:
        """Stop sending, drop what is in flight (it is not recorded), write the last rows."""
        tasks = [t for t in (self._scheduler, *self._tasks) if t is not None]
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self.flush(time.time(), final=True)
        self.file.close()

    async def _schedule(self) -> None:
        loop = asyncio.get_running_loop()
        spec, origin, sent = self.spec, loop.time(), 0
        target = spec.target()
        while True:
            if self.spec is not spec:
                spec, origin, sent = self.spec, loop.time(), 0
                target = spec.target()
            now = loop.time()
            due = int((now - origin) * spec.rps) + 1 - sent
            if due > max(1.0, spec.rps):  # more than a second behind (a stall): skip, don't burst
                log.warning("load %s: %d requests behind schedule, skipped", self.name, due)
                origin, sent, due = now, 0, 1
            for _ in range(due):
                self._launch(spec, target)
            sent += due
            await asyncio.sleep(max(0.0, origin + sent / spec.rps - loop.time()))

    def _launch(self, spec: LoadSpec, target: Target) -> None:
        path = spec.paths[self._path_i % len(spec.paths)]
        self._path_i += 1
        self.sent += 1
        headers = {k.lower(): v for k, v in spec.headers.items()}
        snap = self.state.snapshot()
        pick = self.router.pick(snap, target, path, headers=headers)
        copy = self.router.mirror(snap, target, path, headers=headers)
        if copy is not None:
            self._launch_mirror(spec, copy, path)
        if pick.pod is None:
            self._record(spec.namespace, pick, pick.code, pick.flags, "none", 0.0)
            return
        if self.inflight >= spec.max_inflight:
            self._record(spec.namespace, Pick(pick.route, pick.service), 503, "UO", "none", 0.0)
            return
        self.inflight += 1
        task = asyncio.create_task(self._request(spec.namespace, pick, path, spec.timeout_s, spec.headers))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _launch_mirror(self, spec: LoadSpec, copy: Pick, path: str) -> None:
        """Send the copy and forget it: its outcome goes to the metrics (mirrored), never to the record."""
        self.mirrored += 1
        if copy.pod is None or self.mirror_inflight >= spec.max_inflight:
            code, flags = (copy.code, copy.flags) if copy.pod is None else (503, "UO")
            self.metrics.observe(spec.namespace, copy.route, copy.service, UNKNOWN, UNKNOWN, code, flags, 0.0,
                                 mirrored=True)
            return
        self.mirror_inflight += 1
        task = asyncio.create_task(self._mirror_request(spec.namespace, copy, path, spec.timeout_s))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _mirror_request(self, namespace: str, copy: Pick, path: str, timeout_s: float) -> None:
        assert copy.pod is not None and copy.port is not None
        loop = asyncio.get_running_loop()
        start = loop.time()
        try:
            _, code, flags = await self._send(copy.pod.ip, copy.port, path, timeout_s)
        finally:
            self.mirror_inflight -= 1
        answered = not flags
        self.metrics.observe(namespace, copy.route, copy.service, copy.pod.workload if answered else UNKNOWN,
                             copy.pod.name if answered else UNKNOWN, code, flags, loop.time() - start, mirrored=True)

    async def _request(self, namespace: str, pick: Pick, path: str, timeout_s: float,
                       headers: dict[str, str] | None = None) -> None:
        assert pick.pod is not None and pick.port is not None
        loop = asyncio.get_running_loop()
        start = loop.time()
        try:
            resp, code, flags = await self._send(pick.pod.ip, pick.port, path, timeout_s, headers)
        finally:
            self.inflight -= 1
        version = (resp.version or "none") if resp is not None else "none"
        self._record(namespace, pick, code, flags, version, loop.time() - start)

    async def _send(self, ip: str, port: int, path: str, timeout_s: float,
                    headers: dict[str, str] | None = None) -> tuple[Optional[Response], int, str]:
        """The response (None when none came back), its status, and Envoy's flags for a failure:
        UT timed out (504), UF connection refused (503), UC connection reset (503)."""
        try:
            resp = await self.pool.get(ip, port, path, timeout_s, headers)
        except TimeoutError:
            return None, 504, "UT"
        except ConnectFailed:
            return None, 503, "UF"
        except ConnectionError:
            return None, 503, "UC"
        return resp, resp.status, ""

    def _record(self, namespace: str, pick: Pick, code: int, flags: str, version: str, seconds: float) -> None:
        """One outcome: metrics labelled as Istio's client side labels them, and the record.

        Only a pod that answered is named in the metrics (a flag means the gateway answered
        itself); the record keeps the Deployment the request was sent to, as ground truth.
        """
        pod = pick.pod
        answered = pod is not None and not flags
        if self.spec.host is not None:  # a mesh client: Istio's metrics, the destination Service's namespace
            self.metrics.observe_mesh(namespace, pick.service, pod.namespace if pod else namespace,
                                      pod.workload if answered and pod else UNKNOWN, code, flags, seconds)
        else:
            self.metrics.observe(namespace, pick.route, pick.service, pod.workload if answered else UNKNOWN,
                                 pod.name if answered else UNKNOWN, code, flags, seconds)
        self.agg.add(Outcome(time.time(), code, seconds * 1000.0, flags, version,
                             (pod.workload if pod else "") or "none", pick.service or "none"))


class LoadManager:
    """The set of running loads, persisted so a restarted gateway resumes them."""

    def __init__(self, state: ClusterState, metrics: GatewayMetrics, state_dir: Path) -> None:
        self.state, self.metrics = state, metrics
        self.dir = state_dir / "gateway"
        self.loads: dict[str, Load] = {}
        self.pool = Pool()
        self._flusher: asyncio.Task | None = None

    def record_path(self, name: str) -> Path:
        return self.dir / f"{name}.jsonl"

    async def start(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        self._flusher = asyncio.create_task(self._flush_every_second(), name="record-flusher")
        for name, raw in self._saved().items():
            try:
                self._create(name, LoadSpec.model_validate(raw), truncate=False)
                log.info("load %s restored", name)
            except Exception as e:  # noqa: BLE001 - a bad saved entry must not stop the gateway
                log.warning("load %s not restored: %s", name, e)

    def _saved(self) -> dict[str, Any]:
        try:
            return json.loads((self.dir / "loads.json").read_text())
        except (OSError, ValueError):
            return {}

    def _save(self) -> None:
        tmp = self.dir / "loads.json.tmp"
        tmp.write_text(json.dumps({n: ld.spec.model_dump() for n, ld in self.loads.items()}, indent=1))
        os.replace(tmp, self.dir / "loads.json")

    def _create(self, name: str, spec: LoadSpec, truncate: bool) -> Load:
        load = Load(name, spec, self.state, self.metrics, self.pool, self.record_path(name), truncate)
        self.loads[name] = load
        load.start()
        return load

    async def put(self, name: str, spec: LoadSpec) -> tuple[bool, Load]:
        """Create the load, or update it in place (its record goes on). True if created."""
        if not NAME_RE.match(name):
            raise ValueError(f"load name {name!r}: lower-case letters, digits, '-', '_', '.'; at most 63")
        load = self.loads.get(name)
        if load is not None:
            load.update(spec)
            created = False
        else:
            load = self._create(name, spec, truncate=True)
            created = True
        self._save()
        return created, load

    async def delete(self, name: str) -> bool:
        load = self.loads.pop(name, None)
        if load is None:
            return False
        self._save()
        await load.stop()
        return True

    async def close(self) -> None:
        """Stop every load (they stay saved, to resume at the next start)."""
        if self._flusher:
            self._flusher.cancel()
        await asyncio.gather(*(ld.stop() for ld in self.loads.values()), return_exceptions=True)
        self.pool.close()

    def rows(self, name: str, since: int | None = None, limit: int | None = None) -> list[dict[str, Any]] | None:
        path = self.record_path(name)
        if name not in self.loads and not path.exists():
            return None
        return read_rows(path, since, limit)

    async def _flush_every_second(self) -> None:
        while True:
            now = time.time()
            await asyncio.sleep(1.0 - (now % 1.0) + 0.02)  # just after each second ends
            now = time.time()
            for load in list(self.loads.values()):
                try:
                    load.flush(now)
                except OSError as e:
                    log.warning("load %s: record not written: %s", load.name, e)
