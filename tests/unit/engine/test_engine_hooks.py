"""Gating webhooks with Flagger's meanings: each type holds, rolls back or is told, as its table says."""
from __future__ import annotations

from typing import Any, Callable, Optional

from ripcord.engine.calls import HookRead, Reply
from ripcord.engine.reads import plan_reads
from tests.unit.engine.sim import World, failing, installed, passing, spec, start_rollout

Answer = Callable[[World, HookRead], Reply]


def hook(name: str, type_: str, **over: Any) -> dict[str, Any]:
    return {"name": name, "type": type_, "url": f"http://hooks.test/{name}", "interval": "2s", **over}


def answers(table: dict[str, Any]) -> Answer:
    """Each hook's answer by name: a status, a callable of the world, or None (no answer)."""
    def reply(w: World, h: HookRead) -> Reply:
        got = table.get(h.name, 200)
        got = got(w) if callable(got) else got
        return Reply(status=got, latency_ms=5.0) if got is not None else Reply(error="connection refused")
    return reply


def world(*hooks: dict[str, Any], table: Optional[dict[str, Any]] = None, **spec_over: Any) -> World:
    w = installed(spec("1.0.0", webhooks=list(hooks), **spec_over), analysis=passing,
                  hook_reply=answers(table if table is not None else {}))
    start_rollout(w)
    w.tick()
    return w


def calls(w: World, name: str) -> list[HookRead]:
    return [c for c in w.hook_calls if c.name == name]


def timeline(w: World, event: str) -> list[str]:
    return [t.message for t in w.status.history[0].timeline if t.event == event]


def canary_replicas(w: World) -> int:
    return next(s.replicas for s in w.plans[-1].slots if s.slot == "b")


# ---------------------------------------------------------------- confirm-rollout

def test_confirm_rollout_keeps_the_canary_at_zero_pods_until_it_answers_2xx() -> None:
    gate = {"open": False}
    w = world(hook("approve", "confirm-rollout"), table={"approve": lambda w: 200 if gate["open"] else 403})
    w.run_for(10)
    assert canary_replicas(w) == 0 and w.ro.weight == 0  # type: ignore[union-attr]
    assert w.status.phase == "Waiting" and "confirm-rollout webhook approve" in (w.status.message or "")
    assert 4 <= len(calls(w, "approve")) <= 6, "asked again every interval (2s), not on every tick"
    assert timeline(w, "WebhookWaiting") == ["confirm-rollout webhook approve: answered 403; holding; asking again "
                                             "every 2s"]
    gate["open"] = True
    w.run_until(lambda w: w.ro is not None and w.ro.weight > 0, 30)
    assert canary_replicas(w) > 0
    assert any("confirm-rollout webhook approve: answered 200" in m for m in timeline(w, "WebhookPassed"))
    asked = len(calls(w, "approve"))
    w.run_for(10)
    assert len(calls(w, "approve")) == asked, "a 2xx is final: never asked again in this rollout"


def test_an_unreachable_confirm_rollout_hook_holds_for_ever() -> None:
    w = world(hook("approve", "confirm-rollout"), table={"approve": None})
    w.run_for(60)
    assert canary_replicas(w) == 0 and w.state == "Progressing"
    assert "no answer (connection refused)" in (w.status.message or "")


# ---------------------------------------------------------------- pre-rollout

def test_a_failing_pre_rollout_hook_rolls_back_after_its_retries_before_any_traffic() -> None:
    w = world(hook("smoke", "pre-rollout", retries=2), table={"smoke": 500})
    w.run_until(lambda w: w.status.rollout is None, 60)
    entry = w.status.history[0]
    assert entry.outcome == "RolledBack" and entry.weight_reached == 0
    assert len(calls(w, "smoke")) == 3, "one call and two retries"
    assert [c.attempt for c in calls(w, "smoke")] == [1, 2, 3]
    assert entry.reason is not None and entry.reason.kind == "Webhook" and entry.reason.metric == "smoke"
    assert entry.reason.message == "pre-rollout webhook smoke failed after 3 attempts: answered 500"
    assert timeline(w, "WebhookFailed") == [entry.reason.message]


def test_an_unreachable_pre_rollout_hook_is_never_a_pass() -> None:
    w = world(hook("smoke", "pre-rollout", retries=0), table={"smoke": None})
    w.run_until(lambda w: w.status.rollout is None, 60)
    reason = w.status.history[0].reason
    assert reason is not None and "no answer (connection refused)" in reason.message


def test_pre_rollout_is_called_once_the_canary_is_ready_and_then_traffic_starts() -> None:
    w = installed(spec("1.0.0", webhooks=[hook("smoke", "pre-rollout")]), analysis=passing,
                  hook_reply=answers({}), unready={"b"})
    start_rollout(w)
    w.run_for(10)
    assert calls(w, "smoke") == [], "not before the canary is Ready"
    w.unready.clear()
    w.run_until(lambda w: w.ro is not None and w.ro.weight > 0, 30)
    assert len(calls(w, "smoke")) == 1
    body = calls(w, "smoke")[0].payload
    assert body["phase"] == "pre-rollout" and body["name"] == "demo" and body["rolloutId"] == 2
    assert body["version"] == "2.0.0" and body["canary"]["service"] == "demo-b" and body["weight"] == 0


# ---------------------------------------------------------------- confirm-traffic-increase / promotion

def test_confirm_traffic_increase_holds_before_each_weight() -> None:
    allowed = {"up": 1}
    w = world(hook("ramp", "confirm-traffic-increase"),
              table={"ramp": lambda w: 200 if int(w.hook_calls[-1].key.split("/")[1]) <= allowed["up"] else 409})
    w.run_until(lambda w: w.ro is not None and w.ro.weight == 5, 60)
    w.run_for(40)
    assert w.ro.weight == 5 and w.status.phase == "Waiting"  # type: ignore[union-attr]
    assert "confirm-traffic-increase webhook ramp" in (w.status.message or "")
    allowed["up"] = 9
    w.run_until(lambda w: w.state == "Promoting", 200)
    keys = sorted({c.key for c in calls(w, "ramp")})
    assert keys == [f"confirm-traffic-increase/{i}" for i in (1, 2, 3, 4)], "one question per step"


def test_confirm_promotion_holds_promotion_and_the_analysis_still_rolls_back() -> None:
    w = world(hook("freeze", "confirm-promotion"), table={"freeze": 423})
    w.run_until(lambda w: w.ro is not None and w.ro.weight == 50, 200)
    w.run_for(60)
    assert w.state == "Progressing" and w.status.phase == "Waiting"
    assert calls(w, "freeze") and all(c.key == "confirm-promotion" for c in calls(w, "freeze"))
    w.analysis = failing
    w.run_until(lambda w: w.status.rollout is None, 60)
    assert w.status.history[0].outcome == "RolledBack"


def test_confirm_promotion_lets_promotion_go_once_it_answers_2xx() -> None:
    w = world(hook("freeze", "confirm-promotion"), table={"freeze": lambda w: 200 if w.ro.weight == 50 else 423})
    w.run_until(lambda w: w.status.rollout is None, 400)
    assert w.status.history[0].outcome == "Promoted"


# ---------------------------------------------------------------- rollback

def test_a_rollback_hook_that_answers_2xx_rolls_back() -> None:
    armed = {"on": False}
    w = world(hook("kill", "rollback"), table={"kill": lambda w: 200 if armed["on"] else 404})
    w.run_until(lambda w: w.ro is not None and w.ro.weight == 10, 200)
    armed["on"] = True
    w.run_until(lambda w: w.status.rollout is None, 60)
    entry = w.status.history[0]
    assert entry.outcome == "RolledBack" and entry.reason is not None and entry.reason.kind == "Webhook"
    assert entry.reason.message == "rollback webhook kill asked for it (answered 200)"
    polls = calls(w, "kill")
    assert len(polls) >= 5 and {c.key for c in polls} == {"rollback"}


def test_an_unreachable_rollback_hook_holds_the_weight_until_it_answers() -> None:
    up = {"on": True}
    w = world(hook("kill", "rollback"), table={"kill": lambda w: 404 if up["on"] else None})
    w.run_until(lambda w: w.ro is not None and w.ro.weight == 10, 200)
    up["on"] = False
    w.run_for(60)
    assert w.ro.weight == 10 and w.status.phase == "Waiting"  # type: ignore[union-attr]
    assert "rollback webhook kill gives no answer" in (w.status.message or "")
    assert timeline(w, "WebhookUnreachable")
    up["on"] = True
    w.run_until(lambda w: w.status.rollout is None, 300)
    assert w.status.history[0].outcome == "Promoted" and timeline(w, "WebhookReachable")


# ---------------------------------------------------------------- load-test, post-rollout

def test_load_test_hooks_are_called_at_each_step_with_the_canary() -> None:
    w = world(hook("hey", "load-test", metadata={"cmd": "hey -z 1m"}))
    w.run_until(lambda w: w.status.rollout is None, 400)
    keys = [c.key for c in calls(w, "hey")]
    assert keys == ["load-test/1", "load-test/2", "load-test/3", "load-test/4"]
    first = calls(w, "hey")[0].payload
    assert first["metadata"] == {"cmd": "hey -z 1m"} and first["weight"] == 5 and first["step"] == 1
    assert calls(w, "hey")[0].service == "demo-b"


def test_a_load_test_that_cannot_be_started_rolls_back() -> None:
    w = world(hook("hey", "load-test", retries=1), table={"hey": 503})
    w.run_until(lambda w: w.status.rollout is None, 100)
    reason = w.status.history[0].reason
    assert reason is not None and reason.message == "load-test webhook hey (step 1) failed after 2 attempts: answered 503"


def test_post_rollout_hooks_are_told_the_outcome_and_recorded_in_its_history() -> None:
    w = world(hook("report", "post-rollout"), table={"report": lambda w: 500 if len(calls(w, "report")) < 2 else 200})
    w.run_until(lambda w: w.status.rollout is None, 400)
    w.run_for(10)
    made = calls(w, "report")
    assert len(made) == 2 and {c.rollout_id for c in made} == {2}, "retried once after its 500, then done"
    assert made[0].payload["outcome"] == "Promoted" and made[0].payload["version"] == "2.0.0"
    entry = w.status.history[0]
    assert [t.event for t in entry.timeline][-2:] == ["WebhookWaiting", "WebhookPassed"]
    assert w.plans[-1].next_due is None, "nothing left to ask: at rest, nothing is timed"


def test_post_rollout_after_a_rollback_says_rolled_back() -> None:
    w = installed(spec("1.0.0", webhooks=[hook("report", "post-rollout")]), analysis=failing,
                  hook_reply=answers({}))
    start_rollout(w)
    w.tick()
    w.run_until(lambda w: w.status.rollout is None, 100)
    w.run_for(3)
    [made] = calls(w, "report")
    assert made.payload["outcome"] == "RolledBack" and "reason" in made.payload


def test_a_superseded_rollout_tells_no_post_rollout_hook() -> None:
    w = world(hook("report", "post-rollout"))
    w.run_until(lambda w: w.ro is not None and w.ro.weight == 10, 200)
    start_rollout(w, "2.0.1")
    w.run_for(5)
    assert calls(w, "report") == []


# ---------------------------------------------------------------- restarts, read plan

def test_a_restarted_operator_asks_only_what_has_no_answer_at_its_interval() -> None:
    w = world(hook("approve", "confirm-rollout", interval="10s"), table={"approve": 403})
    w.run_for(3)
    assert len(calls(w, "approve")) == 1
    w2 = w.restarted()
    w2.run_for(5)
    assert len(calls(w2, "approve")) == 1, "the interval holds across the restart"
    w2.run_for(6)
    assert len(calls(w2, "approve")) == 2


def test_nothing_is_asked_at_rest_without_post_rollout_calls() -> None:
    w = installed(spec("1.0.0", webhooks=[hook("kill", "rollback")]), analysis=passing, hook_reply=answers({}))
    assert plan_reads(w.status, w.spec, w.now, "demo").hooks == ()
    assert w.plans[-1].next_due is None


def test_a_confirm_rollout_hook_added_mid_rollout_never_scales_a_serving_canary_down() -> None:
    w = installed(spec("1.0.0"), analysis=passing, hook_reply=answers({"approve": 403}))
    start_rollout(w)
    w.run_until(lambda w: w.ro is not None and w.ro.weight == 10, 200)
    serving = canary_replicas(w)
    w.edit(webhooks=[hook("approve", "confirm-rollout")])
    w.run_for(5)
    assert serving > 0 and canary_replicas(w) == serving and w.ro is not None and w.ro.weight >= 10
