"""The demo's chart: traffic on the faulty version and the error rate clients saw, every run.

Two panels on one time axis, seconds from each run's faulty release: the share of requests
answered by 2.0.0 (with Ripcord's asked canary weight as a dashed step line), and the share
of requests that failed. Matplotlib's Agg backend: no display needed.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence

from .figures import Point


def write(path: Path, *, ripcord: Sequence[Point], baseline: Sequence[Point],
          asked: Sequence[tuple[float, float]], ripcord_detect_x: Optional[float],
          baseline_detect_x: Optional[float], window_s: float, title: str,
          failed: tuple[int, ...] = (0, 0), gated: Sequence[Point] = (),
          gated_detect_x: Optional[float] = None) -> Path:
    """Write the PNG; ``failed``: failed requests in the window (Ripcord, baseline[, gated]), for the
    legend; ``gated``: the run with the pre-traffic gate, if there was one."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (top, bottom) = plt.subplots(2, 1, sharex=True, figsize=(10, 6.5), constrained_layout=True)
    colors = {"ripcord": "#1f77b4", "baseline": "#d62728", "gated": "#2ca02c"}
    for ax in (top, bottom):
        ax.axvline(0, color="grey", lw=0.8, ls=":")
        ax.axvspan(0, window_s, color="grey", alpha=0.06)
        for x, name in ((ripcord_detect_x, "ripcord"), (baseline_detect_x, "baseline"),
                        (gated_detect_x if gated else None, "gated")):
            if x is not None:
                ax.axvline(x, color=colors[name], lw=1, ls="--", alpha=0.7)
        ax.grid(alpha=0.3)

    # A record row is the second [t, t+1): drawn as steps from t.
    top.step([p.x for p in baseline], [p.faulty_share for p in baseline], where="post", color=colors["baseline"],
             label="without Ripcord: rolling update, undone after the health check failed")
    top.step([p.x for p in ripcord], [p.faulty_share for p in ripcord], where="post", color=colors["ripcord"],
             label="Ripcord: share served by the canary")
    if gated:
        top.step([p.x for p in gated], [p.faulty_share for p in gated], where="post", color=colors["gated"],
                 label="Ripcord with the pre-traffic gate: share served by the canary")
    if asked:
        xs, ws = zip(*asked)
        top.step(xs, ws, where="post", color=colors["ripcord"], ls="--", lw=1, alpha=0.7,
                 label="Ripcord: canary weight asked")
    top.set_ylabel("requests on 2.0.0 (%)")
    top.set_ylim(-3, 103)
    top.legend(loc="upper right", fontsize=8)
    top.set_title(title, fontsize=10)

    bottom.step([p.x for p in baseline], [p.error_rate for p in baseline], where="post", color=colors["baseline"],
                label=f"without Ripcord ({failed[1]} failed requests in the window)")
    bottom.step([p.x for p in ripcord], [p.error_rate for p in ripcord], where="post", color=colors["ripcord"],
                label=f"Ripcord ({failed[0]} failed requests in the window)")
    if gated:
        bottom.step([p.x for p in gated], [p.error_rate for p in gated], where="post", color=colors["gated"],
                    label=f"Ripcord with the pre-traffic gate ({failed[2] if len(failed) > 2 else 0} failed requests)")
    bottom.set_ylabel("failed requests (%)")
    bottom.set_xlabel("seconds since 2.0.0 was released (dashed: detection; shaded: the measured window)")
    bottom.set_ylim(-3, 103)
    bottom.legend(loc="upper right", fontsize=8)

    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
