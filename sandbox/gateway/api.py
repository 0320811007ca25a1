"""The gateway's control HTTP API and ``/metrics``, on its listen address.

=========================== ===================================================================
``GET /healthz``            ``{"ok": true, "synced": {"services":…, "pods":…, "httproutes":…}}``
``GET /metrics``            Prometheus exposition (``gateway_requests_total``, …)
``GET /loads``              ``{"loads": [info, …]}``
``GET /loads/<name>``       one load's info (spec, started, sent, inflight, record path)
``PUT /loads/<name>``       create (201) or update (200) a load; body: :class:`.load.LoadSpec`
``DELETE /loads/<name>``    stop it (200, ``{"deleted": name}``; 404 if unknown)
``GET /loads/<name>/record`` ``{"name", "rows": […]}``; ``?since=<unix s>``, ``?limit=<n>``
=========================== ===================================================================

Errors are JSON ``{"error": "..."}`` with 400 (bad body) or 404.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import web
from pydantic import ValidationError

from .discovery import ClusterState
from .load import LoadManager, LoadSpec
from .metrics import CONTENT_TYPE, GatewayMetrics


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

    @routes.get("/")
    async def index(_: web.Request) -> web.Response:
        return web.Response(text=(__doc__ or "").strip() + "\n")

    app = web.Application(client_max_size=64 * 1024)
    app.add_routes(routes)
    return app
