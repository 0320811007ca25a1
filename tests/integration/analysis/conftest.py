"""Helpers of the analysis integration tests: gateway load, a private Prometheus, an operator
pointed at it, status readers, and a stopwatch that prints where the time went.

A test that stops or hangs Prometheus uses a Prometheus process of its own (never the
sandbox's, which every other test reads). It scrapes the same file_sd targets as the
sandbox's (the config is copied from the sandbox's file), keeping only the test's namespace,
so it stays small and sees exactly the series the shared one sees.
"""
from __future__ import annotations

import datetime as dt
import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

import pytest
import yaml

from sandbox.faults import stop_process
from sandbox.gateway.client import GatewayClient, summarize
from tests.integration.support import OperatorProcess, Releases, wait_for

PROMETHEUS_BIN = "/usr/bin/prometheus"


# ------------------------------------------------------------------ time

class Stopwatch:
    """Marks named moments of a test and prints how long each took (pytest -s shows them)."""

    def __init__(self, test: str) -> None:
        self.test = test
        self.t0 = self.last = time.monotonic()

    def mark(self, what: str) -> float:
        now = time.monotonic()
        print(f"[{self.test}] {what}: +{now - self.last:.1f}s (at {now - self.t0:.1f}s)", flush=True)
        self.last = now
        return now - self.t0

    def total(self) -> float:
        return time.monotonic() - self.t0


@pytest.fixture
def stopwatch(request: pytest.FixtureRequest) -> Iterator[Stopwatch]:
    watch = Stopwatch(request.node.name)
    yield watch
    print(f"[{request.node.name}] total {watch.total():.1f}s", flush=True)


def parse_time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


# ------------------------------------------------------------------ status

def condition(status: dict[str, Any], type_: str) -> dict[str, Any]:
    return next((c for c in status.get("conditions") or [] if c["type"] == type_), {})


def entry(status: dict[str, Any], rollout_id: int) -> dict[str, Any]:
    return next(h for h in status.get("history") or [] if h["id"] == rollout_id)


def metric(status: dict[str, Any], name: str) -> dict[str, Any]:
    return next((m for m in (status.get("analysis") or {}).get("metrics") or [] if m["name"] == name), {})


def rollout_id(releases: Releases, name: str, above: int = 1, timeout: float = 60) -> int:
    return int(wait_for(lambda: (rid := (releases.status(name).get("rollout") or {}).get("id", 0)) > above and rid,
                        timeout, f"a rollout of {name} after rollout {above}"))


def wait_status(releases: Releases, name: str, pred: Callable[[dict[str, Any]], Any], timeout: float,
                what: str) -> dict[str, Any]:
    """Wait until ``pred(status)`` holds; the last phase and message are in the failure."""
    return wait_for(lambda: (s := releases.status(name)) and pred(s) and s or
                    f"phase {s.get('phase')}: {s.get('message')}", timeout, what)


# ------------------------------------------------------------------ load

class Load:
    """Steady traffic through the sandbox gateway to a Release, stopped after the test."""

    def __init__(self, namespace: str) -> None:
        self.gw = GatewayClient()
        self.ns = namespace
        self.names: list[str] = []

    def start(self, release: str, *, rps: float, provider: str = "replicas", timeout_s: float = 2.0,
              paths: Optional[list[str]] = None, **extra: Any) -> str:
        name = f"{self.ns}-{release}"
        target = {"gateway-api": {"route": release}, "istio": {"host": release}}.get(provider, {"service": release})
        self.gw.put_load(name, self.ns, rps=rps, timeout_s=timeout_s,
                         paths=paths or ["/api/status", "/health"], **target, **extra)
        self.names.append(name)
        # the stable answers before the rollout starts: the baseline has data
        self.gw.wait_rows(name, lambda rows: summarize(rows)["ok"] >= min(rps, 50), timeout_s=60)
        return name

    def summary(self, name: str) -> dict[str, Any]:
        return summarize(self.gw.record(name))

    def stop(self) -> None:
        for name in self.names:
            self.gw.delete_load(name)
        self.names.clear()


@pytest.fixture
def load(namespace: str) -> Iterator[Load]:
    loads = Load(namespace)
    try:
        yield loads
    finally:
        loads.stop()


# ------------------------------------------------------------------ a private Prometheus

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/-/ready", timeout=1) as resp:
            return resp.status == 200
    except OSError:
        return False


class PrivatePrometheus:
    """A Prometheus of the test's own, scraping the sandbox's targets of one namespace."""

    def __init__(self, sandbox: Any, namespace: str, workdir: Path) -> None:
        self.workdir = workdir
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        shared = yaml.safe_load((Path(sandbox.state_dir) / "prometheus" / "prometheus.yml").read_text())
        keep = [{"source_labels": ["namespace"], "regex": namespace, "action": "keep"}]
        for job in shared["scrape_configs"]:
            if job.get("file_sd_configs"):
                job["relabel_configs"] = job.get("relabel_configs", []) + keep  # target labels
            else:
                job["metric_relabel_configs"] = job.get("metric_relabel_configs", []) + keep  # the gateway's series
        self.config = workdir / "prometheus.yml"
        self.config.write_text(yaml.safe_dump(shared, sort_keys=False))
        self.proc: Optional[subprocess.Popen[bytes]] = None
        self.frozen = False

    def start(self) -> "PrivatePrometheus":
        log = open(self.workdir / "prometheus.log", "ab")
        self.proc = subprocess.Popen(
            [PROMETHEUS_BIN, f"--config.file={self.config}", f"--storage.tsdb.path={self.workdir / 'data'}",
             f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=warn"],
            stdout=log, stderr=subprocess.STDOUT)
        log.close()
        wait_for(lambda: self.proc is not None and self.proc.poll() is None and _ready(self.url), 60,
                 f"private Prometheus at {self.url}")
        return self

    def freeze(self) -> None:
        """SIGSTOP: the port still accepts connections, nothing answers (a hung Prometheus)."""
        assert self.proc is not None and self.proc.poll() is None
        self.frozen = True
        stop_process(self.proc.pid)

    def thaw(self) -> None:
        if self.proc is not None and self.proc.poll() is None and self.frozen:
            os.kill(self.proc.pid, signal.SIGCONT)
        self.frozen = False

    def stop(self) -> None:
        """Terminate (a stopped Prometheus: connections refused)."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.thaw()
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def has_series(self, query: str) -> bool:
        import json
        import urllib.parse
        url = f"{self.url}/api/v1/query?" + urllib.parse.urlencode({"query": query})
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                return bool(json.load(resp)["data"]["result"])
        except OSError:
            return False


@pytest.fixture
def own_prometheus(sandbox: Any, namespace: str, tmp_path: Path) -> Iterator[PrivatePrometheus]:
    if not os.access(PROMETHEUS_BIN, os.X_OK):
        pytest.skip(f"{PROMETHEUS_BIN} is not installed")
    workdir = tmp_path / "prometheus"
    workdir.mkdir()
    prom = PrivatePrometheus(sandbox, namespace, workdir)
    try:
        yield prom.start()
    finally:
        prom.thaw()  # never leave a stopped process behind
        prom.stop()


# ------------------------------------------------------------------ an operator with its own configuration

@pytest.fixture
def operator_at(operator_factory: Callable[..., OperatorProcess]) -> Callable[[str], OperatorProcess]:
    """``operator_at(prometheus_url)``: ``ripcord run`` for the test's namespace, under the shipped
    RBAC, with an operator configuration whose only Prometheus is ``prometheus_url``."""
    return lambda prometheus_url: operator_factory(prometheus_url=prometheus_url)
