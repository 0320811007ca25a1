"""Pod Events, as a kubelet records them (Started, Killing, BackOff, Unhealthy, Failed)."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid

import aiohttp

from ..layout import NODE_NAME
from .api import ApiError, KubeClient

log = logging.getLogger(__name__)
MAX_PENDING = 200  # events are best effort: drop rather than pile up


class Events:
    def __init__(self, api: KubeClient) -> None:
        self.api = api
        self._pending: set[asyncio.Task] = set()

    def emit(self, pod: dict, reason: str, message: str, warning: bool = False) -> None:
        if len(self._pending) >= MAX_PENDING:
            return
        task = asyncio.get_running_loop().create_task(self._post(pod, reason, message, warning))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _post(self, pod: dict, reason: str, message: str, warning: bool) -> None:
        meta = pod["metadata"]
        ts = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        body = {
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": f"{meta['name']}.{uuid.uuid4().hex[:16]}", "namespace": meta["namespace"]},
            "involvedObject": {"apiVersion": "v1", "kind": "Pod", "name": meta["name"],
                               "namespace": meta["namespace"], "uid": meta["uid"]},
            "reason": reason, "message": message, "type": "Warning" if warning else "Normal",
            "source": {"component": "kubelet", "host": NODE_NAME},
            "firstTimestamp": ts, "lastTimestamp": ts, "count": 1,
        }
        try:
            await self.api.post(f"/api/v1/namespaces/{meta['namespace']}/events", body)
        except (ApiError, aiohttp.ClientError, asyncio.TimeoutError) as e:
            log.debug("event %s for %s: %s", reason, meta["name"], e)
