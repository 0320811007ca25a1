"""The gateway's control HTTP API and ``/metrics``, on its listen address.

=========================== ===================================================================
``GET /healthz``            ``{"ok": true, "synced": {"services":…, "pods":…, "httproutes":…}}``
``GET /metrics``            Prometheus exposition (``gateway_requests_total``, …)
``GET /loads``              ``{"loads": [info, …]}``
``GET /loads/<name>``       one load's info (spec, started, sent, inflight, record path)
``PUT /loads/<name>``       create (201) or update (200) a load; body: :class:`.load.LoadSpec`
``DELETE /loads/<name>``    stop it (200, ``{"deleted": name}``; 404 if unknown)
``GET /loads/<name>/record`` ``{"name", "rows": […]}``; ``?since=<unix s>``, ``?limit=<n>``
``* /proxy/<ns>/<svc>/<port>/<path>`` the request, to a ready pod of Service ``<ns>/<svc>`` (port
                            ``<port>``), and its answer: the sandbox's stand-in for cluster DNS
                            (``http://<svc>.<ns>.svc:<port>/<path>``), e.g. for Ripcord's
                            pre-traffic gate. No pod: ``503`` ``no healthy upstream``
=========================== ===================================================================

Errors are JSON ``{"error": "..."}`` with 400 (bad body) or 404.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
from aiohttp import web
from pydantic import ValidationError

from .discovery import ClusterState
from .load import LoadManager, LoadSpec
from .metrics import CONTENT_TYPE, GatewayMetrics
from .routing import Router, Target

PROXY_TIMEOUT_S = 10.0
PROXY_BODY_LIMIT = 64 * 1024
#: Headers that describe one hop, not the request: never forwarded.
HOP_HEADERS = frozenset({"connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te",
                         "trailer", "host", "content-length"})


def _json(obj: Any, status: int = 200) -> web.Response:
    return web.json_response(obj, status=status, dumps=lambda o: json.dumps(o, separators=(",", ":")))


def _error(status: int, message: str) -> web.Response:
    return _json({"error": message}, status)


def _int_param(request: web.Request, name: str) -> int | None:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return None
    try:
        return int(float(raw))
    except ValueError:
        raise web.HTTPBadRequest(text=json.dumps({"error": f"{name} must be a number"}),
                                 content_type="application/json") from None


def make_app(manager: LoadManager, state: ClusterState, metrics: GatewayMetrics) -> web.Application:
    routes = web.RouteTableDef()

    @routes.get("/healthz")
    async def healthz(_: web.Request) -> web.Response:
        return _json({"ok": True, "synced": dict(state.synced)})

    @routes.get("/metrics")
    async def prom(_: web.Request) -> web.Response:
        return web.Response(body=metrics.exposition(), headers={"Content-Type": CONTENT_TYPE})

    @routes.get("/loads")
    async def list_loads(_: web.Request) -> web.Response:
        return _json({"loads": [ld.info() for ld in manager.loads.values()]})

    @routes.get("/loads/{name}")
    async def get_load(request: web.Request) -> web.Response:
        load = manager.loads.get(request.match_info["name"])
        return _json(load.info()) if load else _error(404, "no such load")

    @routes.put("/loads/{name}")
    async def put_load(request: web.Request) -> web.Response:
        try:
            body = await request.json()
            spec = LoadSpec.model_validate(body)
            created, load = await manager.put(request.match_info["name"], spec)
        except ValidationError as e:
            return _error(400, "; ".join(f"{'.'.join(map(str, x['loc'])) or 'body'}: {x['msg']}" for x in e.errors()))
        except ValueError as e:  # bad JSON or bad name
            return _error(400, str(e))
        return _json(load.info(), 201 if created else 200)

    @routes.delete("/loads/{name}")
    async def delete_load(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if not await manager.delete(name):
            return _error(404, "no such load")
        return _json({"deleted": name})

    @routes.get("/loads/{name}/record")
    async def record(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        since, limit = _int_param(request, "since"), _int_param(request, "limit")
        rows = await asyncio.get_running_loop().run_in_executor(None, manager.rows, name, since, limit)
        if rows is None:
            return _error(404, "no such load and no record of it")
        return _json({"name": name, "rows": rows})

    router = Router()
    sessions: list[aiohttp.ClientSession] = []

    @routes.route("*", "/proxy/{namespace}/{service}/{port:[0-9]+}/{tail:.*}")
    async def proxy(request: web.Request) -> web.Response:
        ns, svc, port = request.match_info["namespace"], request.match_info["service"], int(request.match_info["port"])
        path = "/" + request.match_info["tail"] + (f"?{request.query_string}" if request.query_string else "")
        pick = router.pick(state.snapshot(), Target(ns, service=svc, port=port), path.split("?")[0], request.method)
        if pick.pod is None:
            text = "no healthy upstream" if pick.flags == "UH" else f"no such Service {ns}/{svc}"
            return web.Response(status=pick.code or 503, text=text, headers={"X-Gateway-Flags": pick.flags})
        if not sessions:
            sessions.append(aiohttp.ClientSession(auto_decompress=False))
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_HEADERS}
        body = await request.read()
        url = f"http://{pick.pod.ip}:{pick.port}{path}"
        try:
            async with sessions[0].request(request.method, url, headers=headers, data=body or None,
                                           allow_redirects=False,
                                           timeout=aiohttp.ClientTimeout(total=PROXY_TIMEOUT_S)) as up:
                content = await up.content.read(PROXY_BODY_LIMIT)
                out = {k: v for k, v in up.headers.items() if k.lower() not in HOP_HEADERS}
                return web.Response(status=up.status, body=content, headers=out)
        except asyncio.TimeoutError:
            return web.Response(status=504, text="upstream request timeout", headers={"X-Gateway-Flags": "UT"})
        except aiohttp.ClientConnectorError:
            return web.Response(status=503, text="upstream connect error", headers={"X-Gateway-Flags": "UF"})
        except aiohttp.ClientError:
            return web.Response(status=503, text="upstream reset", headers={"X-Gateway-Flags": "UC"})

    async def close_sessions(_: web.Application) -> None:
        for s in sessions:
            await s.close()

    @routes.get("/")
    async def index(_: web.Request) -> web.Response:
        return web.Response(text=(__doc__ or "").strip() + "\n")

    app = web.Application(client_max_size=64 * 1024)
    app.add_routes(routes)
    app.on_cleanup.append(close_sessions)
    return app
