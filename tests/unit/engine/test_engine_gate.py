"""The built-in pre-traffic gate: requests to the canary's own Service before its weight leaves 0."""
from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from ripcord.api.models import GateRequest
from ripcord.engine.calls import Reply
from ripcord.engine.gate import judge, status_matches
from ripcord.engine.reads import plan_reads
from tests.unit.engine.sim import World, gateway_spec, installed, passing, spec, start_rollout

HEALTH_BUG = "TypeError: Cannot read property 'toString' of undefined"
GATE = {"requests": [{"path": "/health"}, {"path": "/api/status", "expect": ["200", "3xx"]}],
        "successes": 3, "interval": "1s", "timeout": "2s"}


def like_2_0_0(w: World, r: GateRequest) -> Reply:
    """The seed incident's 2.0.0: /health and /api/status answer 500 on every call."""
    return Reply(status=500, latency_ms=3.0, body_head=HEALTH_BUG if r.path == "/health" else "Error: Database")


def healthy(w: World, r: GateRequest) -> Reply:
    return Reply(status=200, latency_ms=4.0, body_head='{"ok": true}')


def gated(make_spec: Any = spec, reply: Any = healthy, **gate: Any) -> World:
    w = installed(make_spec("1.0.0", gate={**GATE, **gate}), analysis=passing, gate_reply=reply)
    start_rollout(w)
    w.tick()  # the rollout starts
    return w


def weights_asked(w: World) -> set[int]:
    return {p.traffic.weight for p in w.plans if p.traffic is not None and p.traffic.canary_slot is not None}


@pytest.mark.parametrize("make_spec", [spec, gateway_spec], ids=["replicas", "gateway-api"])
def test_a_canary_like_2_0_0_is_rolled_back_by_the_gate_before_any_weight(make_spec: Any) -> None:
    w = gated(make_spec, like_2_0_0)
    w.run_until(lambda w: w.status.rollout is None, 120)
    entry = w.status.history[0]
    assert entry.outcome == "RolledBack" and entry.weight_reached == 0 and entry.step_reached == 0
    assert weights_asked(w) == {0}, "the canary's weight never left 0"
    reason = entry.reason
    assert reason is not None and reason.kind == "Gate" and reason.weight == 0
    assert reason.message.startswith("pre-traffic gate: GET /health answered 500 in 3 ms (expected 2xx): ")
    assert HEALTH_BUG in reason.message and reason.metric == "GET /health" and reason.value == 500
    events = [t.event for t in entry.timeline]
    assert events.index("GateStarted") < events.index("RollingBack") and "StepStarted" not in events
    started = next(t for t in entry.timeline if t.event == "GateStarted")
    decided = next(t for t in entry.timeline if t.event == "RollingBack")
    assert w.status.stalled_template_hash == entry.template_hash, "stays rolled back like any rollback"
    assert (dt.datetime.fromisoformat(decided.at.replace("Z", "+00:00"))
            - dt.datetime.fromisoformat(started.at.replace("Z", "+00:00"))).total_seconds() <= 1.0, \
        "the first round goes out on the reconcile right after the canary is Ready"
    assert len(w.gate_rounds) == 1, "one failed round rolls back (failures: 1)"


def test_the_gate_passes_after_successes_rounds_in_a_row_then_the_first_step_starts() -> None:
    w = gated()
    w.run_until(lambda w: w.ro is not None and w.ro.weight > 0, 60)
    assert len(w.gate_rounds) == 3 and [g.round for g in w.gate_rounds] == [1, 2, 3]
    gate = w.ro.gate  # type: ignore[union-attr]
    assert gate is not None and gate.passed_at == w.ro.step_started_at, \
        "the first weight in the very decision that passed the gate"  # type: ignore[union-attr]
    assert w.ro.weight == 5  # type: ignore[union-attr]
    passed = [t for t in w.status.history[0].timeline if t.event == "GatePassed"]
    assert passed and "GET /health answered 200" in passed[0].message
    w.run_until(lambda w: w.status.rollout is None, 600)
    assert w.status.history[0].outcome == "Promoted" and "GatePassed" in w.events()
    assert len(w.gate_rounds) == 3, "no round after the gate passed"


def test_rounds_are_sent_once_per_interval_not_on_every_tick() -> None:
    w = gated(interval="2s")
    w.run_until(lambda w: w.ro is not None and w.ro.gate is not None and w.ro.gate.passed_at is not None, 60,
                every=0.25)
    times = [r.round for r in w.gate_rounds]
    assert times == [1, 2, 3]
    gate = w.ro.gate  # type: ignore[union-attr]
    assert gate is not None and gate.rounds == 3


def test_a_failed_round_under_the_failure_threshold_starts_the_count_over() -> None:
    answers = iter([200, 200, 503, 200, 200, 200] + [200] * 20)
    state: dict[str, int] = {}

    def flaky(w: World, r: GateRequest) -> Reply:
        rnd = len(w.gate_rounds)
        if rnd not in state:
            state[rnd] = next(answers)
        return Reply(status=state[rnd], latency_ms=2.0)

    w = gated(reply=flaky, failures=2)
    w.run_until(lambda w: w.ro is not None and w.ro.weight > 0, 60)
    assert len(w.gate_rounds) == 6, "3 in a row after the failed round, not 3 in all"
    entry = w.status.history[0]
    assert [t.event for t in entry.timeline].count("GateRoundFailed") == 1


def test_a_canary_that_cannot_be_reached_never_passes_the_gate() -> None:
    w = gated(reply=lambda w, r: Reply(error="connection refused", latency_ms=1.0))
    w.run_until(lambda w: w.status.rollout is None, 60)
    reason = w.status.history[0].reason
    assert reason is not None and reason.kind == "Gate"
    assert reason.message == "pre-traffic gate: GET /health got no answer: connection refused"
    assert weights_asked(w) == {0}


def test_an_operator_without_a_way_to_call_fails_the_gate_too() -> None:
    w = gated(reply=None)
    w.gate_reply = None
    w.run_until(lambda w: w.status.rollout is None, 60)
    assert w.status.history[0].outcome == "RolledBack"


def test_a_slow_answer_fails_its_latency_bound() -> None:
    w = installed(spec("1.0.0", gate={"requests": [{"path": "/health", "maxLatency": "100ms"}]}),
                  analysis=passing, gate_reply=lambda w, r: Reply(status=200, latency_ms=450.0))
    start_rollout(w)
    w.tick()
    w.run_until(lambda w: w.status.rollout is None, 60)
    reason = w.status.history[0].reason
    assert reason is not None and reason.message == \
        "pre-traffic gate: GET /health answered 200 in 450 ms, slower than 100ms"


def test_the_gate_waits_for_a_ready_canary_and_reads_nothing_before() -> None:
    w = installed(spec("1.0.0", gate=GATE), analysis=passing, gate_reply=healthy, unready={"b"})
    start_rollout(w)
    w.run_for(20)
    assert w.gate_rounds == [] and w.ro is not None and w.ro.gate is None
    assert plan_reads(w.status, w.spec, w.now, "demo").gate is None


def test_a_restarted_operator_sends_the_next_round_not_the_last_one_again() -> None:
    w = gated(interval="5s")
    w.run_until(lambda w: len(w.gate_rounds) == 1 and w.ro.gate.rounds == 1, 60)  # type: ignore[union-attr]
    w2 = w.restarted()
    w2.tick(1.0)
    assert len(w2.gate_rounds) == 1, "the interval is kept across the restart"
    w2.run_until(lambda w: len(w.gate_rounds) == 2, 10)
    assert w2.gate_rounds[-1].round == 2


def test_a_round_whose_answer_was_never_recorded_is_sent_again() -> None:
    w = gated(interval="5s")
    w.run_until(lambda w: w.ro is not None and w.ro.gate is not None, 60)
    w.observe()  # a reconcile sends round 1 and dies before its status write (or the write conflicts)
    assert len(w.gate_rounds) == 1 and w.ro.gate.rounds == 0  # type: ignore[union-attr]
    w.tick()
    assert [g.round for g in w.gate_rounds] == [1, 1], "the same round again: its answer was never recorded"
    assert w.ro.gate.rounds == 1  # type: ignore[union-attr]


def test_the_next_wake_is_the_next_round() -> None:
    w = gated(interval="3s")
    w.run_until(lambda w: w.ro is not None and w.ro.gate is not None and w.ro.gate.rounds == 1, 60)
    due = w.plans[-1].next_due
    assert due is not None and due <= w.now + dt.timedelta(seconds=3)


@pytest.mark.parametrize("status,expect,ok", [
    (200, ["2xx"], True), (204, ["2xx"], True), (302, ["2xx"], False), (302, ["2xx", "3xx"], True),
    (404, ["404"], True), (500, ["200"], False), (500, ["5xx"], True), (200, ["201"], False)])
def test_expected_codes_and_classes(status: int, expect: list[str], ok: bool) -> None:
    assert status_matches(status, expect) is ok


def test_the_message_shows_the_first_bytes_of_the_body_on_one_line() -> None:
    check = judge(GateRequest(path="/x"), Reply(status=503, latency_ms=12.4, body_head="upstream\n  down " + "x" * 400))
    assert not check.passed and check.status == 503
    assert check.message.startswith("GET /x answered 503 in 12 ms (expected 2xx): 'upstream down xxx")
    assert len(check.message) < 200
