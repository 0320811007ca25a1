"""What a Release's status says about one rollout: outcome, time to the first step, and
how late its analyses ran (pure functions of statuses), and a watch that collects them."""
from __future__ import annotations

import datetime as dt
import logging
import threading
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Optional, cast

log = logging.getLogger(__name__)

Status = Mapping[str, Any]


def _unix(text: Any) -> Optional[float]:
    if not isinstance(text, str) or not text:
        return None
    t = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return (t if t.tzinfo else t.replace(tzinfo=dt.timezone.utc)).timestamp()


def _entry(status: Status, rollout_id: int) -> Optional[Mapping[str, Any]]:
    return next((h for h in status.get("history") or [] if h.get("id") == rollout_id), None)


def outcome(status: Status, rollout_id: int) -> Optional[str]:
    """The rollout's outcome (Promoted, RolledBack, ...), None while it is in flight or unknown."""
    e = _entry(status, rollout_id)
    if e is None or e.get("outcome") in (None, "Progressing"):
        return None
    return str(e["outcome"])


def first_step_delay(status: Status, rollout_id: int, changed_at: float) -> Optional[float]:
    """Seconds from the template change (unix time) to the rollout's first StepStarted."""
    e = _entry(status, rollout_id)
    if e is None:
        return None
    at = next((_unix(t.get("at")) for t in e.get("timeline") or [] if t.get("event") == "StepStarted"), None)
    return None if at is None else at - changed_at


@dataclass(frozen=True)
class AnalysisMark:
    """What one status update says about the analysis clock of the rollout in flight."""

    rollout_id: int
    last_sample_at: float  # status.analysis.lastSampleAt: when the next analysis is counted from
    analysed: bool  # this update recorded an analysis run at last_sample_at (not a step settling)


def mark(status: Status) -> Optional[AnalysisMark]:
    ro, an = status.get("rollout") or {}, status.get("analysis") or {}
    raw = an.get("lastSampleAt")
    # RFC 3339 since the status became readable; unix seconds from operators before that
    last = _unix(raw) if isinstance(raw, str) else None if raw is None else float(raw)
    if not ro or last is None:
        return None
    at = _unix(an.get("at"))
    analysed = at is not None and abs(at - last) < 0.011 and an.get("verdict") not in (None, "Unavailable")
    return AnalysisMark(int(ro["id"]), last, analysed)


def analysis_lateness(marks: Iterable[AnalysisMark], interval_s: float) -> list[float]:
    """How late each analysis ran after it was due (its last sample + the interval), seconds.

    An analysis is due ``interval`` after the last sample (an earlier analysis, or the moment
    the step's weight settled); a later update's run at ``t`` was ``t - due`` late.
    """
    out: list[float] = []
    prev: Optional[AnalysisMark] = None
    for m in marks:
        if prev is not None and m.rollout_id == prev.rollout_id and m.last_sample_at == prev.last_sample_at:
            continue  # another update, same analysis clock
        if prev is not None and m.rollout_id == prev.rollout_id and m.analysed and m.last_sample_at > prev.last_sample_at:
            out.append(m.last_sample_at - (prev.last_sample_at + interval_s))
        prev = m
    return out


@dataclass
class Track:
    """One Release seen through the watch: its latest status and the analysis marks in order."""

    status: dict[str, Any] = field(default_factory=dict)
    marks: list[AnalysisMark] = field(default_factory=list)


class ReleaseWatch:
    """Watches the benchmark's Releases (one stream, as the admin) in a daemon thread.

    ``requests`` counts the API requests it made (to subtract them from the API server's).
    """

    def __init__(self, api_client: Any, label_selector: str) -> None:
        self.api_client = api_client
        self.selector = label_selector
        self.tracks: dict[tuple[str, str], Track] = {}
        self.requests = 0
        self.lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None

    def start(self) -> "ReleaseWatch":
        self._thread = threading.Thread(target=self._run, daemon=True, name="release-watch")
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=15)

    def status(self, namespace: str, name: str) -> dict[str, Any]:
        with self.lock:
            t = self.tracks.get((namespace, name))
            return dict(t.status) if t else {}

    def marks(self, namespace: str, name: str) -> list[AnalysisMark]:
        with self.lock:
            t = self.tracks.get((namespace, name))
            return list(t.marks) if t else []

    def _record(self, obj: Mapping[str, Any]) -> None:
        meta, status = obj.get("metadata") or {}, obj.get("status") or {}
        key = (meta.get("namespace", ""), meta.get("name", ""))
        m = mark(status)
        with self.lock:
            t = self.tracks.setdefault(key, Track())
            t.status = dict(status)
            if m is not None and (not t.marks or t.marks[-1] != m):
                t.marks.append(m)

    def _run(self) -> None:
        from kubernetes import client, watch

        from ripcord.api.models import GROUP, PLURAL, VERSION

        custom = client.CustomObjectsApi(self.api_client)
        rv = ""
        while not self._stop.is_set():
            try:
                if not rv:
                    self.requests += 1
                    lst = cast(dict[str, Any], custom.list_cluster_custom_object(
                        GROUP, VERSION, PLURAL, label_selector=self.selector, _request_timeout=60))
                    for item in lst.get("items") or []:
                        self._record(item)
                    rv = lst["metadata"]["resourceVersion"]
                self.requests += 1
                w = watch.Watch()  # type: ignore[no-untyped-call]
                events = w.stream(custom.list_cluster_custom_object, GROUP, VERSION, PLURAL,  # type: ignore[no-untyped-call]
                                  label_selector=self.selector, resource_version=rv, timeout_seconds=20,
                                  _request_timeout=40)
                for ev in events:
                    obj = ev["object"]
                    if ev["type"] == "ERROR":
                        rv = ""  # 410 Gone: list again
                        break
                    rv = obj["metadata"]["resourceVersion"]
                    if ev["type"] in ("ADDED", "MODIFIED"):
                        self._record(obj)
                    if self._stop.is_set():
                        w.stop()  # type: ignore[no-untyped-call]
                        break
            except Exception as e:  # noqa: BLE001 - a broken stream is listed again
                log.warning("release watch: %s", e)
                rv = ""
                self._stop.wait(1)
