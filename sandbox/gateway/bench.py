"""Benchmark: the gateway's CPU per request rate, against local demo-app processes.

``python -m sandbox.gateway.bench [--rps 100 200] [--seconds 20] [--pods 2]`` prints, for
each rate, the gateway's CPU share of one core (user+system of its load loop) and the
answered request rate. No cluster is needed: the pods are fed to the gateway by hand.
Everything runs on loopback and stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from .discovery import ClusterState
from .load import LoadManager, LoadSpec
from .metrics import GatewayMetrics
from .record import summarize


def _pod(name: str, ip: str, port: int) -> dict:
    return {"metadata": {"name": name, "namespace": "bench", "labels": {"app": "bench", "pod-template-hash": "h"},
                         "ownerReferences": [{"kind": "ReplicaSet", "name": "bench-h", "controller": True}]},
            "spec": {"containers": [{"ports": [{"name": "http", "containerPort": port}]}]},
            "status": {"phase": "Running", "podIP": ip, "conditions": [{"type": "Ready", "status": "True"}]}}


def _free_port(ip: str) -> int:
    with socket.socket() as s:
        s.bind((ip, 0))
        return s.getsockname()[1]


def _wait_ready(ip: str, port: int, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://{ip}:{port}/ready", timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"demo app at {ip}:{port} not ready")


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


async def _measure(state: ClusterState, rates: list[float], seconds: float) -> list[tuple[float, float, float]]:
    out = []
    with tempfile.TemporaryDirectory() as d:
        mgr = LoadManager(state, GatewayMetrics(), Path(d))
        await mgr.start()
        try:
            for rps in rates:
                await mgr.put("bench", LoadSpec(namespace="bench", service="bench", rps=rps))
                await asyncio.sleep(2)  # warm-up: connections opened
                c0, t0 = _cpu(), time.time()
                await asyncio.sleep(seconds)
                c1, t1 = _cpu(), time.time()
                await mgr.delete("bench")
                rows = [r for r in mgr.rows("bench") or [] if t0 <= r["t"] < int(t1)]
                out.append((rps, (c1 - c0) / (t1 - t0) * 100, summarize(rows)["total"] / max(1, len(rows))))
        finally:
            await mgr.close()
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m sandbox.gateway.bench", description=__doc__.split("\n")[0])
    p.add_argument("--rps", type=float, nargs="+", default=[50.0, 100.0, 200.0])
    p.add_argument("--seconds", type=float, default=20.0)
    p.add_argument("--pods", type=int, default=2)
    args = p.parse_args(argv)
    procs, pods = [], []
    try:
        for i in range(args.pods):
            ip = f"127.0.7.{i + 1}"
            port = _free_port(ip)
            procs.append(subprocess.Popen([sys.executable, "-m", "sandbox.demoapp", "--host", ip, "--port", str(port)],
                                          stderr=subprocess.DEVNULL, env=os.environ.copy()))
            pods.append(_pod(f"bench-h-{i}", ip, port))
        for pod in pods:
            _wait_ready(pod["status"]["podIP"], pod["spec"]["containers"][0]["ports"][0]["containerPort"])
        state = ClusterState()
        state.reset("pods", pods)
        state.reset("services", [{"metadata": {"name": "bench", "namespace": "bench"},
                                  "spec": {"selector": {"app": "bench"}, "ports": [{"port": 80, "targetPort": "http"}]}}])
        state.reset("httproutes", [])
        print(f"gateway CPU, {args.pods} demo-app pods, {args.seconds:g} s per rate ({os.cpu_count()} cores)")
        for rps, cpu, answered in asyncio.run(_measure(state, args.rps, args.seconds)):
            print(f"  {rps:7.0f} rps asked  {answered:7.1f} rps recorded  gateway CPU {cpu:5.1f}% of one core")
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=10)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
