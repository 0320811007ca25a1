"""The demo's run, start to end: the 2.0.0 incident with Ripcord and without it, then the fix.

1. The sandbox (started if needed), a fresh namespace, Ripcord's CRD and RBAC, and
   ``ripcord run`` under the operator's identity, watching that namespace only.
2. 1.0.0 three times, under steady gateway load: through a Release (Ripcord), through a
   second Release with the pre-traffic gate (Ripcord + gate), and as a plain Deployment (the
   baseline, the post-mortem's world), each behind its own Service.
3. 2.0.0 on all three at the same moment. Ripcord judges the canary and rolls it back on its
   own; the gate sends GET /health and /api/status to the canary's own Service once it is
   Ready and rolls it back before any user request reaches it; the baseline rolls out and is
   undone once its health check has failed for the delay.
4. All are measured over windows of one length from their own release (the latest
   detection plus a tail), so the failed fractions are over the same time.
5. 2.0.1 through both Releases, which Ripcord promotes (the gate lets it through).

Every wait is bounded and says what it waited for when it gives up.
"""
from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any, Callable, Optional

from kubernetes import client

import sandbox
from sandbox import Sandbox
from sandbox.gateway.client import GatewayClient
from sandbox.releases import Releases

from . import release as rel
from .baseline import HEALTH_RPS, Baseline, UndoAfterHealthFails
from .cluster import Loads, Operator, install, reset_namespace
from .console import Console, DemoError, wait_all
from .figures import window_length
from .timeline import parse_time, rollback_text

STABLE, FAULTY, FIXED = "1.0.0", "2.0.0", "2.0.1"
PATHS = ["/api/status", "/health"]


@dataclasses.dataclass(frozen=True)
class Settings:
    provider: str = "gateway-api"
    namespace: str = "ripcord-demo"
    release: str = "web"
    gated_release: str = "web-gated"  # the same Release with the pre-traffic gate
    rps: float = 50.0
    baseline_delay_s: float = 45.0  # the post-mortem's detection delay
    tail_s: float = 60.0  # the figures' window runs this long after the later detection
    judge: str = "threshold"
    out_dir: Path = Path("out/demo")
    ci: bool = False

    @property
    def replicas(self) -> int:
        return int(rel.SHAPES[self.provider]["replicas"])


@dataclasses.dataclass
class Result:
    settings: Settings
    sandbox: Sandbox
    operator_command: str
    operator_log: Path
    status: dict[str, Any]  # the Release's final status
    faulty_entry: dict[str, Any]  # history entry of 2.0.0
    fixed_entry: dict[str, Any]  # history entry of 2.0.1
    ripcord_released_at: float
    baseline_released_at: float
    baseline_health_failed_at: Optional[float]
    baseline_undo_at: float
    window_s: float
    ripcord_rows: list[dict[str, Any]]
    baseline_rows: list[dict[str, Any]]
    gated_status: dict[str, Any]  # the gated Release's final status
    gated_faulty_entry: dict[str, Any]
    gated_fixed_entry: dict[str, Any]
    gated_released_at: float
    gated_rows: list[dict[str, Any]]

    @property
    def ripcord_detected_at(self) -> Optional[float]:
        reason = self.faulty_entry.get("reason") or {}
        return parse_time(reason["at"]) if reason.get("at") else None


def _up(console: Console) -> Sandbox:
    lines: list[str] = []
    res = sandbox.up(echo=lines.append)
    if res.started:
        for line in lines:
            console.say(f"   {line}")
        console.say(f"   sandbox started in {res.seconds:.0f} s ({', '.join(res.started)})")
    else:
        console.say("   sandbox already running")
    return res.sandbox


class _LoadWarm:
    """Watch: a load has served ``seconds`` full seconds in a row, all on ``version``, none failed."""

    def __init__(self, gw: GatewayClient, load: str, rps: float, version: str, seconds: int = 3) -> None:
        self.gw, self.load, self.rps, self.version, self.seconds = gw, load, rps, version, seconds
        self.last = "no record yet"

    def poll(self) -> bool:
        rows = self.gw.record(self.load, limit=self.seconds)
        ok = [r for r in rows if r["total"] >= 0.8 * self.rps and r["failed"] == 0
              and r["by_version"].get(self.version, 0) == r["total"]]
        self.last = f"{len(ok)}/{self.seconds} clean seconds at {self.rps:g} rps"
        return len(rows) == self.seconds and len(ok) == self.seconds

    def describe(self) -> str:
        return self.last


class _Until:
    """Watch: a point in time (the end of a measuring window) has passed."""

    def __init__(self, at: float, what: str) -> None:
        self.at, self.what = at, what

    def poll(self) -> bool:
        return time.time() >= self.at

    def describe(self) -> str:
        return f"{max(0.0, self.at - time.time()):.0f} s to go{self.what}"


class _Rolled:
    def __init__(self, baseline: Baseline, version: str) -> None:
        self.b, self.version = baseline, version

    def poll(self) -> bool:
        return self.b.rolled_out(self.version)

    def describe(self) -> str:
        return self.b.describe()


def run(settings: Settings, console: Console) -> Result:
    s = settings
    out = s.out_dir
    out.mkdir(parents=True, exist_ok=True)
    console.say(f"== Ripcord demo: the 2.0.0 incident of the post-mortem, replayed with the {s.provider} provider")
    console.say(f"1. Sandbox, namespace {s.namespace}, Ripcord (CRD, RBAC, the operator process)")
    sb = _up(console)
    api = sb.api_client()
    gw = GatewayClient(sb.gateway_url)
    gw.wait_synced()
    operator = Operator(sb, s.namespace, out)
    if operator.stop_leftover(console):
        console.say("   stopped the operator an interrupted run had left running")
    loads = Loads(gw, s.namespace)
    for role in ("ripcord", "gated", "baseline", "health"):
        loads.stop(role)
    reset_namespace(console, api, s.namespace)
    install(sb)
    operator.start()
    console.say(f"   operator started (pid {operator.proc.proc.pid if operator.proc.proc else '?'}, "
                f"log {operator.log_path})")

    def guard() -> None:
        if not operator.alive():
            raise DemoError(f"the operator exited (code {operator.proc.exited()}); its log: {operator.log_path}\n"
                            f"{operator.proc.log_tail(30)}")

    try:
        return _scenario(s, console, sb, api, gw, operator, loads, guard)
    finally:
        loads.stop_all()
        operator.stop()


def _scenario(s: Settings, console: Console, sb: Sandbox, api: client.ApiClient, gw: GatewayClient,
              operator: Operator, loads: Loads, guard: Callable[[], None]) -> Result:
    releases = Releases(api, s.namespace)
    base = Baseline(apps=client.AppsV1Api(api), core=client.CoreV1Api(api), gateway=gw,
                    admin_kubeconfig=str(sb.admin_kubeconfig), namespace=s.namespace, replicas=s.replicas,
                    delay_s=s.baseline_delay_s)

    g = s.gated_release
    console.say(f"2. {STABLE} through Release {s.release} ({s.replicas} pods), through Release {g} (the same, "
                f"with the pre-traffic gate) and as the plain Deployment {base.name} ({s.replicas} pods)")
    console.say("   All use the same pod template. Its readiness probe calls /ready, not /health, so 2.0.0 "
                "passes it and goes live, as in the post-mortem.")
    releases.apply(rel.manifest(s.release, STABLE, s.provider, s.judge))
    releases.apply(rel.manifest(g, STABLE, s.provider, s.judge, gate=True))
    base.create(STABLE)
    wait_all(console, f"{STABLE} serving", {
        "ripcord": rel.Phase(releases, s.release, "Stable", STABLE), "gated": rel.Phase(releases, g, "Stable", STABLE),
        "baseline": _Rolled(base, STABLE),
    }, timeout_s=150, guard=guard)
    target = {"route": s.release} if s.provider == "gateway-api" else {"service": s.release}
    gated_target = {"route": g} if s.provider == "gateway-api" else {"service": g}
    via = f"HTTPRoute {s.release}" if s.provider == "gateway-api" else f"Service {s.release}"
    rload = loads.start("ripcord", rps=s.rps, paths=PATHS, **target)
    gload = loads.start("gated", rps=s.rps, paths=PATHS, **gated_target)
    bload = loads.start("baseline", rps=s.rps, paths=PATHS, service=base.name)
    base.health_load = loads.start("health", rps=HEALTH_RPS, paths=["/health"], service=base.name)
    console.say(f"   gateway load: {s.rps:g} rps over {' and '.join(PATHS)} through {via} (Ripcord), the same "
                f"for {g} (Ripcord + gate) and through Service {base.name} (baseline); health check: GET /health "
                f"{HEALTH_RPS:g}/s through Service {base.name}")
    wait_all(console, "steady load on 1.0.0", {
        "ripcord": _LoadWarm(gw, rload, s.rps, STABLE), "gated": _LoadWarm(gw, gload, s.rps, STABLE),
        "baseline": _LoadWarm(gw, bload, s.rps, STABLE),
    }, timeout_s=60, guard=guard)

    console.say(f"3. {FAULTY} (the post-mortem's faulty version) released on all three at the same moment")
    r_at = time.time()
    releases.apply(rel.manifest(s.release, FAULTY, s.provider, s.judge))
    g_at = time.time()
    releases.apply(rel.manifest(g, FAULTY, s.provider, s.judge, gate=True))
    b_at = base.release(FAULTY)
    console.say(f"   Ripcord: canary steps {rel.SHAPES[s.provider]['steps']}, analysis every 2 s "
                f"({s.judge} judge on the gateway's error rate and p99 latency)")
    console.say(f"   Ripcord + gate: the same, and first GET /health and /api/status to the canary's own Service "
                f"once it is Ready (2 clean rounds a second apart), before any user request")
    console.say(f"   baseline: rolling update; `kubectl rollout undo` once GET /health has failed for "
                f"{s.baseline_delay_s:g} s" + ("" if s.baseline_delay_s >= 45 else
                                                f" (the post-mortem's 45 s, shortened by {45 - s.baseline_delay_s:g} s)"))
    faulty = rel.Outcome(releases, s.release, FAULTY, r_at, want="RolledBack")
    gated_faulty = rel.Outcome(releases, g, FAULTY, g_at, want="RolledBack")
    undo = UndoAfterHealthFails(base)

    def announce(name: str) -> None:
        if name == "ripcord" and faulty.entry is not None:
            reason = faulty.entry.get("reason") or {}
            at = parse_time(reason["at"]) if reason.get("at") else time.time()
            console.say(f"   +{at - r_at:5.1f} s  {rollback_text(FAULTY, reason)}")
        elif name == "gated" and gated_faulty.entry is not None:
            reason = gated_faulty.entry.get("reason") or {}
            at = parse_time(reason["at"]) if reason.get("at") else time.time()
            console.say(f"   +{at - g_at:5.1f} s  with the gate: {rollback_text(FAULTY, reason)}")
        elif name == "baseline" and base.undo_at is not None:
            console.say(f"   +{base.undo_at - b_at:5.1f} s  baseline: `kubectl rollout undo` "
                        f"(health check failing since +{(base.health_failed_at or b_at) - b_at:.0f} s)")

    wait_all(console, f"{FAULTY} caught", {"ripcord": faulty, "gated": gated_faulty, "baseline": undo},
             timeout_s=s.baseline_delay_s + 150, guard=guard, on_done=announce)
    assert faulty.entry is not None and gated_faulty.entry is not None and base.undo_at is not None

    def detected(entry: dict[str, Any], at: float) -> Optional[float]:
        reason = entry.get("reason") or {}
        return parse_time(reason["at"]) - at if reason.get("at") else None

    window = window_length([detected(faulty.entry, r_at), detected(gated_faulty.entry, g_at), base.undo_at - b_at],
                           s.tail_s)
    console.say(f"4. Measuring all three over {window:.0f} s from their release (the latest detection + "
                f"{s.tail_s:g} s)")
    settle = 1.5  # the gateway writes a second's row just after it ends
    wait_all(console, "measuring", {
        "window": _Until(max(r_at, g_at, b_at) + window + settle, ""),
        "baseline": _Rolled(base, STABLE),
    }, timeout_s=window + 120, guard=guard)
    baseline_rows = gw.record(bload)
    loads.stop("baseline")
    loads.stop("health")

    console.say(f"5. {FIXED} (the fix) through Releases {s.release} and {g}")
    f_at = time.time()
    releases.apply(rel.manifest(s.release, FIXED, s.provider, s.judge))
    releases.apply(rel.manifest(g, FIXED, s.provider, s.judge, gate=True))
    fixed = rel.Outcome(releases, s.release, FIXED, f_at, want="Promoted")
    gated_fixed = rel.Outcome(releases, g, FIXED, f_at, want="Promoted")
    wait_all(console, f"{FIXED} rollout", {"ripcord": fixed, "gated": gated_fixed}, timeout_s=240, guard=guard)
    assert fixed.entry is not None and gated_fixed.entry is not None
    console.say(f"   +{parse_time(fixed.entry['endedAt']) - f_at:5.1f} s  {FIXED} promoted "
                f"(steps {rel.SHAPES[s.provider]['steps']}, then the post-promotion watch); with the gate: "
                f"+{parse_time(gated_fixed.entry['endedAt']) - f_at:.1f} s")
    ripcord_rows = gw.record(rload)
    gated_rows = gw.record(gload)
    return Result(settings=s, sandbox=sb, operator_command=operator.command(), operator_log=operator.log_path,
                  status=fixed.status, faulty_entry=faulty.entry, fixed_entry=fixed.entry,
                  ripcord_released_at=r_at, baseline_released_at=b_at,
                  baseline_health_failed_at=base.health_failed_at, baseline_undo_at=base.undo_at,
                  window_s=window, ripcord_rows=ripcord_rows, baseline_rows=baseline_rows,
                  gated_status=gated_fixed.status, gated_faulty_entry=gated_faulty.entry,
                  gated_fixed_entry=gated_fixed.entry, gated_released_at=g_at, gated_rows=gated_rows)
