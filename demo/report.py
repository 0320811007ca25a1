"""What the demo prints at the end: timelines, figures, goals, the chart, where to look, the JSON line."""
from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path
from typing import Any, Optional

from ripcord.cli.impact import canary_slot

from . import chart, timeline
from .figures import RunFigures, Window, gated_goals, goals, ready_to_decision_s, run_figures, series, summary_json
from .scenario import FAULTY, FIXED, STABLE, Result
from .timeline import DEGRADED, DETECTED, FAILURE, IN_PROGRESS, RESTORED, Moment, parse_time


@dataclasses.dataclass(frozen=True)
class Report:
    text: str
    summary: dict[str, Any]
    chart_path: Optional[Path]
    ripcord: RunFigures
    baseline: RunFigures
    gated: Optional[RunFigures] = None
    gated_detect_s: Optional[float] = None


def canary_deployment(result: Result) -> Optional[str]:
    """The Deployment the faulty version ran in (its slot, from the rollout's history)."""
    slot = canary_slot({"status": result.status}, result.faulty_entry)
    return f"{result.settings.release}-{slot}" if slot else None


def gated_figures(result: Result) -> RunFigures:
    """The third run's figures: the Release with the pre-traffic gate, over the same window length."""
    slot = canary_slot({"status": result.gated_status}, result.gated_faulty_entry)
    reason = result.gated_faulty_entry.get("reason") or {}
    return run_figures(result.gated_rows, Window(result.gated_released_at, result.gated_released_at + result.window_s),
                       stable=STABLE, faulty=FAULTY, detected_at=parse_time(reason["at"]) if reason.get("at") else None,
                       canary_backend=f"{result.settings.gated_release}-{slot}" if slot else None)


def gated_table(result: Result, fig: RunFigures) -> str:
    history = result.gated_status.get("history") or []
    moments = timeline.history_moments(history, versions=[FAULTY])
    moments += timeline.client_moments(fig.first_faulty_t, fig.restored_t, faulty=FAULTY, stable=STABLE)
    return timeline.render(moments, origin=result.gated_released_at)


def compute(result: Result) -> tuple[RunFigures, RunFigures]:
    r_win = Window(result.ripcord_released_at, result.ripcord_released_at + result.window_s)
    b_win = Window(result.baseline_released_at, result.baseline_released_at + result.window_s)
    return (run_figures(result.ripcord_rows, r_win, stable=STABLE, faulty=FAULTY,
                        detected_at=result.ripcord_detected_at, canary_backend=canary_deployment(result)),
            run_figures(result.baseline_rows, b_win, stable=STABLE, faulty=FAULTY,
                        detected_at=result.baseline_undo_at))


def ripcord_table(result: Result, fig: RunFigures) -> str:
    history = result.status.get("history") or []
    moments = timeline.history_moments(history, versions=[FAULTY, FIXED])
    moments += timeline.client_moments(fig.first_faulty_t, fig.restored_t, faulty=FAULTY, stable=STABLE)
    return timeline.render(moments, origin=result.ripcord_released_at)


def baseline_table(result: Result, fig: RunFigures, delay_s: float) -> str:
    moments = [Moment(result.baseline_released_at, f"Deployment baseline rolled to {FAULTY} (rolling update)",
                      IN_PROGRESS)]
    if fig.first_faulty_t is not None:
        moments.append(Moment(fig.first_faulty_t, f"Clients: first request answered by {FAULTY}", FAILURE))
    if result.baseline_health_failed_at is not None:
        moments.append(Moment(result.baseline_health_failed_at, "Health check (GET /health) fails", DEGRADED))
    moments.append(Moment(result.baseline_undo_at,
                          f"Health check failed for {delay_s:g} s: `kubectl rollout undo`", DETECTED))
    if fig.restored_t is not None:
        moments.append(Moment(fig.restored_t, f"Clients: every request answered by {STABLE} again", RESTORED))
    return timeline.render(moments, origin=result.baseline_released_at)


def _s(v: Optional[float], digits: int = 1) -> str:
    return "-" if v is None else f"{v:.{digits}f} s"


def _frac(fig: RunFigures) -> str:
    f = fig.failed_fraction
    return "-" if f is None else f"{fig.failed} of {fig.total} ({100 * f:.2f}%)"


def figures_table(r: RunFigures, b: RunFigures, g: Optional[RunFigures] = None,
                  gated_detect_s: Optional[float] = None) -> str:
    """The runs side by side: Ripcord, without Ripcord, and (``g``) Ripcord with the pre-traffic gate."""
    runs = [r, b] + ([g] if g is not None else [])
    rows = [
        ["requests in the window"] + [str(x.total) for x in runs],
        [f"answered by {FAULTY} (failed)"] + [f"{x.faulty_answered} ({x.faulty_failed})" for x in runs],
        [f"failed on {FAULTY}'s backend, answered or not"]
        + ["-" if x.canary_failed is None else str(x.canary_failed) for x in runs],
        ["failed requests"] + [_frac(x) for x in runs],
        [f"{FAULTY}'s first answer -> detection"] + [_s(x.detect_s) for x in runs],
        [f"{FAULTY}'s first answer -> 100% on {STABLE}"] + [_s(x.restore_s, 0) for x in runs],
    ]
    head = ["", "Ripcord", "without Ripcord"]
    if g is not None:
        head.append("Ripcord + gate")
        rows.append(["canary Ready -> detection (gate)", "-", "-", _s(gated_detect_s, 2)])
    n = len(head)
    w = [max(len(x[i]) for x in rows + [head]) for i in range(n)]
    lines = ["| " + " | ".join(f"{head[i]:<{w[i]}}" for i in range(n)) + " |",
             "|" + "|".join("-" * (w[i] + 2) for i in range(n)) + "|"]
    lines += ["| " + " | ".join(f"{row[i]:<{w[i]}}" for i in range(n)) + " |" for row in rows]
    return "\n".join(lines)


def goals_text(r: RunFigures, provider: str, g: Optional[RunFigures] = None,
               gated_detect_s: Optional[float] = None) -> str:
    def said(items: Any) -> str:
        parts = []
        for x in items:
            value = "-" if x.value is None else (f"{x.value:.1f} {x.unit}" if x.unit == "s" else
                                                 f"{x.value:.2f}{x.unit}" if x.unit else f"{x.value:g}")
            parts.append(f"{x.name} <= {x.limit:g}{' ' if x.unit == 's' else ''}{x.unit}: {value} "
                         f"{'✓' if x.met else '✗'}")
        return "; ".join(parts)
    text = f"Goals with Ripcord ({provider}; printed, not asserted): " + said(goals(r))
    if g is not None:
        text += "\nGoals with the pre-traffic gate: " + said(gated_goals(g, gated_detect_s))
    return text


def look_around(result: Result) -> str:
    s, sb = result.settings, result.sandbox
    kubectl = "kubectl" if shutil.which("kubectl") else str(Path(__import__("sys").executable).with_name("kubectl"))
    return "\n".join([
        "The sandbox is still running. Look around:",
        f"  export KUBECONFIG={sb.admin_kubeconfig}",
        f"  {kubectl} get releases -n {s.namespace}",
        f"  {kubectl} describe release {s.release} -n {s.namespace}",
        f"  {kubectl} get release {s.release} -n {s.namespace} -o jsonpath='{{.status.history}}'",
        f"  Prometheus: {sb.prometheus_url}  (e.g. sum by (backend_service, code) "
        f"(rate(gateway_requests_total{{namespace=\"{s.namespace}\"}}[1m])))",
        "The operator this demo started has been stopped (the Deployments keep serving 2.0.1; nothing",
        f"reconciles the Release until it runs again). Its log: {result.operator_log}. To start it again:",
        f"  {result.operator_command}",
        "Stop the sandbox: make sandbox-down",
    ])


def build(result: Result) -> Report:
    r, b = compute(result)
    g = gated_figures(result)
    g_detect = ready_to_decision_s(result.gated_faulty_entry)
    s = result.settings
    chart_path: Optional[Path] = None
    start = -10.0
    end = result.window_s
    try:
        chart_path = chart.write(
            s.out_dir / f"demo-{s.provider}.png",
            ripcord=series(result.ripcord_rows, result.ripcord_released_at, FAULTY, start, end),
            baseline=series(result.baseline_rows, result.baseline_released_at, FAULTY, start, end),
            asked=[(0.0, 0.0)] + timeline.asked_weights(result.faulty_entry, result.ripcord_released_at),
            ripcord_detect_x=None if r.detected_at is None else r.detected_at - result.ripcord_released_at,
            baseline_detect_x=result.baseline_undo_at - result.baseline_released_at,
            window_s=result.window_s,
            title=f"{FAULTY} released at 0 s, {s.provider} provider: Ripcord vs a plain rolling update",
            failed=(r.failed, b.failed, g.failed),
            gated=series(result.gated_rows, result.gated_released_at, FAULTY, start, end),
            gated_detect_x=None if g.detected_at is None else g.detected_at - result.gated_released_at)
    except ImportError:
        chart_path = None
    summary = summary_json(r, b, promoted_version=_promoted(result), provider=s.provider, gated=g,
                           gated_detect_s=g_detect)
    delay = s.baseline_delay_s
    text = "\n".join([
        "",
        f"== Timeline with Ripcord (Release {s.release}, from its status.history; "
        f"+ is from {FAULTY}'s release)",
        ripcord_table(result, r),
        "",
        f"== Timeline without Ripcord (Deployment baseline; health check failing for {delay:g} s before the undo"
        + ("" if delay >= 45 else f", the post-mortem's 45 s shortened by {45 - delay:g} s") + ")",
        baseline_table(result, b, delay),
        "",
        f"== Timeline with Ripcord and the pre-traffic gate (Release {s.gated_release}; + is from {FAULTY}'s "
        f"release)",
        gated_table(result, g),
        "",
        f"== Figures from the gateway's record: each run over {result.window_s:.0f} s from its {FAULTY} release "
        f"(the latest detection + {s.tail_s:g} s)",
        figures_table(r, b, g, g_detect),
        "",
        goals_text(r, s.provider, g, g_detect),
        f"Chart: {chart_path}" if chart_path else "Chart: not written (matplotlib is not installed: pip install -e '.[demo]')",
        "",
        look_around(result),
    ])
    return Report(text=text, summary=summary, chart_path=chart_path, ripcord=r, baseline=b, gated=g,
                  gated_detect_s=g_detect)


def _promoted(result: Result) -> Optional[str]:
    """The version this run's last rollout promoted (2.0.1 when all went well)."""
    entry = result.fixed_entry
    return str(entry["version"]) if entry.get("outcome") == "Promoted" else None


def outcomes_ok(result: Result) -> list[str]:
    """What went wrong with the outcomes (2.0.0 RolledBack, 2.0.1 Promoted); empty if nothing."""
    problems = []
    if result.faulty_entry.get("outcome") != "RolledBack":
        problems.append(f"{FAULTY} ended {result.faulty_entry.get('outcome')}, not RolledBack")
    if result.fixed_entry.get("outcome") != "Promoted":
        problems.append(f"{FIXED} ended {result.fixed_entry.get('outcome')}, not Promoted")
    if result.gated_faulty_entry.get("outcome") != "RolledBack":
        problems.append(f"with the gate, {FAULTY} ended {result.gated_faulty_entry.get('outcome')}, not RolledBack")
    if result.gated_fixed_entry.get("outcome") != "Promoted":
        problems.append(f"with the gate, {FIXED} ended {result.gated_fixed_entry.get('outcome')}, not Promoted")
    return problems


def json_line(summary: dict[str, Any]) -> str:
    return json.dumps(summary, separators=(", ", ": "))
