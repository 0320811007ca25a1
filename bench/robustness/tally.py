"""Pure scoring of the chaos and outage runs: plans in, figures out (unit-tested).

What counts, from what the cluster recorded (``status.history``) and what the webhook
receiver got (deliveries per idempotency key):

* **wrong outcome**: a bad version promoted, or a good one not promoted (rolled back for
  any reason, or ended otherwise);
* **lost history**: a rollout the bench started (a version it applied) with no history
  entry, or whose entry never reached a final outcome;
* **lost notification**: an expected delivery (``pre-rollout`` for every rollout,
  ``promotion`` and ``post-rollout`` for a promoted one, ``rollback`` for one rolled back)
  that never reached the receiver; **duplicates** count every delivery beyond the first;
* **promotion without evidence**: a promotion decided while Prometheus could not answer.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import random
from typing import Any, Iterator, Mapping, Optional, Sequence

FINAL = frozenset({"Promoted", "RolledBack", "Superseded", "Aborted", "Failed"})
EVENTS_OF_OUTCOME = {"Promoted": ("promotion", "post-rollout"), "RolledBack": ("rollback",),
                     "Failed": ("rollback",), "Aborted": ("rollback",)}
BAD_KINDS = ("errors", "crash")


@dataclasses.dataclass(frozen=True)
class Planned:
    """One rollout the bench will start: a version label, and whether (and how) it is bad."""

    release: str
    version: str
    bad: bool
    kind: str = "good"  # good | errors (5xx on a share of requests) | crash (exits after a few seconds)


def plan_rollouts(seed: int, releases: Sequence[str], per_release: int) -> list[list[Planned]]:
    """``per_release`` rollouts for each Release, half of all of them bad (seeded order and kinds).

    Versions are ``3.<release index>.<n>``: unique, and never the demo app's built-in bad 2.0.0.
    """
    rng = random.Random(seed)
    total = len(releases) * per_release
    flags = [True] * (total // 2) + [False] * (total - total // 2)
    rng.shuffle(flags)
    plans: list[list[Planned]] = []
    for i, name in enumerate(releases):
        row = []
        for n in range(per_release):
            bad = flags[i * per_release + n]
            kind = rng.choice(BAD_KINDS) if bad else "good"
            row.append(Planned(name, f"3.{i}.{n + 1}", bad, kind))
        plans.append(row)
    return plans


def kill_gaps(seed: int, low_s: float, high_s: float) -> Iterator[float]:
    """Seconds between two SIGKILLs: uniform in [low, high], an endless seeded stream."""
    rng = random.Random(seed ^ 0x5EED)
    while True:
        yield rng.uniform(low_s, high_s)


def entry_for(history: Sequence[Mapping[str, Any]], version: str) -> Optional[Mapping[str, Any]]:
    """The newest history entry of ``version`` (the bench never applies a version twice)."""
    return next((h for h in history if h.get("version") == version), None)


def expected_keys(namespace: str, name: str, uid: str, entry: Mapping[str, Any]) -> list[str]:
    """The idempotency keys the operator should have delivered for one history entry."""
    rid = entry["id"]
    events = ("pre-rollout",) + EVENTS_OF_OUTCOME.get(str(entry.get("outcome")), ())
    return [f"{namespace}/{name}/{uid or '-'}/{rid}/{event}" for event in events]


@dataclasses.dataclass
class ChaosScore:
    rollouts: int = 0
    wrong_outcomes: int = 0
    lost_history: int = 0
    expected_notifications: int = 0
    lost_notifications: int = 0
    duplicate_notifications: int = 0
    outcomes: dict[str, int] = dataclasses.field(default_factory=dict)  # "bad errors -> RolledBack": n
    lost_by_event: dict[str, int] = dataclasses.field(default_factory=dict)
    wrong: list[str] = dataclasses.field(default_factory=list)  # one line per wrong outcome


def score(planned: Sequence[Planned], namespace: str, histories: Mapping[str, Sequence[Mapping[str, Any]]],
          uids: Mapping[str, str], received: Mapping[str, int]) -> ChaosScore:
    """Score the rollouts the bench started against the final statuses and the deliveries."""
    s = ChaosScore()
    for p in planned:
        s.rollouts += 1
        entry = entry_for(histories.get(p.release, ()), p.version)
        outcome = str(entry.get("outcome")) if entry else "missing"
        label = f"{'bad ' + p.kind if p.bad else 'good'} -> {outcome}"
        s.outcomes[label] = s.outcomes.get(label, 0) + 1
        if entry is None or outcome not in FINAL:
            s.lost_history += 1
            continue
        if (p.bad and outcome == "Promoted") or (not p.bad and outcome != "Promoted"):
            s.wrong_outcomes += 1
            reason = (entry.get("reason") or {}).get("message", "")
            s.wrong.append(f"{p.release} {p.version} ({label}): {reason}"[:300])
        for key in expected_keys(namespace, p.release, uids.get(p.release, ""), entry):
            s.expected_notifications += 1
            n = received.get(key, 0)
            if n == 0:
                s.lost_notifications += 1
                event = key.rsplit("/", 1)[1]
                s.lost_by_event[event] = s.lost_by_event.get(event, 0) + 1
            else:
                s.duplicate_notifications += n - 1
    return s


# ------------------------------------------------------------------------------ outage

def parse_time(text: str) -> float:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


@dataclasses.dataclass(frozen=True)
class Promotion:
    """A rollout's promotion as recorded: when it was decided, and the analysis it was decided on."""

    release: str
    rollout_id: int
    at: float  # the Promoting timeline event (unix seconds)
    verdict: Optional[str]  # status.analysis.verdict seen while Promoting (None: not seen)
    analysis_at: Optional[float]  # status.analysis.at seen while Promoting


def promoting_time(entry: Mapping[str, Any]) -> Optional[float]:
    """When a history entry's rollout started its promotion (its ``Promoting`` timeline event)."""
    for t in entry.get("timeline") or []:
        if t.get("event") == "Promoting" and t.get("at"):
            return parse_time(str(t["at"]))
    return None


def without_evidence(p: Promotion, blind: Sequence[tuple[float, float]]) -> bool:
    """Whether a promotion was decided without metrics: while Prometheus could not answer.

    ``blind`` are the windows in which no analysis could have read Prometheus (the outage,
    from one analysis deadline after it began). A promotion decided inside one, or on an
    analysis that is not a Pass or that was taken inside one, had no evidence.
    """
    def inside(t: Optional[float]) -> bool:
        return t is not None and any(a <= t <= b for a, b in blind)

    if inside(p.at) or inside(p.analysis_at):
        return True
    return p.verdict is not None and p.verdict != "Pass"
