"""Tables and the final JSON line of the judge benchmark."""
from __future__ import annotations

import math
from typing import Any, Iterable, Sequence

REF = {"rps": 100.0, "weight": 0.10, "base": 0.01}


def _t(v: float) -> str:
    return ">1h" if math.isinf(v) else f"{v:.0f}"


def _p(v: float) -> str:
    return f"{100 * v:.1f}%"


def _where(rows: Iterable[dict[str, Any]], **kw: Any) -> list[dict[str, Any]]:
    return [r for r in rows if all(math.isclose(r[k], v) if isinstance(v, float) else r[k] == v
                                   for k, v in kw.items())]


def _worst(rows: Sequence[dict[str, Any]], key: str) -> tuple[float, str]:
    if not rows:
        return float("nan"), ""
    r = max(rows, key=lambda x: x[key])
    return r[key], f"{r['model']} {r['rps']:g}rps/{100 * r['weight']:g}%/{100 * r['base']:g}%"


def _table(header: list[str], body: list[list[str]]) -> str:
    widths = [max(len(h), *(len(row[i]) for row in body)) for i, h in enumerate(header)]
    line = lambda cells: "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths)) + " |"  # noqa: E731
    sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(header), sep, *(line(r) for r in body)])


def tables(results: list[dict[str, Any]]) -> str:
    models = sorted({r["model"] for r in results}, key=lambda m: [r["model"] for r in results].index(m))
    body = []
    for m in models:
        rows = _where(results, model=m)
        healthy = _where(rows, ratio=1.0)
        fpr, cell = _worst(healthy, "judge_fail")
        ref2 = _where(rows, ratio=2.0, **REF)
        ref1 = _where(healthy, **REF)
        wp, _ = _worst(_where(rows, ratio=2.0), "judge_pass")
        r2 = ref2[0] if ref2 else None
        r1 = ref1[0] if ref1 else None
        body.append([
            m, _p(fpr), cell, _p(_worst(healthy, "fixed_fail")[0]), _p(_worst(healthy, "ztest_fail")[0]),
            _p(wp),
            "-" if r2 is None else f"{_p(r2['judge_fail'])} {_t(r2['judge_ttd_median'])}/{_t(r2['judge_ttd_p90'])}",
            "-" if r2 is None else f"{_t(r2['fixed_ttd_median'])}/{_t(r2['fixed_ttd_p90'])}",
            "-" if r2 is None else f"{_t(r2['ztest_ttd_median'])}/{_t(r2['ztest_ttd_p90'])}",
            "-" if r1 is None else f"{_p(r1['judge_pass_first'])} {_t(r1['judge_promote_median'])}",
        ])
    out = ["Per data model (healthy = ratio 1.0; false rollback = rolled back at any time within 1 h; "
           "reference cell 100 rps / 10% / 1%; times in s, median/p90, >1h = not within the hour)",
           _table(["model", "judge FR max", "worst cell", "fixed FR max", "z-test FR max",
                   "judge wrong promo @2x max", "judge 2x caught, ttd", "fixed 2x ttd", "z 2x ttd",
                   "judge healthy promoted, median"], body)]
    ideal = _where(results, model="ideal")
    if ideal:
        body = []
        coords = sorted({(r["rps"], r["weight"], r["base"]) for r in ideal})
        for rps, w, b in coords:
            c = _where(ideal, rps=rps, weight=w, base=b)
            h = _where(c, ratio=1.0)[0]
            row = [f"{rps:g}", f"{100 * w:g}%", f"{100 * b:g}%",
                   f"{_p(h['judge_fail'])}/{_p(h['fixed_fail'])}/{_p(h['ztest_fail'])}"]
            for ratio in (1.5, 2.0, 5.0):
                x = _where(c, ratio=ratio)[0]
                row.append(f"{_p(x['judge_fail'])} {_t(x['judge_ttd_median'])}/{_t(x['judge_ttd_p90'])}")
            x2 = _where(c, ratio=2.0)[0]
            row += [f"{_t(x2['fixed_ttd_median'])} / {_t(x2['ztest_ttd_median'])}", _p(x2["judge_pass"]),
                    f"{_p(h['judge_pass_first'])} {_t(h['judge_promote_median'])}"]
            body.append(row)
        out += ["", "Ideal data, every cell (FR = false rollback judge/fixed/z; detection: caught within 1 h, "
                    "median/p90 s)",
                _table(["rps", "weight", "stable err", "FR j/f/z", "judge 1.5x", "judge 2x", "judge 5x",
                        "fixed/z 2x median", "wrong promo @2x", "healthy promoted, median"], body)]
    return "\n".join(out)


def summary_json(results: list[dict[str, Any]], *, runs: int, seed: int, elapsed_s: float) -> dict[str, Any]:
    healthy = [r for r in results if math.isclose(r["ratio"], 1.0)]
    at_r1 = [r for r in results if math.isclose(r["ratio"], 2.0)]
    jf, jcell = _worst(healthy, "judge_fail")
    ref2 = _where(results, model="ideal", ratio=2.0, **REF)
    ref1 = _where(results, model="ideal", ratio=1.0, **REF)
    wp, wcell = _worst(at_r1, "judge_pass")
    out = {
        "judge_false_rollback_max": jf,
        "judge_false_rollback_max_cell": jcell,
        "fixed_false_rollback_max": _worst(healthy, "fixed_fail")[0],
        "ztest_false_rollback_max": _worst(healthy, "ztest_fail")[0],
        "judge_ttd_median_s_2x_100rps_10pct_1pct": ref2[0]["judge_ttd_median"] if ref2 else None,
        "judge_ttd_p90_s_2x_100rps_10pct_1pct": ref2[0]["judge_ttd_p90"] if ref2 else None,
        "judge_wrong_promotion_max_at_r1": wp,
        "judge_wrong_promotion_max_cell": wcell,
        "judge_promote_median_s_healthy_100rps_10pct_1pct": ref1[0]["judge_promote_median"] if ref1 else None,
        "cells": len(results),
        "runs_per_cell": runs,
        "seed": seed,
        "elapsed_s": round(elapsed_s, 1),
    }
    # strict JSON: a time never reached within the hour is null
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in out.items()}
