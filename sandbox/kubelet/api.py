"""A small asyncio client for the Kubernetes REST API (just what the kubelet stand-in uses)."""

from __future__ import annotations

import base64
import json
import ssl
from pathlib import Path
from typing import Any, AsyncIterator

import aiohttp
import yaml

STRATEGIC = "application/strategic-merge-patch+json"
MERGE = "application/merge-patch+json"


class ApiError(Exception):
    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"HTTP {status}: {body[:300]}")
        self.status = status
        self.body = body


class KubeClient:
    """Bearer-token client from a kubeconfig's current context."""

    def __init__(self, kubeconfig: Path) -> None:
        cfg = yaml.safe_load(Path(kubeconfig).read_text())
        ctx_name = cfg["current-context"]
        ctx = next(c["context"] for c in cfg["contexts"] if c["name"] == ctx_name)
        cluster = next(c["cluster"] for c in cfg["clusters"] if c["name"] == ctx["cluster"])
        user = next(u["user"] for u in cfg["users"] if u["name"] == ctx["user"])
        self.server = cluster["server"].rstrip("/")
        self._ssl = ssl.create_default_context(
            cadata=base64.b64decode(cluster["certificate-authority-data"]).decode())
        self._headers = {"Authorization": f"Bearer {user['token']}", "Accept": "application/json"}
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> "KubeClient":
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(ssl=self._ssl, limit=32),
            headers=self._headers, timeout=aiohttp.ClientTimeout(total=30, connect=5))
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session:
            await self._session.close()

    async def request(self, method: str, path: str, *, body: Any = None, params: dict | None = None,
                      content_type: str = "application/json") -> dict:
        assert self._session is not None
        data = None if body is None else json.dumps(body)
        headers = {"Content-Type": content_type} if data is not None else {}
        async with self._session.request(method, self.server + path, data=data, params=params,
                                         headers=headers) as resp:
            text = await resp.text()
            if resp.status >= 400:
                raise ApiError(resp.status, text)
            return json.loads(text) if text else {}

    async def get(self, path: str, **params: Any) -> dict:
        return await self.request("GET", path, params={k: str(v) for k, v in params.items()} or None)

    async def post(self, path: str, body: Any) -> dict:
        return await self.request("POST", path, body=body)

    async def put(self, path: str, body: Any) -> dict:
        return await self.request("PUT", path, body=body)

    async def patch(self, path: str, body: Any, content_type: str = STRATEGIC) -> dict:
        return await self.request("PATCH", path, body=body, content_type=content_type)

    async def delete(self, path: str, body: Any = None) -> dict:
        return await self.request("DELETE", path, body=body)

    async def watch(self, path: str, resource_version: str, timeout_seconds: int = 240) -> AsyncIterator[dict]:
        """Watch events from ``resource_version``; ends after ``timeout_seconds`` (server side)."""
        assert self._session is not None
        params = {"watch": "1", "resourceVersion": resource_version, "allowWatchBookmarks": "true",
                  "timeoutSeconds": str(timeout_seconds)}
        timeout = aiohttp.ClientTimeout(total=timeout_seconds + 30, sock_read=timeout_seconds + 15)
        async with self._session.get(self.server + path, params=params, timeout=timeout) as resp:
            if resp.status >= 400:
                raise ApiError(resp.status, await resp.text())
            buf = b""
            async for chunk in resp.content.iter_any():  # no line-length limit, unlike readline()
                buf += chunk
                *lines, buf = buf.split(b"\n")
                for line in lines:
                    if line.strip():
                        yield json.loads(line)
