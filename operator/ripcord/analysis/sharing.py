"""One Prometheus query per series family and instant for every Release analysed at that instant.

The built-in metrics read raw counter series at the two ends of an interval. Releases with
the same analysis interval are judged at the same aligned instants (the engine's read plan
ends every interval on a multiple of it), so at each instant every Release that shares a
Prometheus and a metric source asks for the same series family at the same time: the first
one asks for all of them at once (a union selector over every workload recently analysed
with that family), the others take their series from its answer. The answer is shared,
not the judgement: each Release still gets exactly its own series (filtered by namespace
and workload), so the evidence is the same as with a query of its own.

Thread-safe: reconciles run on several threads; a second Release asking for an instant
that is being fetched waits for that answer (within its own deadline) instead of asking
again.
"""
from __future__ import annotations

import collections
import dataclasses
import threading
import time
from typing import Callable, Hashable, Optional, Sequence

from . import queries
from .counters import Labels, Sample
from .prometheus import MetricsUnavailable
from .queries import SourceProfile

#: At most this many answers are kept (an answer is the union of every Release analysed with its
#: family: thousands of series at a thousand Releases); each is kept ``keep_s`` at most, long
#: enough to be the start of the next interval's evidence.
KEPT = 32
#: At most this many instants of single Releases are kept (a few dozen series each).
OWN_KEPT = 4096
#: Workloads per union query (a query string stays well under common URL limits).
CHUNK = 200

Family = tuple[Hashable, SourceProfile, str]  # (Prometheus, source profile, metric name)
Pair = tuple[str, str]  # (namespace, workload)
Ask = Callable[[str, float], list[Sample]]  # (promql, at) -> samples; raises MetricsUnavailable/QueryError


def on_grid(t: float, interval_s: float, tolerance_s: float = 1e-3) -> bool:
    """``t`` is a multiple of ``interval_s`` (unix seconds): an instant every Release with that interval
    is judged at. Off the grid (a step's first analysis, its end) an instant is one Release's own."""
    if interval_s <= 0:
        return False
    return abs(t - round(t / interval_s) * interval_s) < tolerance_s


@dataclasses.dataclass
class _Answer:
    covered: frozenset[Pair]
    expires: float
    done: threading.Event = dataclasses.field(default_factory=threading.Event)
    samples: list[Sample] = dataclasses.field(default_factory=list)
    error: Optional[BaseException] = None


class SharedQueries:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._answers: "collections.OrderedDict[tuple[Family, float], _Answer]" = collections.OrderedDict()
        self._active: dict[Family, dict[Pair, float]] = {}  # who analyses this family, until when
        self.asked = 0  # union queries sent (for tests and the benchmark)
        self._own: "collections.OrderedDict[Hashable, tuple[float, list[Sample]]]" = collections.OrderedDict()

    def own(self, fetch: Callable[[], list[Sample]], key: Hashable, *, keep_s: float) -> list[Sample]:
        """One Release's own series at an instant off the grid, kept ``keep_s``: the end of one analysis
        is the start of the next one's evidence, and is then not asked again."""
        now = self._clock()
        with self._lock:
            kept = self._own.get(key)
            if kept is not None and kept[0] >= now:
                return kept[1]
        samples = fetch()
        with self._lock:
            self._own[key] = (now + keep_s, samples)
            while self._own and (len(self._own) > OWN_KEPT or next(iter(self._own.values()))[0] < now):
                self._own.popitem(last=False)  # oldest first: about the order they expire in
        return samples

    def samples(self, ask: Ask, family: Family, namespace: str, workloads: Sequence[str], at: float, *,
                keep_s: float, wait_s: float) -> list[Sample]:
        """The raw series of ``workloads`` (in ``namespace``) of ``family`` at ``at``.

        ``keep_s``: how long these workloads stay in the family's union (a few intervals);
        ``wait_s``: how long to wait for an answer another Release is fetching.
        """
        wanted = {(namespace, w) for w in workloads}
        now = self._clock()
        key = (family, round(at, 3))
        with self._lock:
            active = self._active.setdefault(family, {})
            for pair in wanted:
                active[pair] = now + keep_s
            for pair in [p for p, until in active.items() if until < now]:
                del active[pair]
            for old in [k for k, a in self._answers.items() if a.expires < now and a.done.is_set()]:
                del self._answers[old]
            answer = self._answers.get(key)
            owner = answer is None or not wanted <= answer.covered
            if owner:
                answer = _Answer(covered=frozenset(active), expires=now + keep_s)
                self._answers[key] = answer
                while len(self._answers) > KEPT:
                    self._answers.popitem(last=False)
            else:
                self._answers.move_to_end(key)
        assert answer is not None
        if owner:
            try:
                answer.samples = self._fetch(ask, family[1], family[2], answer.covered, at)
                with self._lock:
                    self.asked += 1
            except BaseException as e:  # noqa: BLE001 - handed to every waiter, then raised here
                answer.error = e
                with self._lock:
                    self._answers.pop(key, None)  # not kept: the next one asks again
            finally:
                answer.done.set()
        elif not answer.done.wait(wait_s):
            raise MetricsUnavailable(f"Prometheus did not answer within {wait_s:g}s")
        if answer.error is not None:
            raise answer.error
        return [s for s in answer.samples if _belongs(family[1], s.labels, namespace, workloads)]

    @staticmethod
    def _fetch(ask: Ask, profile: SourceProfile, metric: str, pairs: frozenset[Pair], at: float) -> list[Sample]:
        """One query per chunk of workloads, whatever their namespaces (a union: each requester then
        keeps the series of its own namespace and workloads)."""
        ordered = sorted(pairs)
        out: list[Sample] = []
        for i in range(0, len(ordered), CHUNK):
            chunk = ordered[i:i + CHUNK]
            namespaces = sorted({ns for ns, _ in chunk})
            names = sorted({w for _, w in chunk})
            out += ask(queries.raw_series_query(metric, profile, namespaces, names), at)
        return out


def _belongs(profile: SourceProfile, labels: Labels, namespace: str, workloads: Sequence[str]) -> bool:
    ns_labels = {profile.namespace_label, profile.service_namespace_label or profile.namespace_label}
    if not any(labels.get(label) == namespace for label in ns_labels):
        return False
    return queries.workload_of(profile, workloads)(labels) is not None
