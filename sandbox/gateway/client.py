"""A small synchronous client of the gateway's control API, for tests and the demo.

    gw = GatewayClient()                      # http://127.0.0.1:18080 (+ RIPCORD_SANDBOX_PORT_OFFSET)
    gw.put_load("web", namespace="demo", route="web", rps=100)
    rows = gw.wait_rows("web", lambda rows: summarize(rows)["total"] >= 1000, timeout_s=30)
    print(summarize(rows)["by_version"])
    gw.delete_load("web")
"""

from __future__ import annotations

import time
from typing import Any, Callable

import requests

from . import DEFAULT_LISTEN
from .record import summarize

__all__ = ["GatewayClient", "GatewayError", "summarize"]

Rows = list[dict[str, Any]]


class GatewayError(RuntimeError):
    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class GatewayClient:
    def __init__(self, base_url: str = f"http://{DEFAULT_LISTEN}", timeout_s: float = 5.0) -> None:
        self.base = base_url.rstrip("/")
        self.timeout = timeout_s
        self.http = requests.Session()
        self.http.trust_env = False  # loopback only: never go through a proxy from the environment

    def _call(self, method: str, path: str, **kw: Any) -> Any:
        resp = self.http.request(method, self.base + path, timeout=self.timeout, **kw)
        if resp.status_code >= 400:
            try:
                msg = resp.json().get("error", resp.text)
            except ValueError:
                msg = resp.text
            raise GatewayError(f"{method} {path}: {resp.status_code} {msg}", resp.status_code)
        return resp.json()

    def healthz(self) -> dict[str, Any]:
        return self._call("GET", "/healthz")

    def wait_synced(self, timeout_s: float = 30.0) -> dict[str, Any]:
        """Wait until the gateway answers and has listed Services, Pods and HTTPRoutes."""
        deadline, last = time.monotonic() + timeout_s, "no answer"
        while time.monotonic() < deadline:
            try:
                h = self.healthz()
                if all(h["synced"].values()):
                    return h
                last = f"synced: {h['synced']}"
            except (requests.RequestException, GatewayError) as e:
                last = str(e)
            time.sleep(0.2)
        raise TimeoutError(f"gateway at {self.base} not synced after {timeout_s}s ({last})")

    def put_load(self, name: str, namespace: str, *, service: str | None = None, route: str | None = None,
                 rps: float = 50.0, paths: list[str] | None = None, timeout_s: float = 2.0,
                 **extra: Any) -> dict[str, Any]:
        """Create or update a load (``extra``: ``port``, ``max_inflight``, ``seed``)."""
        body: dict[str, Any] = {"namespace": namespace, "rps": rps, "timeout_s": timeout_s, **extra}
        if service is not None:
            body["service"] = service
        if route is not None:
            body["route"] = route
        if paths is not None:
            body["paths"] = paths
        return self._call("PUT", f"/loads/{name}", json=body)

    def delete_load(self, name: str) -> bool:
        try:
            self._call("DELETE", f"/loads/{name}")
            return True
        except GatewayError as e:
            if e.status == 404:
                return False
            raise

    def loads(self) -> list[dict[str, Any]]:
        return self._call("GET", "/loads")["loads"]

    def load(self, name: str) -> dict[str, Any]:
        return self._call("GET", f"/loads/{name}")

    def record(self, name: str, since: int | None = None, limit: int | None = None) -> Rows:
        params = {k: v for k, v in (("since", since), ("limit", limit)) if v is not None}
        return self._call("GET", f"/loads/{name}/record", params=params)["rows"]

    def metrics(self) -> str:
        resp = self.http.get(self.base + "/metrics", timeout=self.timeout)
        resp.raise_for_status()
        return resp.text

    def wait_rows(self, name: str, done: Callable[[Rows], bool], timeout_s: float = 30.0,
                  since: int | None = None, poll_s: float = 0.5) -> Rows:
        """Poll the record until ``done(rows)`` holds; raise TimeoutError with the last summary."""
        deadline = time.monotonic() + timeout_s
        rows: Rows = []
        while True:
            rows = self.record(name, since=since)
            if done(rows):
                return rows
            if time.monotonic() >= deadline:
                raise TimeoutError(f"load {name}: condition not met after {timeout_s}s; so far {summarize(rows)}")
            time.sleep(poll_s)
