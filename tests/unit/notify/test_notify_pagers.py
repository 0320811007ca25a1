"""PagerDuty (Events API v2) and Microsoft Teams payloads, and how the notifier sends them."""
from __future__ import annotations

import copy
import json
from typing import Any

import pydantic
import pytest

from ripcord.api.models import ReleaseSpec
from ripcord.notify.message import Note as Notification
from ripcord.notify import build_message, msteams_payload, outgoing, pagerduty_events
from ripcord.notify.message import recovered_rollouts
from ripcord.notify.pagerduty import dedup_key, with_routing_key
from tests.webhook_receiver import Receiver
from tests.unit.notify.test_notify_webhooks import BODY, ROLLBACK, STATUS, notifier

SPEC = ReleaseSpec.model_validate({"version": "2.0.0", "template": {"spec": {"containers": []}}})


def _entry(rid: int, outcome: str, *events: str) -> dict[str, Any]:
    return {"id": rid, "version": f"2.0.{rid}", "templateHash": f"h{rid}", "outcome": outcome,
            "startedAt": "2026-11-28T08:00:00Z", "timeline": [{"at": "2026-11-28T08:00:00Z", "event": e}
                                                              for e in ("Started",) + events]}


def test_trigger_on_rollback_with_a_stable_dedup_key_and_the_facts() -> None:
    msg = build_message(BODY, SPEC, ROLLBACK, STATUS)
    [(key, event)] = pagerduty_events(msg)
    assert key == "shop/web/6c1f-uid/3/rollback"
    assert event["event_action"] == "trigger"
    assert event["dedup_key"] == "ripcord/shop/web/6c1f-uid/3"
    assert "routing_key" not in event  # added at send time, from the Secret
    p = event["payload"]
    assert p["summary"] == ("web (shop): 2.0.0 rolled back. Metric at 5% of traffic after 12s: "
                            "error-rate = 20% breached <= 2%. 1.0.0 serves the traffic.")
    assert (p["source"], p["severity"], p["component"], p["group"], p["class"]) == \
        ("shop/web", "error", "web", "shop", "rollback")
    assert p["timestamp"] == "2026-11-28T08:00:12Z"
    d = p["custom_details"]
    assert (d["rolloutId"], d["version"], d["stableVersion"], d["value"], d["bound"], d["weight"]) == \
        (3, "2.0.0", "1.0.0", "20%", "<= 2%", 5)
    assert d["reason"] == "error-rate = 20% breached <= 2%"
    assert "http" not in json.dumps(event)  # no links
    assert with_routing_key(event, " R0UT1NG \n")["routing_key"] == "R0UT1NG"


def test_stall_triggers_the_same_incident_as_a_later_rollback_of_that_rollout() -> None:
    stall = build_message(BODY, SPEC, Notification("stall", 3, "no verdict after 1h: holding at 5%"), STATUS)
    [(_, event)] = pagerduty_events(stall)
    assert event["event_action"] == "trigger" and event["payload"]["severity"] == "warning"
    assert event["dedup_key"] == dedup_key(build_message(BODY, SPEC, ROLLBACK, STATUS), 3)
    assert "no verdict after 1h" in event["payload"]["summary"]


def test_a_manual_abort_pages_nobody() -> None:
    status = copy.deepcopy(STATUS)
    status["history"][0]["outcome"] = "Aborted"
    status["history"][0]["reason"] = {"kind": "Manual", "message": "abort requested", "weight": 5,
                                      "at": "2026-11-28T08:00:12Z"}
    assert pagerduty_events(build_message(BODY, SPEC, ROLLBACK, status)) == []


def test_promotion_resolves_every_rollout_that_did_not_ship_since_the_last_promotion() -> None:
    status = {"stable": {"version": "2.0.5"}, "history": [
        _entry(5, "Promoted", "Promoted"), _entry(4, "RolledBack", "RolledBack"), _entry(3, "Superseded"),
        _entry(2, "Aborted", "Aborted"), _entry(1, "Promoted", "Promoted"), _entry(0, "RolledBack")]}
    msg = build_message(BODY, SPEC, Notification("promotion", 5, "2.0.5 promoted"), status)
    assert msg.recovers == (4, 2)
    assert pagerduty_events(msg) == [
        ("shop/web/6c1f-uid/5/promotion/resolve/4", {"event_action": "resolve", "dedup_key": "ripcord/shop/web/6c1f-uid/4"}),
        ("shop/web/6c1f-uid/5/promotion/resolve/2", {"event_action": "resolve", "dedup_key": "ripcord/shop/web/6c1f-uid/2"}),
    ]


def test_a_held_rollout_promoted_by_hand_resolves_its_own_stall() -> None:
    history = [_entry(7, "Promoted", "NoVerdict", "PromoteRequested", "Promoted"), _entry(6, "Promoted")]
    assert recovered_rollouts(history, 7) == (7,)
    assert recovered_rollouts([_entry(7, "Promoted", "Promoted"), _entry(6, "Promoted")], 7) == ()


def test_nothing_to_page_about_before_or_after_a_rollout() -> None:
    for event in ("pre-rollout", "post-rollout"):
        assert pagerduty_events(build_message(BODY, SPEC, Notification(event, 3, "x"), STATUS)) == []


def test_dedup_key_fits_pagerduty_limit_for_long_names() -> None:
    body = {"metadata": {"namespace": "n" * 63, "name": "r" * 253, "uid": "u" * 36}}
    key = dedup_key(build_message(body, SPEC, ROLLBACK, STATUS), 3)
    assert len(key) <= 255 and key.endswith("/3")
    assert key == dedup_key(build_message(body, SPEC, ROLLBACK, STATUS), 3)


def test_teams_adaptive_card() -> None:
    status = copy.deepcopy(STATUS)
    status["history"][0]["timeline"].append({"at": "2026-11-28T08:00:20Z", "event": "RolledBack",
                                             "message": "see [here](http://evil.example/x)"})
    p = msteams_payload(build_message(BODY, SPEC, ROLLBACK, status))
    assert p["type"] == "message"
    [att] = p["attachments"]
    assert att["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = att["content"]
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.4" and "actions" not in card
    assert card["body"][0]["text"] == "web: 2.0.0 rolled back" and card["body"][0]["color"] == "Attention"
    facts = {f["title"]: f["value"] for f in next(b for b in card["body"] if b["type"] == "FactSet")["facts"]}
    assert facts["Release"] == "shop/web" and facts["Stable"] == "1.0.0" and facts["Outcome"] == "RolledBack"
    assert facts["Reason"] == "Metric: error-rate = 20% breached <= 2%"
    assert (facts["Value"], facts["Bound"], facts["Weight"]) == ("20%", "<= 2%", "5%")
    flat = json.dumps(p, ensure_ascii=False)
    assert "](http" not in flat and "]\u200b(http://evil.example/x)" in flat  # shown as written, not a link
    assert "shop/web/6c1f-uid/3/rollback" in flat


def test_outgoing_per_kind() -> None:
    msg = build_message(BODY, SPEC, ROLLBACK, STATUS)
    assert [k for k, _ in outgoing("generic", msg)] == [msg.key]
    assert outgoing("slack", msg)[0][1]["blocks"]
    assert outgoing("msteams", msg)[0][1]["attachments"]
    assert outgoing("pagerduty", msg)[0][1]["event_action"] == "trigger"


def test_webhook_types_in_the_spec() -> None:
    ok = ReleaseSpec.model_validate({"version": "1", "template": {}, "notifications": [
        {"name": "pd", "url": "https://events.example/v2/enqueue", "type": "pagerduty", "secretRef": "pd-key"},
        {"name": "teams", "url": "https://teams.example/hook", "type": "msteams"}]})
    assert [h.type for h in ok.notifications] == ["pagerduty", "msteams"]
    with pytest.raises(pydantic.ValidationError, match=r"notifications\[pd\]\.secretRef is required with type "
                                                        r"pagerduty"):
        ReleaseSpec.model_validate({"version": "1", "template": {}, "notifications": [
            {"name": "pd", "url": "https://events.example/v2/enqueue", "type": "pagerduty"}]})


def test_notifier_sends_pagerduty_with_the_routing_key_in_the_body(rx: Receiver) -> None:
    results: list[tuple[str, str, str]] = []
    n = notifier(rx, on_result=lambda *a: results.append(a))
    hook = ReleaseSpec.model_validate({"version": "2.0.0", "template": {}, "notifications": [
        {"name": "pd", "url": rx.url + "/hooks/pd", "type": "pagerduty", "secretRef": "pd-key"}]})
    n(BODY, hook, ROLLBACK, STATUS)
    assert n.flush(10)
    n.close()
    [req] = rx.requests
    assert req["json"]["routing_key"] == "tok-shop-pd-key" and req["json"]["event_action"] == "trigger"
    assert "Authorization" not in req["headers"]
    assert results == [("rollback", "pagerduty", "sent")]


def test_pagerduty_without_a_routing_key_fails_without_sending(rx: Receiver) -> None:
    n = notifier(rx)
    n.token_reader = lambda ns, name: None
    hook = ReleaseSpec.model_validate({"version": "2.0.0", "template": {}, "notifications": [
        {"name": "pd", "url": rx.url + "/hooks/pd", "type": "pagerduty", "secretRef": "empty"}]})
    [d] = n.notify(BODY, hook, ROLLBACK, STATUS)
    assert n.send(d) == "failed"
    n.close()
    assert rx.requests == []
