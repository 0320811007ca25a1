"""When to reconcile again without being woken: the rollout's own clock.

Everything that changes the world wakes a Release through the watches (its spec, its
Deployments, pods, Services, route, the ConfigMaps and Secrets it references). What no
watch reports is time passing: an analysis falling due, a step's minimum duration, a
readiness deadline, the end of the watch, ``maxDuration``, an undelivered outbox item. This
module names the earliest of those. At rest nothing is timed: the slow resync (the edge's
setting) is the only timer.
"""
from __future__ import annotations

import datetime as dt
from typing import Iterable, Optional

from ripcord.api.models import ReleaseSpec, ReleaseStatus, parse_duration
from ripcord.engine import gating
from ripcord.engine.observed import Observed
from ripcord.engine.reads import analysis_due_at
from ripcord.engine.timefmt import parse_iso

#: While a rollout runs, wake at least this often even if nothing is timed sooner (belt and
#: braces: every read is from the watch-fed caches, so an idle tick costs no API request).
ROLLOUT_HEARTBEAT_S = 10.0
#: Undelivered outbox items are retried this often.
OUTBOX_RETRY_S = 5.0


def next_due(status: ReleaseStatus, spec: Optional[ReleaseSpec], obs: Observed) -> Optional[dt.datetime]:
    """The earliest future time something is due for ``status`` (as just decided), or None."""
    now = obs.now
    times: list[dt.datetime] = []
    if status.outbox:
        times.append(now + dt.timedelta(seconds=OUTBOX_RETRY_S))
    ro = status.rollout
    if spec is not None:
        times.extend(gating.times(status, spec, now))  # gate rounds, webhook calls (post-rollout ones at rest too)
    if spec is None or ro is None:
        return min(times) if times else None
    times.append(now + dt.timedelta(seconds=ROLLOUT_HEARTBEAT_S))
    times.extend(_rollout_times(status, spec))
    if obs.health.next_deadline is not None:
        times.append(obs.health.next_deadline)
    # A time already past was acted on in this decision (or waits for something a watch reports).
    return min(t for t in times if t > now)


def _rollout_times(status: ReleaseStatus, spec: ReleaseSpec) -> Iterable[dt.datetime]:
    ro = status.rollout
    assert ro is not None
    a = spec.analysis
    due = analysis_due_at(status, spec)
    if due is not None:
        yield dt.datetime.fromtimestamp(due, dt.timezone.utc)
    if ro.state == "Progressing":
        yield parse_iso(ro.step_started_at) + dt.timedelta(seconds=parse_duration(a.pod_health.ready_deadline))
        if ro.settled_at is not None:
            yield parse_iso(ro.settled_at) + dt.timedelta(seconds=parse_duration(a.step_duration))
        if not ro.held:
            yield parse_iso(ro.started_at) + dt.timedelta(seconds=parse_duration(a.max_duration))
        an = status.analysis
        if an is not None and an.unavailable_since:
            yield parse_iso(an.unavailable_since) + dt.timedelta(seconds=parse_duration(a.metrics_unavailable_limit))
    if ro.state == "Watching" and status.watch_until:
        yield parse_iso(status.watch_until)
