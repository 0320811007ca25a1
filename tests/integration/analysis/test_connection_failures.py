"""Issue 16 through the operator: every failed request to the canary counts.

A request the data plane could not deliver to the canary (refused, reset, timed out, no
healthy upstream) carries the canary's Service but no workload: the gateway's error-rate
metric must count it against the canary, and so must the post-mortem's impact. And while a
canary pod has restarted in a step, that step must not give it more traffic.

Every test runs ``ripcord run`` under the shipped RBAC, the gateway-api provider (the route
names each slot's Service), and real traffic from the gateway stand-in.
"""
from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Optional

import pytest

from ripcord.api.models import parse_duration
from sandbox.gateway.client import summarize
from tests.integration.analysis.conftest import (Load, Stopwatch, entry, metric, parse_time, rollout_id,
                                                 wait_status)
from sandbox.gateway.client import summarize
from tests.integration.support import Releases, release_manifest, wait_for

PROVIDER = "gateway-api"
RPS = 40
LOAD_TIMEOUT_S = 2.0  # the load's per-request timeout (Load.start's default)
STEPS = [20, 50]
GATEWAY_ERRORS = {"name": "gateway-errors", "type": "error-rate", "source": "gateway", "judge": "threshold",
                  "max": 0.05}
BIN = Path(sys.executable).parent


def _manifest(name: str, version: str, *, env: Optional[dict[str, str]] = None, **analysis: Any) -> dict[str, Any]:
    return release_manifest(name, version, provider=PROVIDER, env=env, steps=STEPS,
                            analysis={"metrics": [GATEWAY_ERRORS], **analysis})


def _stable(releases: Releases, load: Load, name: str, stopwatch: Stopwatch, **analysis: Any) -> str:
    releases.apply(_manifest(name, "1.0.0", **analysis))
    releases.wait_phase(name, "Stable", timeout=90)
    traffic = load.start(name, rps=RPS, provider=PROVIDER)
    stopwatch.mark("1.0.0 stable, under load")
    return traffic


def _ended(releases: Releases, name: str, rid: int, timeout: float = 150) -> dict[str, Any]:
    return wait_status(releases, name, lambda s: any(h["id"] == rid and h["outcome"] != "Progressing"
                                                     for h in s.get("history") or []),
                       timeout, f"rollout {rid} of {name} to end")


def _events(h: dict[str, Any], event: str) -> list[dict[str, Any]]:
    return [t for t in h["timeline"] if t["event"] == event]


def _canary(status: dict[str, Any], name: str, h: dict[str, Any]) -> str:
    """The canary's Deployment (and Service): the slot the rollout started in."""
    started = _events(h, "Started")[0]["message"]
    return f"{name}-{started.rsplit('in slot ', 1)[1][0]}"


def _postmortem(sandbox: Any, namespace: str, name: str) -> str:
    kubectl = BIN / "kubectl"
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
           "KUBECONFIG": str(sandbox.admin_kubeconfig)}
    proc = subprocess.run([str(kubectl) if kubectl.exists() else "kubectl", "ripcord", "postmortem", name,
                           "-n", namespace, "--prometheus", sandbox.prometheus_url],
                          capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def _settled(load: Load, traffic: str, h: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The load's record once every request sent before the rollout ended has finished (answered,
    refused or timed out) and been recorded: what the post-mortem's counters will also hold."""
    ended = parse_time(h["endedAt"]).timestamp()
    rows = load.gw.wait_rows(traffic, lambda rows: bool(rows) and rows[-1]["t"] >= ended + LOAD_TIMEOUT_S + 2,
                             timeout_s=30)
    return rows, summarize(rows)


def _impact_row(report: str, source: str) -> list[str]:
    for line in report.splitlines():
        if line.startswith(f"| {source}"):
            return [c.strip() for c in line.strip("|").split("|")]
    raise AssertionError(f"no impact row for {source!r} in:\n{report}")


def _count(cell: str) -> int:
    return int(cell.replace(",", ""))


def _first_failure_on(rows: list[dict[str, Any]], backend: str) -> Optional[int]:
    """The first second in which a client saw a request meant for ``backend`` fail."""
    return next((r["t"] for r in rows if (r.get("failed_by_backend") or {}).get(backend, 0) > 0), None)


def _weights_after(h: dict[str, Any], t: float) -> tuple[int, list[int]]:
    """The weight served at time ``t`` (unix seconds), and the weights of steps started after it."""
    steps = [(parse_time(s["at"]).timestamp(), int(s["weight"])) for s in _events(h, "StepStarted")]
    at_t = max((w for at, w in steps if at < t), default=0)
    return at_t, [w for at, w in steps if at >= t]


def _assert_impact_counts_the_failures(report: str, failed_on_canary: int) -> list[str]:
    gateway = _impact_row(report, "gateway (what clients saw")
    errors = _count(gateway[2])
    # the gateway's counters and its record are incremented together: the same failures
    assert abs(errors - failed_on_canary) <= max(2, failed_on_canary // 50), (gateway, failed_on_canary)
    assert "requests sent to the canary" in report
    return gateway


# ---------------------------------------------------------------------------- refused while Ready

@pytest.mark.integration
def test_a_canary_refusing_connections_while_ready_is_rolled_back(releases: Releases, operator: Any, sandbox: Any,
                                                                  namespace: str, load: Load,
                                                                  stopwatch: Stopwatch) -> None:
    """2.0.4 listens on its probe port only: Ready, and every client connection refused (503 UF,
    no workload, no pod). Its own metrics see nothing; the gateway's error rate rolls it back
    within two analysis intervals, and the reason and the post-mortem count the refusals."""
    name = "refuse"
    traffic = _stable(releases, load, name, stopwatch)
    env = {"REFUSE_TRAFFIC": "1", "PROBE_PORT": "8081"}
    bad = _manifest(name, "2.0.4", env=env)
    bad["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGet"]["port"] = 8081
    releases.apply(bad)
    rid = rollout_id(releases, name)
    status = _ended(releases, name, rid)
    stopwatch.mark("2.0.4 (refusing connections while Ready) ended")

    h = entry(status, rid)
    assert h["outcome"] == "RolledBack", h
    reason = h["reason"]
    assert reason["kind"] == "Metric" and reason["metric"] == "gateway-errors", reason
    assert reason["value"] == pytest.approx(1.0), reason  # every request sent to the canary was refused
    assert "gateway metrics" in reason["message"] and "canary 0/" not in reason["message"], reason
    # within two analysis intervals of the canary taking traffic: a third analysis cannot come
    # before 3 intervals after the weight was served
    interval = parse_duration(releases.get(name)["spec"]["analysis"]["interval"])
    served = parse_time(_events(h, "WeightServed")[0]["at"])
    decided = parse_time(reason["at"])
    assert decided - served < dt.timedelta(seconds=3 * interval), (served, decided, h["timeline"])
    last = metric(status, "gateway-errors")
    assert last["canaryRequests"] > 0 and last["canaryBad"] == last["canaryRequests"], last

    canary = _canary(status, name, h)
    _, seen = _settled(load, traffic, h)
    refused = seen["failed_by_backend"].get(canary, 0)
    assert refused > 0 and seen["by_flags"].get("UF", 0) >= refused, seen
    assert seen["by_version"].get("2.0.4", 0) == 0, "the canary never answered a request"

    report = _postmortem(sandbox, namespace, name)
    gateway = _assert_impact_counts_the_failures(report, refused)
    assert _count(gateway[1]) == _count(gateway[2]), gateway  # all of them failed
    stopwatch.mark(f"rolled back {(decided - served).total_seconds():.1f}s after the weight was served; "
                   f"{refused} refused requests counted")


# ---------------------------------------------------------------------------- crash-looping pods

@pytest.mark.integration
def test_a_crashing_canary_is_rolled_back_on_the_gateway_s_503s(releases: Releases, operator: Any, sandbox: Any,
                                                                namespace: str, load: Load,
                                                                stopwatch: Stopwatch) -> None:
    """2.0.5's pods crash 3 s after each start and are restarted: while they are down the
    gateway answers the canary's share itself (503 UH no healthy upstream, UF/UC on the
    dying connections; no workload). The pod-health gates are relaxed so that the metric is
    what must catch it: rolled back on the gateway's error rate, reason and impact counting
    the 503s, and the weight never grew after the first crash."""
    name = "crash"
    health = {"podHealth": {"crashLoop": False, "maxRestarts": 10, "readyDeadline": "60s"}}
    traffic = _stable(releases, load, name, stopwatch, **health)
    releases.apply(_manifest(name, "2.0.5", env={"CRASH_AFTER_S": "3"}, **health))
    rid = rollout_id(releases, name)
    status = _ended(releases, name, rid)
    stopwatch.mark("2.0.5 (crashing) ended")

    h = entry(status, rid)
    assert h["outcome"] == "RolledBack", h
    reason = h["reason"]
    assert reason["kind"] == "Metric" and reason["metric"] == "gateway-errors", reason
    assert reason["value"] > 0.05 and "canary 0/" not in reason["message"], reason
    last = metric(status, "gateway-errors")
    assert last["canaryBad"] > 0, last

    canary = _canary(status, name, h)
    rows, seen = _settled(load, traffic, h)
    failed = seen["failed_by_backend"].get(canary, 0)
    assert failed > 0 and seen["failed_by_service"].get(canary, 0) > 0, seen
    first = _first_failure_on(rows, canary)
    assert first is not None
    # exposure never grew after the first crash the clients saw
    at_crash, later = _weights_after(h, first + 1.0)
    assert all(w <= at_crash for w in later), (first, at_crash, later, h["timeline"])

    report = _postmortem(sandbox, namespace, name)
    _assert_impact_counts_the_failures(report, failed)
    stopwatch.mark(f"{failed} failed requests on {canary} counted ({seen['by_flags']})")


# ---------------------------------------------------------------------------- no growth while unhealthy

@pytest.mark.integration
def test_exposure_never_grows_after_a_canary_restart_in_the_step(releases: Releases, operator: Any,
                                                                 namespace: str, load: Load,
                                                                 stopwatch: Stopwatch) -> None:
    """2.0.6's pods crash once, 10 s after start, and then stay up (within maxRestarts 1, so no
    gate rolls back, and the app metric stays clean). The crash comes in the first step; that
    step must not advance for at least as long as it would have without the crash."""
    name = "once"
    step_s, interval_s = 25.0, 2.0
    analysis = {"stepDuration": f"{step_s:g}s", "interval": f"{interval_s:g}s",
                "metrics": [{"name": "error-rate", "type": "error-rate", "source": "app", "judge": "threshold",
                             "max": 0.05}]}
    releases.apply(release_manifest(name, "1.0.0", provider=PROVIDER, steps=STEPS, analysis=analysis))
    releases.wait_phase(name, "Stable", timeout=90)
    load.start(name, rps=RPS, provider=PROVIDER)
    releases.apply(release_manifest(name, "2.0.6", provider=PROVIDER, steps=STEPS, analysis=analysis,
                                    env={"CRASH_AFTER_S": "10", "CRASH_TIMES": "1"}))
    rid = rollout_id(releases, name)
    (slot,) = wait_for(lambda: [c] if (c := (releases.status(name).get("canary") or {}).get("slot")) else None,
                       60, "the canary's slot")

    def crashed() -> Any:
        pods = releases.core.list_namespaced_pod(
            namespace, label_selector=f"ripcord.dev/release={name},ripcord.dev/slot={slot}").items
        ends = [cs.last_state.terminated.finished_at for p in pods for cs in (p.status.container_statuses or [])
                if cs.restart_count >= 1 and cs.last_state and cs.last_state.terminated]
        return min(ends) if ends else None

    crash_at: dt.datetime = wait_for(crashed, 90, "a canary container to crash and restart")
    stopwatch.mark("the canary crashed once")
    h = entry(releases.status(name), rid)
    steps = [(parse_time(s["at"]), int(s["weight"])) for s in _events(h, "StepStarted")]
    in_step = [(at, w) for at, w in steps if at <= crash_at]
    assert in_step, f"the crash ({crash_at}) came before the canary took traffic: {h['timeline']}"
    weight = in_step[-1][1]
    served = [parse_time(t["at"]) for t in _events(h, "WeightServed") if parse_time(t["at"]) >= in_step[-1][0]]
    # without the crash the step would have advanced by: served + stepDuration + an analysis or two
    until = (served[0] if served else in_step[-1][0]) + dt.timedelta(seconds=step_s + 3 * interval_s + 3)
    while dt.datetime.now(dt.timezone.utc) < until:
        s = releases.status(name)
        assert s.get("weight", 0) <= weight, f"exposure grew after a canary restart: {entry(s, rid)['timeline']}"
        assert (s.get("rollout") or {}).get("id") == rid, f"the rollout ended: {s.get('message')}"
        time.sleep(0.5)  # polling the status for the whole observation window
    stopwatch.mark(f"held at {weight}% for a step and more after the restart")
