"""Scoring of the robustness benchmark's chaos and outage parts (pure)."""
from __future__ import annotations

import itertools

import pytest

from bench.robustness.report import last_line, merge, table
from bench.robustness.tally import (Planned, Promotion, expected_keys, kill_gaps, parse_time, plan_rollouts,
                                    promoting_time, score, without_evidence)

NS, UID = "bench", "u-1"


def test_plan_is_seeded_half_bad_and_unique() -> None:
    plans = plan_rollouts(7, ["c0", "c1", "c2"], 9)
    flat = [p for row in plans for p in row]
    assert len(flat) == 27 and sum(p.bad for p in flat) == 13
    assert len({p.version for p in flat}) == 27 and "2.0.0" not in {p.version for p in flat}
    assert all(p.kind in ("errors", "crash") for p in flat if p.bad)
    assert all(p.kind == "good" for p in flat if not p.bad)
    assert [p.release for p in plans[1]] == ["c1"] * 9
    assert plan_rollouts(7, ["c0", "c1", "c2"], 9) == plans
    assert plan_rollouts(8, ["c0", "c1", "c2"], 9) != plans


def test_kill_gaps_are_seeded_and_bounded() -> None:
    a = list(itertools.islice(kill_gaps(1, 3, 10), 50))
    assert a == list(itertools.islice(kill_gaps(1, 3, 10), 50))
    assert all(3 <= g <= 10 for g in a) and len(set(a)) == 50


def entry(rid: int, version: str, outcome: str, reason: str = "") -> dict:
    return {"id": rid, "version": version, "outcome": outcome, "reason": {"message": reason}}


def keys(rid: int, *events: str, name: str = "c0") -> list[str]:
    return [f"{NS}/{name}/{UID}/{rid}/{e}" for e in events]


def test_expected_keys_follow_the_outcome() -> None:
    assert expected_keys(NS, "c0", UID, entry(2, "v", "Promoted")) == keys(2, "pre-rollout", "promotion", "post-rollout")
    assert expected_keys(NS, "c0", UID, entry(3, "v", "RolledBack")) == keys(3, "pre-rollout", "rollback")
    assert expected_keys(NS, "c0", UID, entry(4, "v", "Superseded")) == keys(4, "pre-rollout")


def test_score_counts_wrong_outcomes_lost_history_and_notifications() -> None:
    planned = [Planned("c0", "3.0.1", False), Planned("c0", "3.0.2", True, "errors"),
               Planned("c0", "3.0.3", True, "crash"), Planned("c0", "3.0.4", False),
               Planned("c0", "3.0.5", False)]
    history = [entry(5, "3.0.4", "Progressing"), entry(4, "3.0.3", "Promoted"),
               entry(3, "3.0.2", "RolledBack", "errors = 0.5"), entry(2, "3.0.1", "Promoted"),
               entry(1, "1.0.0", "Promoted")]
    received = {k: 1 for k in keys(2, "pre-rollout", "promotion", "post-rollout")}
    received.update({keys(3, "pre-rollout")[0]: 3})  # rollback of 3 lost, pre-rollout sent three times
    received.update({k: 1 for k in keys(4, "pre-rollout", "promotion")})  # post-rollout of 4 lost
    s = score(planned, NS, {"c0": history}, {"c0": UID}, received)
    assert s.rollouts == 5
    assert s.wrong_outcomes == 1 and "3.0.3" in s.wrong[0]  # a bad version promoted
    assert s.lost_history == 2  # 3.0.4 never ended, 3.0.5 never appeared
    assert s.expected_notifications == 3 + 2 + 3
    assert s.lost_notifications == 2 and s.lost_by_event == {"rollback": 1, "post-rollout": 1}
    assert s.duplicate_notifications == 2
    assert s.outcomes["bad crash -> Promoted"] == 1 and s.outcomes["good -> missing"] == 1


def test_a_good_version_rolled_back_is_wrong() -> None:
    s = score([Planned("c0", "3.0.1", False)], NS, {"c0": [entry(2, "3.0.1", "RolledBack", "Restarts")]},
              {"c0": UID}, {})
    assert s.wrong_outcomes == 1 and s.lost_notifications == 2


T0 = parse_time("2026-07-01T10:00:00Z")
BLIND = [(T0 + 10, T0 + 40)]


@pytest.mark.parametrize("p, blind", [
    (Promotion("r", 2, T0 + 5, "Pass", T0 + 4), False),   # before the outage, on a pass
    (Promotion("r", 2, T0 + 45, "Pass", T0 + 44), False),  # after it
    (Promotion("r", 2, T0 + 20, "Pass", T0 + 4), True),   # decided during the outage
    (Promotion("r", 2, T0 + 45, "Pass", T0 + 30), True),  # on a pass taken during the outage
    (Promotion("r", 2, T0 + 45, "Unavailable", T0 + 44), True),  # on no pass at all
    (Promotion("r", 2, T0 + 45, None, None), False),  # not seen while promoting: the time decides
])
def test_promotion_without_evidence(p: Promotion, blind: bool) -> None:
    assert without_evidence(p, BLIND) is blind


def test_promoting_time_reads_the_timeline() -> None:
    e = {"timeline": [{"event": "Started", "at": "2026-07-01T10:00:00Z"},
                      {"event": "Promoting", "at": "2026-07-01T10:00:30Z"}]}
    assert promoting_time(e) == T0 + 30
    assert promoting_time({"timeline": []}) is None


def test_report_merges_parts_into_one_json_line() -> None:
    line = last_line(merge([{"chaos_kills": 3}, {"outage_promotions_without_evidence": 0, "chaos_kills": 4}]))
    assert line == '{"chaos_kills": 4, "outage_promotions_without_evidence": 0}'
    assert table("t", [("a", 1), ("long name", 2)]).splitlines()[2:] == ["a          1", "long name  2"]
