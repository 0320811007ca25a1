"""Figures, the table and the last-line JSON from the measurements (pure)."""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Optional, Sequence

from . import stats
from .phases import AtRest, Rolling, Window
from .settings import Configuration

MIB = 1024 * 1024


def per_min(count: float, seconds: float) -> float:
    return count * 60.0 / seconds if seconds > 0 else math.nan


def _sum(counts: dict[Any, float]) -> float:
    return float(sum(counts.values()))


def apiserver_net(w: Window, background: Window) -> dict[tuple[str, ...], float]:
    """The API server's counts in ``w`` minus the background rate over the same time."""
    scale = w.seconds / background.seconds if background.seconds > 0 else 0.0
    keys = set(w.apiserver) | set(background.apiserver)
    return {k: w.apiserver.get(k, 0.0) - background.apiserver.get(k, 0.0) * scale for k in keys}


@dataclass(frozen=True)
class MixLine:
    verb: str
    resource: str
    client_per_s: float  # the operator's own count
    apiserver_per_s: float  # the API server's, minus the background


def request_mix(at_rest: AtRest, top: int = 12) -> list[MixLine]:
    w = at_rest.window
    net = apiserver_net(w, at_rest.background)
    keys = set(w.client) | {k for k, v in net.items() if abs(v) / w.seconds >= 0.05}
    lines = [MixLine(k[0], k[1], w.client.get(k, 0.0) / w.seconds, net.get(k, 0.0) / w.seconds) for k in keys]
    lines.sort(key=lambda m: -max(m.client_per_s, m.apiserver_per_s))
    return lines[:top]


@dataclass(frozen=True)
class Row:
    config: Configuration
    api_rest_client: float  # requests per Release per minute, every Release at rest (operator's count)
    api_rest_apiserver: float  # the same from apiserver_request_total minus the background
    api_rolling_client: Optional[float]  # per Release (all N+M) per minute while M roll out
    api_rolling_excess: Optional[float]  # per rolling Release per minute, beyond the at-rest rate of all
    api_rolling_total_per_min: Optional[float]  # the operator's requests per minute while M roll out
    api_rolling_apiserver_per_min: Optional[float]  # every client but the benchmark, minus the background
    prom_rest_per_min: float
    prom_rolling_per_min: Optional[float]
    rss_rest_mib: float
    rss_rolling_mib: Optional[float]
    cpu_rest: Optional[float]
    cpu_rolling: Optional[float]
    apiserver_cpu_rest: Optional[float]
    apiserver_cpu_background: Optional[float]
    tick_spacing_rest_s: Optional[float]  # mean time between two reconciles of one Release at rest
    lateness_p50_s: Optional[float]
    lateness_p99_s: Optional[float]
    lateness_source: str
    first_step_p50_s: Optional[float]
    first_step_p99_s: Optional[float]
    first_step_max_s: Optional[float]
    correct: int
    rollouts: int
    outcomes: dict[str, int]
    rolling_s: Optional[float]
    load_rest: float  # the machine's 1-minute load average at the end of the at-rest window
    load_rolling: Optional[float]
    sandbox: dict[str, tuple[float, int]]  # at rest: sandbox process -> (CPU cores, RSS bytes)


def row(config: Configuration, at_rest: AtRest, rolling: Optional[Rolling]) -> Row:
    w, bg = at_rest.window, at_rest.background
    n = at_rest.releases
    client_rest = _sum(w.client)
    rest_rate = client_rest / w.seconds / n if n else 0.0  # per Release per second
    lat50 = lat99 = None
    source = "none"
    api_roll = api_excess = api_total = api_roll_all = prom_roll = rss_roll = cpu_roll = load_roll = None
    fs50 = fs99 = fsmax = None
    correct = total = 0
    outcomes: dict[str, int] = {}
    rolling_s = None
    if rolling is not None and rolling.results:
        r = rolling.window
        m = len(rolling.results)
        rolling_s = r.seconds
        api_total = per_min(_sum(r.client), r.seconds)
        api_roll = api_total / (rolling.at_rest + m)
        api_excess = (api_total - rest_rate * 60.0 * (rolling.at_rest + m)) / m
        load_roll = r.load_average
        api_roll_all = per_min(_sum(apiserver_net(r, bg)) - rolling.bench_requests, r.seconds)
        prom_roll = per_min(r.prometheus_queries, r.seconds)
        rss_roll = rolling.rss_peak_bytes / MIB
        cpu_roll = r.operator_cpu_cores
        if r.lateness is not None and r.lateness and r.lateness[-1][1] > 0:
            lat50, lat99 = stats.histogram_quantile(0.5, r.lateness), stats.histogram_quantile(0.99, r.lateness)
            source = "ripcord_reconcile_lateness_seconds"
        else:
            late = [x for res in rolling.results for x in res.lateness_s]
            lat50, lat99 = stats.percentile(late, 50), stats.percentile(late, 99)
            source = f"analysis ticks ({len(late)})"
        steps = [res.first_step_s for res in rolling.results if res.first_step_s is not None]
        fs50, fs99, fsmax = stats.percentile(steps, 50), stats.percentile(steps, 99), max(steps, default=None)
        correct, total = sum(res.correct for res in rolling.results), m
        for res in rolling.results:
            key = f"{res.started.expected}->{res.outcome or 'unfinished'}"
            outcomes[key] = outcomes.get(key, 0) + 1
    return Row(
        config=config, api_rest_client=per_min(client_rest, w.seconds) / n,
        api_rest_apiserver=per_min(_sum(apiserver_net(w, bg)), w.seconds) / n,
        api_rolling_client=api_roll, api_rolling_excess=api_excess, api_rolling_total_per_min=api_total,
        api_rolling_apiserver_per_min=api_roll_all,
        prom_rest_per_min=per_min(w.prometheus_queries, w.seconds), prom_rolling_per_min=prom_roll,
        rss_rest_mib=at_rest.rss_peak_bytes / MIB, rss_rolling_mib=rss_roll,
        cpu_rest=w.operator_cpu_cores, cpu_rolling=cpu_roll,
        apiserver_cpu_rest=w.apiserver_cpu_cores, apiserver_cpu_background=bg.apiserver_cpu_cores,
        tick_spacing_rest_s=(n * w.seconds / w.reconciles) if w.reconciles > 0 else None,
        lateness_p50_s=lat50, lateness_p99_s=lat99, lateness_source=source,
        first_step_p50_s=fs50, first_step_p99_s=fs99, first_step_max_s=fsmax,
        correct=correct, rollouts=total, outcomes=outcomes, rolling_s=rolling_s,
        load_rest=w.load_average, load_rolling=load_roll, sandbox=dict(w.components))


# ------------------------------------------------------------------------------ text

def _fmt(x: Optional[float], digits: int = 1) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    return f"{x:.{digits}f}"


def render_table(header: Sequence[str], lines: Sequence[Sequence[str]]) -> str:
    widths = [max(len(h), *(len(ln[i]) for ln in lines)) if lines else len(h) for i, h in enumerate(header)]
    out = ["  ".join(h.rjust(w) for h, w in zip(header, widths)),
           "  ".join("-" * w for w in widths)]
    out += ["  ".join(c.rjust(w) for c, w in zip(ln, widths)) for ln in lines]
    return "\n".join(out)


def table(rows: Sequence[Row]) -> str:
    rest = render_table(
        ["N+M", "req/Release/min", "(API server)", "prom q/min", "tick spacing s", "op CPU", "op RSS MiB",
         "apiserver CPU", "(no operator)", "load"],
        [[str(r.config), _fmt(r.api_rest_client), _fmt(r.api_rest_apiserver), _fmt(r.prom_rest_per_min),
          _fmt(r.tick_spacing_rest_s, 2), _fmt(r.cpu_rest, 2), _fmt(r.rss_rest_mib, 0),
          _fmt(r.apiserver_cpu_rest, 2), _fmt(r.apiserver_cpu_background, 2), _fmt(r.load_rest)] for r in rows])
    rolling = render_table(
        ["N+M", "req/Release/min", "excess/rolling", "op req/min", "all req/min", "prom q/min", "op CPU",
         "op RSS MiB", "late p50 s", "p99 s", "1st step p50 s", "p99 s", "max s", "correct", "took s", "load"],
        [[str(r.config), _fmt(r.api_rolling_client), _fmt(r.api_rolling_excess), _fmt(r.api_rolling_total_per_min, 0),
          _fmt(r.api_rolling_apiserver_per_min, 0), _fmt(r.prom_rolling_per_min), _fmt(r.cpu_rolling, 2),
          _fmt(r.rss_rolling_mib, 0), _fmt(r.lateness_p50_s, 2), _fmt(r.lateness_p99_s, 2),
          _fmt(r.first_step_p50_s), _fmt(r.first_step_p99_s), _fmt(r.first_step_max_s), f"{r.correct}/{r.rollouts}",
          _fmt(r.rolling_s, 0), _fmt(r.load_rolling)]
         for r in rows])
    names = sorted({n for r in rows for n in r.sandbox})
    sandbox = render_table(["N+M", *(f"{n} CPU/MiB" for n in names)],
                           [[str(r.config), *(f"{_fmt(r.sandbox[n][0], 2)}/{_fmt(r.sandbox[n][1] / MIB, 0)}"
                                              if n in r.sandbox else "-" for n in names)] for r in rows])
    return (f"At rest (N+M Releases, all at rest; requests by the operator's count, then the API server's):\n{rest}"
            f"\n\nRolling out (M at once, N at rest):\n{rolling}"
            f"\n\nThe sandbox at rest (CPU cores, RSS MiB):\n{sandbox}")


def mix_table(config: Configuration, mix: Sequence[MixLine]) -> str:
    return (f"At-rest request mix, {config.releases} Releases (requests/s; API server minus background):\n"
            + render_table(["verb", "resource", "operator client", "API server"],
                           [[m.verb, m.resource or "-", _fmt(m.client_per_s, 1), _fmt(m.apiserver_per_s, 1)]
                            for m in mix]))


def _round(x: Optional[float], digits: int = 3) -> Optional[float]:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else round(x, digits)


def row_json(r: Row) -> dict[str, Any]:
    out: dict[str, Any] = {"releases_at_rest": r.config.at_rest, "releases_rolling": r.config.rolling}
    for f in dataclasses.fields(r):
        if f.name == "config":
            continue
        if f.name == "sandbox":
            out["sandbox"] = {n: {"cpu_cores": _round(c), "rss_mib": round(b / MIB, 1)} for n, (c, b) in r.sandbox.items()}
            continue
        v = getattr(r, f.name)
        out[f.name] = _round(v) if isinstance(v, float) or v is None else v
    return out


def summary(rows: Sequence[Row], largest: Configuration, elapsed_s: float) -> dict[str, Any]:
    """The last-line JSON: the largest configuration's figures, then every row."""
    r = next(x for x in rows if x.config == largest)
    return {
        "releases_at_rest": r.config.at_rest,
        "releases_rolling": r.config.rolling,
        "api_requests_per_release_per_min_at_rest": _round(r.api_rest_client),
        "api_requests_per_release_per_min_at_rest_apiserver": _round(r.api_rest_apiserver),
        "api_requests_per_release_per_min_rolling": _round(r.api_rolling_client),
        "api_requests_excess_per_rolling_release_per_min": _round(r.api_rolling_excess),
        "prometheus_queries_per_min_at_rest": _round(r.prom_rest_per_min),
        "prometheus_queries_per_min_rolling": _round(r.prom_rolling_per_min),
        "lateness_p50_s": _round(r.lateness_p50_s),
        "lateness_p99_s": _round(r.lateness_p99_s),
        "lateness_source": r.lateness_source,
        "operator_rss_mib": _round(max(r.rss_rest_mib, r.rss_rolling_mib or 0.0), 1),
        "operator_cpu_cores_mean": _round(r.cpu_rolling if r.cpu_rolling is not None else r.cpu_rest),
        "operator_cpu_cores_mean_at_rest": _round(r.cpu_rest),
        "first_step_p50_s": _round(r.first_step_p50_s),
        "first_step_p99_s": _round(r.first_step_p99_s),
        "rollouts_correct_fraction": _round(r.correct / r.rollouts if r.rollouts else None),
        "elapsed_s": round(elapsed_s),
        "configurations": [row_json(x) for x in rows],
    }
