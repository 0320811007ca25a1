"""The gateway's load loop, control API and client against real demo-app processes.

No cluster: the cluster state is fed by hand. Everything runs on loopback and is bounded.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Iterator

import pytest
import requests
from aiohttp import web

from sandbox.gateway.api import make_app
from sandbox.gateway.client import GatewayClient, GatewayError, summarize
from sandbox.gateway.discovery import ClusterState
from sandbox.gateway.load import LoadManager
from sandbox.gateway.metrics import GatewayMetrics
from tests.unit.sandbox.gwobjects import pod, route, service

HOST = "127.0.0.1"


def free_port(host: str = HOST) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def wait_http(url: str, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            requests.get(url, timeout=0.5)
            return
        except requests.RequestException:
            time.sleep(0.05)
    raise TimeoutError(url)


@pytest.fixture(scope="module")
def apps() -> Iterator[dict[str, tuple[str, int]]]:
    """Demo apps: good 1.0.0, the seed's 2.0.0, one that hangs on every request, one that
    resets every connection, one that refuses its traffic port (Ready on a probe port)."""
    specs = {"good": ("1.0.0", {}), "bad": ("2.0.0", {}), "hang": ("1.0.0", {"HANG_RATE": "1"}),
             "reset": ("1.0.0", {"RESET_RATE": "1"}), "refuse": ("1.0.0", {"REFUSE_TRAFFIC": "1"})}
    procs, addrs, probes = [], {}, []
    try:
        for i, (key, (version, env)) in enumerate(specs.items()):
            ip, port = f"127.0.9.{i + 1}", free_port()
            probe = free_port(ip)
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "sandbox.demoapp", "--host", ip, "--port", str(port), "--version", version],
                env={**os.environ, **env, "PROBE_PORT": str(probe)}, stderr=subprocess.DEVNULL))
            addrs[key] = (ip, port)
            probes.append((ip, probe))
        for ip, port in probes:
            wait_http(f"http://{ip}:{port}/ready")
        yield addrs
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=10)


class LocalGateway:
    """The gateway's asyncio side in a thread, over a hand-fed ClusterState."""

    def __init__(self, state: ClusterState, state_dir: Path) -> None:
        self.state, self.state_dir = state, state_dir
        self.port = free_port()
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.client = GatewayClient(f"http://{HOST}:{self.port}")

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._start())
        self.ready.set()
        self.loop.run_forever()

    async def _start(self) -> None:
        self.manager = LoadManager(self.state, GatewayMetrics(), self.state_dir)
        await self.manager.start()
        self.runner = web.AppRunner(make_app(self.manager, self.state, self.manager.metrics), access_log=None)
        await self.runner.setup()
        await web.TCPSite(self.runner, HOST, self.port).start()

    async def _stop(self) -> None:
        await self.manager.close()
        await self.runner.cleanup()

    def __enter__(self) -> "LocalGateway":
        self.thread.start()
        assert self.ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


def cluster(apps: dict[str, tuple[str, int]]) -> ClusterState:
    st = ClusterState()
    pods = [pod(f"web-{k}-abc12-p{i}", ip, {"app": "web", "slot": k}, rs=f"web-{k}-abc12", port=port)
            for i, (k, (ip, port)) in enumerate(apps.items())]
    pods.append(pod("web-dead-abc12-p9", "127.0.9.9", {"app": "web", "slot": "dead"}, rs="web-dead-abc12",
                    port=free_port("127.0.9.9")))  # nothing listens there: refused
    st.reset("pods", pods)
    st.reset("services", [service(f"web-{k}", {"app": "web", "slot": k}) for k in (*apps, "dead")])
    st.reset("httproutes", [route("web", [("web-good", 95), ("web-bad", 5)])])
    st.reset("virtualservices", [])
    st.reset("destinationrules", [])
    return st


def test_loads_records_metrics_and_api(apps: dict[str, tuple[str, int]], tmp_path: Path) -> None:
    with LocalGateway(cluster(apps), tmp_path) as gw:
        c = gw.client
        assert c.healthz()["synced"] == {"services": True, "pods": True, "httproutes": True,
                                         "virtualservices": True, "destinationrules": True}
        start = int(time.time())
        c.put_load("split", "demo", route="web", rps=200, paths=["/api/status", "/health"])
        c.put_load("hang", "demo", service="web-hang", rps=20, timeout_s=0.3)
        c.put_load("dead", "demo", service="web-dead", rps=20)
        c.put_load("reset", "demo", service="web-reset", rps=20)
        c.put_load("refuse", "demo", service="web-refuse", rps=20)
        assert {ld["name"] for ld in c.loads()} == {"split", "hang", "dead", "reset", "refuse"}

        rows = c.wait_rows("split", lambda r: summarize(r)["total"] >= 600, timeout_s=15)
        s = summarize(rows)
        assert set(s["by_version"]) == {"1.0.0", "2.0.0"}
        share = s["by_version"]["2.0.0"] / s["total"]
        assert abs(share - 0.05) < 0.01
        assert s["failed"] == s["failed_by_version"]["2.0.0"] == s["by_version"]["2.0.0"]
        assert set(s["by_workload"]) == {"web-good", "web-bad"}
        assert all(r["t"] >= start for r in rows)

        hang = summarize(c.wait_rows("hang", lambda r: summarize(r)["total"] >= 10, timeout_s=15))
        assert hang["by_code"] == {"504": hang["total"]} and hang["by_flags"] == {"UT": hang["total"]}
        dead = summarize(c.wait_rows("dead", lambda r: summarize(r)["total"] >= 10, timeout_s=15))
        assert dead["by_code"] == {"503": dead["total"]} and dead["by_flags"] == {"UF": dead["total"]}
        assert dead["failed_by_service"] == {"web-dead": dead["total"]}
        reset = summarize(c.wait_rows("reset", lambda r: summarize(r)["total"] >= 10, timeout_s=15))
        assert reset["by_code"] == {"503": reset["total"]} and reset["by_flags"] == {"UC": reset["total"]}
        refuse = summarize(c.wait_rows("refuse", lambda r: summarize(r)["total"] >= 10, timeout_s=15))
        assert refuse["by_code"] == {"503": refuse["total"]} and refuse["by_flags"] == {"UF": refuse["total"]}
        with pytest.raises(ConnectionRefusedError):  # REFUSE_TRAFFIC: nothing listens on the traffic port
            socket.create_connection(apps["refuse"], timeout=2).close()

        metrics = c.metrics()
        assert ('gateway_requests_total{backend_pod="web-bad-abc12-p1",backend_service="web-bad",'
                'backend_workload="web-bad",code="500",flags="",mirrored="false",namespace="demo",route="web"}') in metrics
        # no answer from a pod: the Service the request went to, workload and pod "unknown" (as Istio)
        for service, code, flags in (("web-hang", "504", "UT"), ("web-dead", "503", "UF"),
                                     ("web-reset", "503", "UC"), ("web-refuse", "503", "UF")):
            assert (f'gateway_requests_total{{backend_pod="unknown",backend_service="{service}",'
                    f'backend_workload="unknown",code="{code}",flags="{flags}",mirrored="false",namespace="demo",'
                    f'route=""}}') in metrics
        assert not any("web-hang-abc12" in line or "web-reset-abc12" in line
                       for line in metrics.splitlines() if line.startswith("gateway_requests_total"))
        assert ('gateway_request_duration_seconds_bucket{backend_service="web-good",backend_workload="web-good",'
                'le="0.005",mirrored="false",namespace="demo",route="web"}') in metrics

        # update in place: the record goes on; delete: the record stays readable
        c.put_load("split", "demo", route="web", rps=10)
        assert c.load("split")["spec"]["rps"] == 10
        assert c.delete_load("split") and not c.delete_load("split")
        assert len(c.record("split")) >= len(rows)
        with pytest.raises(GatewayError) as err:
            c.put_load("bad", "demo", service="a", route="b")
        assert err.value.status == 400
        with pytest.raises(GatewayError):
            c.put_load("Bad Name", "demo", service="a")
    # stopped gateway: remaining loads are saved for a restart, records are on disk
    assert (tmp_path / "gateway" / "loads.json").read_text().count('"service"') == 4  # hang, dead, reset, refuse
    assert (tmp_path / "gateway" / "hang.jsonl").exists()


def test_saved_loads_resume_and_append(apps: dict[str, tuple[str, int]], tmp_path: Path) -> None:
    st = cluster(apps)
    with LocalGateway(st, tmp_path) as gw:
        gw.client.put_load("good", "demo", service="web-good", rps=50)
        gw.client.wait_rows("good", lambda r: summarize(r)["total"] >= 50, timeout_s=10)
    before = len((tmp_path / "gateway" / "good.jsonl").read_text().splitlines())
    with LocalGateway(st, tmp_path) as gw:
        assert [ld["name"] for ld in gw.client.loads()] == ["good"]
        rows = gw.client.wait_rows("good", lambda r: len(r) > before + 1, timeout_s=10)
        assert summarize(rows)["by_version"] == {"1.0.0": summarize(rows)["total"]}


def test_a_request_mirror_copies_an_exact_share_to_the_canary_and_clients_never_see_it(
        apps: dict[str, tuple[str, int]], tmp_path: Path) -> None:
    st = cluster(apps)
    mirrored = route("web", [("web-good", 100), ("web-bad", 0)])
    mirrored["spec"]["rules"][0]["filters"] = [{"type": "RequestMirror", "requestMirror": {
        "backendRef": {"name": "web-bad", "port": 80}, "percent": 25}}]
    st.reset("httproutes", [mirrored])
    with LocalGateway(st, tmp_path) as gw:
        c = gw.client
        c.put_load("m", "demo", route="web", rps=100, paths=["/health"])
        rows = c.wait_rows("m", lambda r: summarize(r)["total"] >= 200, timeout_s=15)
        s = summarize(rows)
        assert s["failed"] == 0 and s["by_version"] == {"1.0.0": s["total"]}, "the copies' 500s reach no client"
        info = c.load("m")
        assert abs(info["mirrored"] - info["sent"] / 4) <= 1, "exactly a quarter, evenly spread"
        c.delete_load("m")
        metrics = c.metrics()
        copies = [line for line in metrics.splitlines()
                  if line.startswith("gateway_requests_total{") and 'mirrored="true"' in line]
        assert copies and all('backend_service="web-bad"' in line and 'code="500"' in line for line in copies)
        answered_by_bad = [line for line in metrics.splitlines() if line.startswith("gateway_requests_total{")
                           and 'backend_workload="web-bad"' in line and 'mirrored="false"' in line]
        assert answered_by_bad == [], "no client request went to the canary"


def test_the_proxy_reaches_a_service_by_name_and_says_when_no_pod_is_ready(
        apps: dict[str, tuple[str, int]], tmp_path: Path) -> None:
    with LocalGateway(cluster(apps), tmp_path) as gw:
        base = f"http://{HOST}:{gw.port}/proxy/demo"
        bad = requests.get(f"{base}/web-bad/80/health", timeout=5)
        assert bad.status_code == 500 and "TypeError" in bad.text and bad.headers["X-App-Version"] == "2.0.0"
        good = requests.get(f"{base}/web-good/80/api/status?x=1", timeout=5)
        assert good.status_code == 200 and good.headers["X-App-Version"] == "1.0.0"
        dead = requests.get(f"{base}/web-dead/80/health", timeout=5)
        assert dead.status_code == 503 and dead.headers["X-Gateway-Flags"] == "UF"
        none = requests.get(f"{base}/web-nothing/80/health", timeout=5)
        assert none.status_code == 503 and none.text == "no such Service demo/web-nothing"
