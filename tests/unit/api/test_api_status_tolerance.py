"""A status written by a newer Ripcord never breaks an older one (issue 11, item 3).

Rolling the operator back after an upgrade: unknown fields are ignored, unknown enum
values are kept (and written back as they were), and only what this version would act
on wrongly (an unknown rollout state or slot, an unreadable value) stops the Release.
"""
from __future__ import annotations

import copy
from typing import Any

import pytest

from ripcord.api import limits
from ripcord.api.models import ReleaseStatus
from ripcord.api.status import NEWER, parse_status
from tests.unit.api.status_samples import status


def test_this_version_s_status_parses_unchanged() -> None:
    raw = status()
    parsed = parse_status(raw)
    assert parsed.newer is None and parsed.unknown_values == ()
    assert parsed.status.wire() == raw


@pytest.mark.parametrize("raw", [None, {}])
def test_no_status_yet(raw: Any) -> None:
    parsed = parse_status(raw)
    assert parsed.newer is None and parsed.status == ReleaseStatus()


def test_unknown_fields_are_ignored_everywhere() -> None:
    raw = status(shards={"n": 3}, mailbox=[{"id": "x"}])
    raw["rollout"]["fence"] = "lease-7"
    raw["history"][0]["timeline"][0]["actor"] = "operator-2"
    raw["conditions"][0]["severity"] = "Info"
    parsed = parse_status(raw)
    assert parsed.newer is None
    assert parsed.status.rollout is not None and parsed.status.rollout.id == 2
    assert "shards" not in parsed.status.wire()


def test_an_unknown_history_outcome_is_kept_and_written_back_as_it_was() -> None:
    raw = status()
    raw["history"][1]["outcome"] = "Quarantined"
    raw["history"][1]["reason"] = {"kind": "SloBurn", "message": "burn rate 14x", "at": "2026-06-01T11:00:00Z"}
    parsed = parse_status(raw)
    assert parsed.newer is None, "history is not acted on: the Release keeps working"
    assert parsed.status.history[1].outcome == "Quarantined"
    assert parsed.status.wire()["history"][1]["reason"]["kind"] == "SloBurn"
    assert "status.history[1].outcome = 'Quarantined'" in parsed.unknown_values


def test_an_unknown_verdict_is_kept() -> None:
    raw = status()
    raw["analysis"]["verdict"] = "Degraded"
    raw["analysis"]["metrics"][0]["verdict"] = "Degraded"
    parsed = parse_status(raw)
    assert parsed.newer is None and parsed.status.analysis is not None
    assert parsed.status.analysis.verdict == "Degraded"


def test_an_unknown_rollout_state_stops_the_release_with_a_clear_message() -> None:
    raw = status()
    raw["rollout"]["state"] = "Mirroring"
    parsed = parse_status(raw)
    assert parsed.newer is not None and parsed.newer.startswith(NEWER)
    assert "status.rollout.state = 'Mirroring'" in parsed.newer
    assert parsed.status.rollout is not None and parsed.status.rollout.state == "Mirroring"
    assert parsed.status.wire()["rollout"] == raw["rollout"], "written back as it was"


@pytest.mark.parametrize("role", ["stable", "canary"])
def test_an_unknown_slot_stops_the_release(role: str) -> None:
    raw = status()
    raw[role]["slot"] = "c"
    parsed = parse_status(raw)
    assert parsed.newer is not None and f"status.{role}.slot = 'c'" in parsed.newer


def test_a_value_of_another_type_is_dropped_and_stops_the_release() -> None:
    raw = status()
    raw["rollout"]["weight"] = {"asked": 20, "served": 19.5}
    parsed = parse_status(raw)
    assert parsed.newer is not None and "status.rollout.weight is unreadable" in parsed.newer
    assert parsed.status.rollout is not None and parsed.status.rollout.id == 2


def test_a_missing_required_field_drops_what_holds_it() -> None:
    raw = status()
    del raw["history"][1]["templateHash"]
    parsed = parse_status(raw)
    assert [h.id for h in parsed.status.history] == [2]
    assert parsed.newer is not None and "status.history[1]" in parsed.newer


def test_longer_lists_and_texts_than_this_version_keeps_are_cut_not_refused() -> None:
    raw = status()
    raw["history"] = [dict(copy.deepcopy(raw["history"][1]), id=100 - i) for i in range(35)]
    raw["message"] = "m" * 100_000
    parsed = parse_status(raw)
    assert parsed.newer is None
    assert len(parsed.status.history) == limits.HISTORY_MAX and parsed.status.history[0].id == 100
    assert parsed.status.message is not None and len(parsed.status.message) == limits.STATUS_MESSAGE_MAX


@pytest.mark.parametrize("raw", ["Progressing", 7, [1, 2], {"rollout": "yes"}, {"history": "none"},
                                 {"conditions": [{"type": "Ready"}]}, {"observedGeneration": "three"}])
def test_any_json_value_parses_without_raising(raw: Any) -> None:
    parsed = parse_status(raw)
    assert isinstance(parsed.status, ReleaseStatus)


def test_a_status_nested_too_deep_is_not_acted_on() -> None:
    deep: Any = "x"
    for _ in range(5000):
        deep = {"k": deep}
    parsed = parse_status({"analysis": {"judgeState": deep}})
    assert parsed.newer is not None and "nested too deep" in parsed.newer


def test_the_message_is_bounded() -> None:
    raw = status()
    raw["history"] = [{"id": i, "outcome": "x" * 5000} for i in range(20)]
    parsed = parse_status(raw)
    assert parsed.newer is not None and len(parsed.newer) <= limits.SPEC_PROBLEM_MAX


def test_the_engine_stops_acting_and_keeps_the_newer_status_as_it_was() -> None:
    """The call observe makes: a newer status is an Observed with spec_error_reason NewerStatus."""
    from ripcord.engine.decide import decide
    from ripcord.engine.observed import Observed
    from tests.unit.api.status_samples import NOW

    raw = status()
    raw["rollout"]["state"] = "Mirroring"
    raw["history"][1]["outcome"] = "Quarantined"
    parsed = parse_status(raw)
    assert parsed.newer is not None
    plan = decide(Observed(name="web", namespace="shop", now=NOW, generation=3, status=parsed.status, spec=None,
                           spec_error=parsed.newer, spec_error_reason="NewerStatus"))
    assert plan.act is False and plan.slots == () and plan.traffic is None
    stalled = next(c for c in plan.status.conditions if c.type == "Stalled")
    assert (stalled.status, stalled.reason) == ("True", "NewerStatus") and stalled.message == parsed.newer
    wire = plan.status.wire()
    assert wire["rollout"] == raw["rollout"] and wire["history"] == raw["history"], "nothing of it is lost"
    assert [i.reason for i in plan.status.outbox if i.kind == "Event"] == ["NewerStatus"]


def test_a_status_from_before_compact_machine_state_reads_and_is_written_compact() -> None:
    """Older versions stored unix seconds and the judge's state as a map: both still read, and are
    written back as RFC 3339 and one compact line (kubectl describe stays short)."""
    raw = status()
    raw["analysis"]["lastSampleAt"] = 1780315170.0
    raw["analysis"]["judgeState"] = {"v": 1, "steps": {"error-rate": {"c": [10, 1]}}}
    parsed = parse_status(raw)
    assert parsed.newer is None and parsed.status.analysis is not None
    assert parsed.status.analysis.last_sample_at == 1780315170.0
    assert parsed.status.analysis.judge_state == raw["analysis"]["judgeState"]
    wire = parsed.status.wire()["analysis"]
    assert wire["lastSampleAt"] == "2026-06-01T11:59:30.000Z"
    assert isinstance(wire["judgeState"], str) and "\n" not in wire["judgeState"]
    assert parse_status({**raw, "analysis": wire}).status.analysis.judge_state == raw["analysis"]["judgeState"]
