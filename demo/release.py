"""The Ripcord side: the demo's Release manifests and watches on its status."""
from __future__ import annotations

from typing import Any, Optional

from sandbox.releases import Releases, release_manifest

from .console import DemoError
from .timeline import parse_time

# Per provider: app replicas and canary steps. With `replicas` the weight is a share of ready
# pods, so the first step is one canary pod next to the stable's six (about 14%).
SHAPES: dict[str, dict[str, Any]] = {
    "gateway-api": {"replicas": 2, "steps": [5, 25, 50]},
    "replicas": {"replicas": 6, "steps": [10, 50]},
}
JUDGES = ("threshold", "sequential")
#: The third run's pre-traffic gate: the health check the post-mortem's monitoring used, and the API, sent
#: to the canary's own Service once it is Ready, before any user request (two clean rounds a second apart).
GATE: dict[str, Any] = {"requests": [{"path": "/health"}, {"path": "/api/status"}], "successes": 2,
                        "interval": "1s", "timeout": "2s"}


def analysis(judge: str) -> dict[str, Any]:
    """A short analysis: every 2 s, 4 s per step, on what clients see (the gateway's metrics).

    ``threshold`` (the demo's default): the error rate must stay under 2% and p99 latency
    under 1 s at every check; 2.0.0 fails the first check that sees it. ``sequential``: the
    anytime-valid comparison with the stable (its circuit breaker fails a canary over 20%
    errors). It catches 2.0.0 just as fast, but it passes a canary only on evidence that
    needs errors on one side or the other: with the demo app's clean 1.0.0 and 2.0.1 it
    stays Inconclusive, so 2.0.1 is held rather than promoted and the demo times out.
    """
    if judge not in JUDGES:
        raise ValueError(f"judge must be one of {JUDGES}")
    error_rate: dict[str, Any] = {"name": "error-rate", "type": "error-rate", "source": "gateway", "judge": judge}
    if judge == "threshold":
        error_rate["max"] = 0.02
    return {
        "interval": "2s", "stepDuration": "4s", "minRequests": 20, "postPromotionWatch": "6s",
        "metrics": [error_rate,
                    {"name": "latency", "type": "latency", "source": "gateway", "judge": "threshold",
                     "quantile": 0.99, "max": 1.0}],
    }


def manifest(name: str, version: str, provider: str, judge: str, gate: bool = False) -> dict[str, Any]:
    """``gate``: the same Release with the pre-traffic gate (the demo's third run)."""
    shape = SHAPES[provider]
    return release_manifest(name, version, provider=provider, replicas=shape["replicas"], steps=shape["steps"],
                            analysis=analysis(judge), **({"gate": GATE} if gate else {}))


def entry_for(status: dict[str, Any], version: str, since: float) -> Optional[dict[str, Any]]:
    """The history entry of ``version``'s rollout started at or after ``since`` (unix seconds)."""
    for h in status.get("history") or []:
        if h.get("version") == version and parse_time(h["startedAt"]) >= since - 1.0:
            return h
    return None


def describe(status: dict[str, Any]) -> str:
    """One line: phase and versions, canary weight asked and served, the analysis verdict."""
    if not status.get("phase"):
        return "no status yet (the operator has not reconciled it)"
    stable = (status.get("stable") or {}).get("version", "?")
    ro = status.get("rollout") or {}
    if not ro:
        return f"{status['phase']} on {stable}"
    canary = (status.get("canary") or {}).get("version", "?")
    eff = ro.get("effectiveWeight")
    parts = [f"{status['phase']} {stable} -> {canary}",
             f"canary {ro.get('weight', 0)}%" + (f" (serving {eff:g}%)" if eff is not None else "")]
    an = status.get("analysis") or {}
    if an.get("verdict"):
        worst = next((m for m in an.get("metrics") or [] if m.get("verdict") != "Pass"), None)
        why = f": {_clip(worst['message'], 90)}" if worst and worst.get("message") else ""
        parts.append(f"analysis {an['verdict']}" + (f" ({worst['name']}: {worst['verdict']}{why})" if worst else ""))
    return ", ".join(parts)


def _clip(text: str, n: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[: n - 1] + "…"


class Outcome:
    """Watch: ``version``'s rollout (applied at ``since``) reaches a final outcome; ``want`` is checked."""

    def __init__(self, releases: Releases, name: str, version: str, since: float, want: str) -> None:
        self.releases, self.name, self.version, self.since, self.want = releases, name, version, since, want
        self.status: dict[str, Any] = {}
        self.entry: Optional[dict[str, Any]] = None

    def poll(self) -> bool:
        self.status = self.releases.status(self.name)
        entry = entry_for(self.status, self.version, self.since)
        if entry is None or entry["outcome"] == "Progressing":
            return False
        self.entry = entry
        if entry["outcome"] != self.want:
            reason = (entry.get("reason") or {}).get("message", "")
            raise DemoError(f"{self.version} ended {entry['outcome']}, not {self.want}" + (f": {reason}" if reason else ""))
        return True

    def describe(self) -> str:
        return describe(self.status) if self.status else "waiting for the operator"


class Phase:
    """Watch: the Release shows ``phase`` with ``version`` stable."""

    def __init__(self, releases: Releases, name: str, phase: str, version: str) -> None:
        self.releases, self.name, self.phase, self.version = releases, name, phase, version
        self.status: dict[str, Any] = {}

    def poll(self) -> bool:
        self.status = self.releases.status(self.name)
        return (self.status.get("phase") == self.phase
                and (self.status.get("stable") or {}).get("version") == self.version)

    def describe(self) -> str:
        return describe(self.status) if self.status else "waiting for the operator"
