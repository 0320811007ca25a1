"""Percentiles and histogram quantiles (pure)."""
from __future__ import annotations

import math
from typing import Iterable, Optional, Sequence


def percentile(values: Iterable[float], q: float) -> Optional[float]:
    """The ``q``-th percentile (0..100) with linear interpolation between closest ranks
    (numpy's default "linear" method); None for no values."""
    if not 0 <= q <= 100:
        raise ValueError(f"percentile {q} is outside 0..100")
    xs = sorted(values)
    if not xs:
        return None
    pos = (len(xs) - 1) * q / 100.0
    lo, hi = math.floor(pos), math.ceil(pos)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def histogram_quantile(q: float, buckets: Sequence[tuple[float, float]]) -> Optional[float]:
    """Prometheus' ``histogram_quantile``: ``q`` (0..1) of cumulative ``(le, count)`` buckets
    (the last one ``+Inf``), interpolated linearly inside a bucket; None with no observations.

    A quantile in the ``+Inf`` bucket is the highest finite bound, as in Prometheus.
    """
    if not 0 <= q <= 1:
        raise ValueError(f"quantile {q} is outside 0..1")
    bs = sorted(buckets)
    if not bs or not math.isinf(bs[-1][0]):
        raise ValueError("buckets need a +Inf bucket")
    total = bs[-1][1]
    if total <= 0:
        return None
    rank = q * total
    prev_le, prev_count = 0.0, 0.0
    for le, count in bs:
        if count >= rank:
            if math.isinf(le):
                return bs[-2][0] if len(bs) > 1 else None
            if count == prev_count:
                return le
            return prev_le + (le - prev_le) * (rank - prev_count) / (count - prev_count)
        prev_le, prev_count = le, count
    return bs[-2][0] if len(bs) > 1 else None
