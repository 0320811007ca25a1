"""Counters read from a Prometheus text exposition, and their growth between two reads (pure)."""
from __future__ import annotations

import math
from typing import Iterable, Mapping, Sequence

from prometheus_client.parser import text_string_to_metric_families

Key = tuple[str, ...]
Counts = dict[Key, float]


def samples(text: str, name: str) -> list[tuple[dict[str, str], float]]:
    """Every sample called exactly ``name`` (e.g. ``apiserver_request_total``) with its labels.

    Only the lines of that metric are parsed: an API server's /metrics is megabytes.
    """
    lines = [ln for ln in text.splitlines() if ln.startswith(name + "{") or ln.startswith(name + " ")]
    out = []
    for fam in text_string_to_metric_families("\n".join(lines) + "\n"):
        for s in fam.samples:
            if s.name == name:
                out.append((dict(s.labels), float(s.value)))
    return out


def counts(text: str, name: str, keys: Sequence[str], **match: str) -> Counts:
    """``name``'s samples summed by the label values ``keys``, keeping those matching ``match``."""
    out: Counts = {}
    for labels, value in samples(text, name):
        if all(labels.get(k) == v for k, v in match.items()):
            key = tuple(labels.get(k, "") for k in keys)
            out[key] = out.get(key, 0.0) + value
    return out


def total(text: str, name: str, **match: str) -> float:
    return sum(counts(text, name, (), **match).values())


def growth(before: Mapping[Key, float], after: Mapping[Key, float]) -> Counts:
    """Per key, how much a counter grew; a key only in ``after`` grew from 0. A counter that
    went down (its process restarted) counts from 0 too."""
    out: Counts = {}
    for key, value in after.items():
        prev = before.get(key, 0.0)
        out[key] = value - prev if value >= prev else value
    return out


def histogram(text: str, name: str, **match: str) -> list[tuple[float, float]]:
    """Cumulative ``(le, count)`` buckets of histogram ``name`` (without ``_bucket``), summed
    over the other labels."""
    by_le: dict[float, float] = {}
    for labels, value in samples(text, f"{name}_bucket"):
        if all(labels.get(k) == v for k, v in match.items()):
            le = math.inf if labels["le"] in ("+Inf", "Inf") else float(labels["le"])
            by_le[le] = by_le.get(le, 0.0) + value
    return sorted(by_le.items())


def histogram_growth(before: Iterable[tuple[float, float]], after: Iterable[tuple[float, float]]
                     ) -> list[tuple[float, float]]:
    prev = dict(before)
    return [(le, count - prev.get(le, 0.0)) for le, count in after]
