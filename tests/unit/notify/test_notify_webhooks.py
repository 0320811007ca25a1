"""Webhook notifications against a real HTTP receiver on 127.0.0.1 (port 0)."""
from __future__ import annotations

import json
import time
from typing import Any

from ripcord.api.models import ReleaseSpec
from ripcord.config import parse_config
from ripcord.notify.message import Note as Notification
from ripcord.notify import WebhookNotifier, build_message, generic_payload, slack_payload
from tests.webhook_receiver import Receiver


BODY = {"metadata": {"namespace": "shop", "name": "web", "uid": "6c1f-uid"}}
STATUS = {
    "stable": {"slot": "a", "deployment": "web-a", "version": "1.0.0", "templateHash": "h1"},
    "history": [{
        "id": 3, "version": "2.0.0", "templateHash": "h2", "outcome": "RolledBack",
        "startedAt": "2026-11-28T08:00:00Z", "endedAt": "2026-11-28T08:00:20Z", "weightReached": 5,
        "reason": {"kind": "Metric", "message": "error-rate too high", "metric": "error-rate", "value": 0.2,
                   "bound": "<= 0.02", "weight": 5, "at": "2026-11-28T08:00:12Z"},
        "timeline": [{"at": "2026-11-28T08:00:00Z", "event": "Started", "weight": 5, "message": "<b>2.0.0</b>"},
                     {"at": "2026-11-28T08:00:12Z", "event": "RollingBack", "weight": 0, "message": "error-rate"}],
    }],
}
ROLLBACK = Notification("rollback", 3, "2.0.0 rolledback: error-rate too high")


def spec(rx: Receiver, *hooks: dict[str, Any]) -> ReleaseSpec:
    return ReleaseSpec.model_validate({"version": "2.0.0", "template": {"spec": {"containers": []}},
                                       "notifications": list(hooks)})


def notifier(rx: Receiver, **kw: Any) -> WebhookNotifier:
    cfg = parse_config({"webhooks": {"allowedUrls": [rx.url + "/hooks/"]}}, env={})
    kw.setdefault("backoff", 0.01)
    return WebhookNotifier(allowed=cfg.check_webhook_url, token_reader=lambda ns, name: f"tok-{ns}-{name}",
                           **kw).start()


def test_generic_payload_shape(rx: Receiver) -> None:
    results: list[tuple[str, str, str]] = []
    n = notifier(rx, on_result=lambda *a: results.append(a))
    n(BODY, spec(rx, {"name": "ops", "url": rx.url + "/hooks/ops", "secretRef": "hook-token"}), ROLLBACK, STATUS)
    assert n.flush(10)
    n.close()
    [req] = rx.requests
    p = req["json"]
    assert p["event"] == "rollback" and p["source"] == "ripcord"
    assert (p["namespace"], p["release"], p["version"], p["stableVersion"], p["rolloutId"], p["outcome"]) == \
        ("shop", "web", "2.0.0", "1.0.0", 3, "RolledBack")
    assert p["reason"] == {"kind": "Metric", "message": "error-rate too high", "metric": "error-rate", "value": 0.2,
                           "bound": "<= 0.02", "weight": 5, "at": "2026-11-28T08:00:12Z"}
    assert [t["event"] for t in p["timeline"]] == ["Started", "RollingBack"]
    assert p["idempotencyKey"] == "shop/web/6c1f-uid/3/rollback" == req["headers"]["Idempotency-Key"]
    assert req["headers"]["Authorization"] == "Bearer tok-shop-hook-token"
    assert "error-rate = 20% breached <= 2%" in p["summary"] and "at 5% of traffic after 12s" in p["summary"]
    assert "http" not in p["summary"]
    assert results == [("rollback", "generic", "sent")]


def test_slack_payload_shape() -> None:
    msg = build_message(BODY, spec(None), ROLLBACK, STATUS)  # type: ignore[arg-type]
    p = slack_payload(msg)
    assert set(p) == {"text", "blocks"}
    assert [b["type"] for b in p["blocks"]] == ["header", "section", "section", "section", "context"]
    assert p["blocks"][0]["text"]["type"] == "plain_text" and "web: 2.0.0 rolled back" in p["blocks"][0]["text"]["text"]
    flat = json.dumps(p)
    assert "<b>" not in flat and "&lt;b&gt;" in flat  # mrkdwn escaped: no smuggled links or markup
    assert "shop/web/6c1f-uid/3/rollback" in flat
    fields = [f["text"] for f in p["blocks"][2]["fields"]]
    assert "*Metric*\nerror-rate" in fields and "*Weight*\n5%" in fields
    assert "*Value*\n20% (bound &lt;= 2%)" in fields  # the same voice as the plugin: units, not 0.2 / 0.02
    assert generic_payload(msg)["idempotencyKey"] == msg.key


def test_retry_after_a_500(rx: Receiver) -> None:
    rx.script["/hooks/flaky"] = [500, 503, 200]
    n = notifier(rx)
    n(BODY, spec(rx, {"name": "flaky", "url": rx.url + "/hooks/flaky", "type": "slack"}), ROLLBACK, STATUS)
    assert n.flush(10)
    n.close()
    assert rx.paths() == ["/hooks/flaky"] * 3
    keys = {r["headers"]["Idempotency-Key"] for r in rx.requests}
    assert keys == {"shop/web/6c1f-uid/3/rollback"}


def test_client_errors_and_redirects_are_not_retried(rx: Receiver) -> None:
    rx.script["/hooks/bad"] = [400]
    rx.script["/hooks/moved"] = [307]
    n = notifier(rx)
    d_bad = n.notify(BODY, spec(rx, {"name": "bad", "url": rx.url + "/hooks/bad"}), ROLLBACK, STATUS)[0]
    d_moved = n.notify(BODY, spec(rx, {"name": "moved", "url": rx.url + "/hooks/moved"}), ROLLBACK, STATUS)[0]
    assert n.flush(10)
    n.close()
    assert sorted(rx.paths()) == ["/hooks/bad", "/hooks/moved"]  # one each, /elsewhere never followed
    assert d_bad.url.endswith("/bad") and d_moved.url.endswith("/moved")


def test_hanging_receiver_is_bounded_and_never_blocks_the_caller(rx: Receiver) -> None:
    rx.script["/hooks/hang"] = ["hang"]
    n = notifier(rx, read_timeout=0.3, max_attempts=2, workers=1)
    hook = spec(rx, {"name": "hang", "url": rx.url + "/hooks/hang"})
    t0 = time.monotonic()
    n(BODY, hook, ROLLBACK, STATUS)
    queued_in = time.monotonic() - t0
    delivery = n.notify(BODY, hook, Notification("pre-rollout", 3, "x"), STATUS)  # not subscribed by default
    assert delivery == []
    t1 = time.monotonic()
    assert n.flush(20), "the delivery must give up on its own"
    gave_up_in = time.monotonic() - t1
    n.close()
    print(f"\nqueued in {queued_in * 1000:.1f} ms; gave up on a hanging receiver after {gave_up_in:.2f} s "
          f"(2 attempts x 0.3 s read timeout + back-off)")
    assert queued_in < 1.0  # the caller never waited for the receiver (it hangs 30 s)
    assert len(rx.requests) == 2


def test_disallowed_url_is_refused_at_queue_and_at_send(rx: Receiver) -> None:
    results: list[tuple[str, str, str]] = []
    n = notifier(rx, on_result=lambda *a: results.append(a))
    for url in (rx.url + "/other", rx.url + "/hooksevil", "http://127.0.0.2:1/hooks/x",
                rx.url.replace("127.0.0.1", "user@127.0.0.1") + "/hooks/x"):
        assert n.notify(BODY, spec(rx, {"name": "x", "url": url}), ROLLBACK, STATUS) == []
    assert n.flush(10)
    assert rx.requests == []
    assert results == [("rollback", "generic", "refused")] * 4

    # Allowed when queued, no longer allowed when sent: not sent.
    gate = {"open": True}
    late = WebhookNotifier(allowed=lambda url: gate["open"], backoff=0.01)
    [d] = late.notify(BODY, spec(rx, {"name": "y", "url": rx.url + "/hooks/y"}), ROLLBACK, STATUS)
    gate["open"] = False
    assert late.send(d) == "refused"
    n.close()
    assert rx.requests == []


def test_path_escapes_are_refused_and_never_sent(rx: Receiver) -> None:
    """/hooks/../admin and /hooks/%2e%2e/admin would reach /admin: refused at queue, nothing sent."""
    results: list[tuple[str, str, str]] = []
    n = notifier(rx, on_result=lambda *a: results.append(a))
    escapes = ["/hooks/../admin", "/hooks/%2e%2e/admin", "/hooks/%2E%2e/admin", "/hooks/..%2fadmin",
               "/hooks/..%5Cadmin", "/hooks/./../admin"]
    for i, path in enumerate(escapes):
        assert n.notify(BODY, spec(rx, {"name": f"e{i}", "url": rx.url + path}), ROLLBACK, STATUS) == []
    assert n.flush(10)
    n.close()
    assert rx.requests == []
    assert results == [("rollback", "generic", "refused")] * len(escapes)


def test_exactly_the_normalised_url_is_sent(rx: Receiver) -> None:
    """What the receiver sees on the wire is the URL the allow-list approved, nothing the client resolves later."""
    n = notifier(rx)
    urls = {"a": rx.url + "/hooks/x/../ops", "b": rx.url + "/hooks/%7Eteam/./chat", "c": rx.url + "/hooks/a%2cb?q=1"}
    hooks = [{"name": k, "url": u} for k, u in urls.items()]
    queued = n.notify(BODY, spec(rx, *hooks), ROLLBACK, STATUS)
    assert [d.url for d in queued] == [rx.url + "/hooks/ops", rx.url + "/hooks/~team/chat",
                                       rx.url + "/hooks/a%2Cb?q=1"]
    assert n.flush(10)
    n.close()
    assert sorted(rx.paths()) == sorted(["/hooks/ops", "/hooks/~team/chat", "/hooks/a%2Cb?q=1"])


def test_idempotent_within_the_process(rx: Receiver) -> None:
    n = notifier(rx)
    hook = spec(rx, {"name": "ops", "url": rx.url + "/hooks/ops", "events": ["rollback", "stall"]},
                {"name": "chat", "url": rx.url + "/hooks/chat", "type": "slack"})
    assert len(n(BODY, hook, ROLLBACK, STATUS)) == 2
    assert n(BODY, hook, ROLLBACK, STATUS) == []  # a retried reconcile re-emits it
    assert len(n(BODY, hook, Notification("stall", 3, "held"), STATUS)) == 2
    assert n.flush(10)
    n.close()
    assert sorted(rx.paths()) == ["/hooks/chat", "/hooks/chat", "/hooks/ops", "/hooks/ops"]


def test_full_queue_drops_without_blocking(rx: Receiver) -> None:
    results: list[tuple[str, str, str]] = []
    cfg = parse_config({"webhooks": {"allowedUrls": [rx.url + "/hooks/"]}}, env={})
    n = WebhookNotifier(allowed=cfg.check_webhook_url, queue_size=1, on_result=lambda *a: results.append(a))
    hook = spec(rx, {"name": "ops", "url": rx.url + "/hooks/ops", "events": ["rollback", "stall"]})
    assert len(n(BODY, hook, ROLLBACK, STATUS)) == 1
    assert n(BODY, hook, Notification("stall", 3, "held"), STATUS) == []  # no worker started: queue full
    assert results == [("stall", "generic", "dropped")]
    n.start()
    assert n.flush(10)
    assert len(n(BODY, hook, Notification("stall", 3, "held"), STATUS)) == 1  # a dropped key may be retried
    assert n.flush(10)
    n.close()
    assert rx.paths() == ["/hooks/ops", "/hooks/ops"]


def test_a_broken_token_reader_fails_the_delivery_not_the_caller(rx: Receiver) -> None:
    def boom(ns: str, name: str) -> str:
        raise RuntimeError("secret not found")
    cfg = parse_config({"webhooks": {"allowedUrls": [rx.url + "/hooks/"]}}, env={})
    n = WebhookNotifier(allowed=cfg.check_webhook_url, token_reader=boom)
    [d] = n.notify(BODY, spec(rx, {"name": "ops", "url": rx.url + "/hooks/ops", "secretRef": "missing"}),
                   ROLLBACK, STATUS)
    assert n.send(d) == "failed"
    assert rx.requests == []
