"""One voice for numbers and outcomes: how Ripcord words a value, a bound, a breach, a verdict.

Pure functions, no I/O and no clock. The plugin (``history``, ``get``, the post-mortem),
the notifications and the engine's Events all word a metric the same way:

* a metric's value in its unit: error ratios as percent (``0.02`` -> ``2%``), latencies in
  ms below a second and s above (``0.4975`` -> ``497.5 ms``), anything else as a number;
* a bound in the same unit as the value it bounds (``<= 0.02`` -> ``<= 2%``,
  ``<= 1.5 x stable (0.007425s)`` -> ``<= 1.5 × stable (7.425 ms)``); the sequential
  judge's statistical bound (``ratio <= 1.1 (alpha 0.05) ...``) is a ratio of rates and
  is kept as written;
* a breach as ``error-rate = 100% breached <= 2%``, with the scope of the value when it is
  known (the fixed-bound judge checks the step so far, the sequential judge the rollout
  so far) and the last interval's counts labelled as such;
* an outcome as words (``RolledBack`` -> ``rolled back``);
* durations like kubectl's ages (``45s``, ``2m05s``, ``1h02m``).
"""
from __future__ import annotations

import math
import re
from typing import Optional

#: Metric types (``spec.analysis.metrics[].type``) whose values have a unit.
ERROR_RATE, LATENCY = "error-rate", "latency"

_OUTCOMES = {
    "RolledBack": "rolled back",
    "Aborted": "aborted",
    "Promoted": "promoted",
    "Superseded": "superseded",
    "Failed": "failed",
    "Progressing": "in progress",
    "Holding": "holding without a verdict",
}

#: What the judge's value covers, by ``judge`` (see ``analysis/metrics.py fold_step``).
_SCOPES = {"threshold": "over the step so far", "sequential": "over the rollout so far"}


# ---------------------------------------------------------------------------- numbers

def number(value: Optional[float]) -> str:
    """Four significant digits, no exponent for everyday sizes: ``0.3333`` , ``12``, ``1.5e-05``."""
    if value is None:
        return "-"
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return "n/a" if math.isnan(value) else ("∞" if value > 0 else "-∞")
    return f"{value:.4g}"


def percent(share: Optional[float]) -> str:
    """A traffic share already in percent (a weight): ``5`` -> ``5%``."""
    return "-" if share is None else f"{number(float(share))}%"


def ratio_percent(ratio: Optional[float]) -> str:
    """A ratio 0..1 as percent: ``0.0034`` -> ``0.34%``."""
    return "-" if ratio is None else f"{number(ratio * 100.0)}%"


def seconds_text(seconds: Optional[float]) -> str:
    """A latency: ``0.4975`` -> ``497.5 ms``, ``1.5`` -> ``1.5 s``."""
    if seconds is None:
        return "-"
    if isinstance(seconds, float) and (math.isnan(seconds) or math.isinf(seconds)):
        return number(seconds)
    return f"{number(seconds * 1000.0)} ms" if abs(seconds) < 1 else f"{number(seconds)} s"


def metric_value(value: Optional[float], kind: Optional[str]) -> str:
    """A metric's value in its unit: percent for error ratios, ms/s for latencies."""
    if value is None:
        return "-"
    if kind == ERROR_RATE:
        return ratio_percent(value)
    if kind == LATENCY:
        return seconds_text(value)
    return number(value)


# ---------------------------------------------------------------------------- bounds

_NUM = r"[0-9]+(?:\.[0-9]+)?(?:e-?[0-9]+)?"
_ABSOLUTE = re.compile(rf"^(<=|<|>=|>)\s*({_NUM})(s?)$")
_RELATIVE = re.compile(rf"^(<=|<)\s*({_NUM})\s*x\s*stable(?:\s*\(({_NUM})(s?)\))?$")


def bound_phrase(bound: Optional[str], kind: Optional[str]) -> str:
    """A bound in its value's unit.

    ``<= 0.02`` -> ``<= 2%`` (error rate); ``<= 0.5s`` -> ``<= 500 ms`` (latency);
    ``<= 1.5 x stable (0.007425s)`` -> ``<= 1.5 × stable (7.425 ms)``; several bounds joined
    by `` and `` are each reworded. A statistical bound (``ratio <= 1.1 (alpha 0.05)``)
    and bounds of custom metrics are returned as written.
    """
    if not bound:
        return "-"
    if kind not in (ERROR_RATE, LATENCY):
        return bound.replace(" x stable", " × stable")
    return " and ".join(_one_bound(part.strip(), kind) for part in bound.split(" and "))


def _one_bound(part: str, kind: str) -> str:
    m = _ABSOLUTE.match(part)
    if m:
        return f"{m.group(1)} {metric_value(float(m.group(2)), kind)}"
    m = _RELATIVE.match(part)
    if m:
        text = f"{m.group(1)} {number(float(m.group(2)))} × stable"
        if m.group(3) is not None:
            text += f" ({metric_value(float(m.group(3)), kind)})"
        return text
    return part


def value_scope(judge: Optional[str]) -> str:
    """What a judged value covers: ``over the step so far`` (threshold), ``over the rollout so far``."""
    return _SCOPES.get(judge or "", "")


def breach(metric: str, value: Optional[float], bound: Optional[str], kind: Optional[str], *,
           judge: Optional[str] = None, last_interval: Optional[str] = None) -> str:
    """``error-rate = 100% over the step so far, breached <= 2%; last interval: canary 3/50 errors``.

    ``judge`` (``threshold`` or ``sequential``) names the scope of ``value``; ``last_interval``
    is the analysis's own note on the latest interval (e.g. ``gateway metrics over 2s: canary
    3/50 errors (6%), stable 0/200 (0%)``), labelled so it is never read as the value.
    """
    scope = value_scope(judge)
    text = f"{metric} = {metric_value(value, kind)}" + (f" {scope}," if scope else "")
    if bound:
        text += f" breached {bound_phrase(bound, kind)}"
    elif scope:
        text = text.rstrip(",")
    if last_interval:
        text += f"; last interval: {last_interval}"
    return text


# ---------------------------------------------------------------------------- outcomes, times

def outcome_words(outcome: Optional[str]) -> str:
    """``RolledBack`` -> ``rolled back``; unknown outcomes are split at capitals and lower-cased."""
    if not outcome:
        return "-"
    if outcome in _OUTCOMES:
        return _OUTCOMES[outcome]
    return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", outcome).lower()


def duration(seconds: Optional[float]) -> str:
    """Compact and exact to the second, like kubectl's ages: ``45s``, ``2m05s``, ``1h02m``, ``3d04h``."""
    if seconds is None or (isinstance(seconds, float) and math.isnan(seconds)):
        return "-"
    s = int(round(max(seconds, 0.0)))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h{(s % 3600) // 60:02d}m"
    return f"{s // 86400}d{(s % 86400) // 3600:02d}h"


def at_weight(weight: Optional[float]) -> str:
    """`` at 5% of traffic`` (empty when unknown)."""
    return "" if weight is None else f" at {percent(weight)} of traffic"
