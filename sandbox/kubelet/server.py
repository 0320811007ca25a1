"""The kubelet's HTTPS endpoint: ``kubectl logs`` (the API server proxies to it), /healthz,
and the synthesised metrics of every virtual pod (``/metrics/virtual``, sandbox.kubelet.virtual)."""

from __future__ import annotations

import asyncio
import ssl
import time
from pathlib import Path
from typing import TYPE_CHECKING

from aiohttp import web

from ..prometheus import VIRTUAL_METRICS_PATH

if TYPE_CHECKING:
    from .node import Kubelet

FOLLOW_LIMIT = 6 * 3600.0  # a followed log stream ends after this long at the latest


def _find_log(kubelet: "Kubelet", ns: str, pod: str, container: str, previous: bool) -> tuple[Path | None, object]:
    name = f"{container}.previous.log" if previous else f"{container}.log"
    worker = next((w for w in kubelet.workers.values() if w.namespace == ns and w.name == pod), None)
    if worker:
        runner = next((r for r in worker.runners if r.name == container), None)
        return (worker.dir / name if runner else None), runner
    dirs = sorted(kubelet.paths.pod_logs.glob(f"{ns}_{pod}_*"), key=lambda p: p.stat().st_mtime)
    return (dirs[-1] / name if dirs else None), None


async def container_logs(request: web.Request) -> web.StreamResponse:
    kubelet: "Kubelet" = request.app["kubelet"]
    q = request.query
    ns, pod, container = (request.match_info[k] for k in ("ns", "pod", "container"))
    path, runner = _find_log(kubelet, ns, pod, container, q.get("previous") == "true")
    if path is None or not path.exists():
        raise web.HTTPNotFound(text=f"no logs for container {container!r} of pod {ns}/{pod}\n")
    data = path.read_bytes()
    if q.get("tailLines"):
        n = int(q["tailLines"])
        lines = data.splitlines(keepends=True)
        data = b"".join(lines[-n:]) if n > 0 else b""
    if q.get("limitBytes"):
        data = data[: int(q["limitBytes"])]
    resp = web.StreamResponse(headers={"Content-Type": "text/plain"})
    await resp.prepare(request)
    await resp.write(data)
    if q.get("follow") == "true" and runner is not None and q.get("previous") != "true":
        offset = path.stat().st_size
        deadline = time.monotonic() + FOLLOW_LIMIT
        while time.monotonic() < deadline:
            with open(path, "rb") as f:
                f.seek(offset)
                chunk = f.read()
            if chunk:
                offset += len(chunk)
                await resp.write(chunk)
            elif runner.exited.is_set() or runner.pod.done.is_set():
                break
            await asyncio.sleep(0.25)
    await resp.write_eof()
    return resp


async def healthz(_: web.Request) -> web.Response:
    return web.Response(text="ok")


async def virtual_metrics(request: web.Request) -> web.Response:
    kubelet: "Kubelet" = request.app["kubelet"]
    return web.Response(body=kubelet.virtual.render().encode(),
                        headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8",
                                 "X-Virtual-Containers": str(len(kubelet.virtual))})


async def serve(kubelet: "Kubelet", host: str, port: int, cert: Path, key: Path) -> web.AppRunner:
    app = web.Application()
    app["kubelet"] = kubelet
    app.router.add_get("/healthz", healthz)
    app.router.add_get(VIRTUAL_METRICS_PATH, virtual_metrics)
    app.router.add_get("/containerLogs/{ns}/{pod}/{container}", container_logs)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(str(cert), str(key))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port, ssl_context=ctx).start()
    return runner
