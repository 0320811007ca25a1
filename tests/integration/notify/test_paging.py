"""Paging on the sandbox: PagerDuty (trigger on a rollback, resolve on the promotion that recovers) and
Microsoft Teams, against a local receiver, driven by real rollouts with the operator.

The receiver is a small HTTP server on 127.0.0.1, and the operator's configuration allows
exactly its address; the PagerDuty routing key comes from a Secret in the Release's
namespace, as in production.
"""
from __future__ import annotations

import base64
from typing import Any, Callable, Iterator

import pytest
from kubernetes import client

from tests.integration.support import Releases, release_manifest, wait_for
from tests.webhook_receiver import Receiver

ROUTING_KEY = "R0UTINGKEY0123456789abcdef012345"
HEALTH = {"podHealth": {"readyDeadline": "30s"}}


@pytest.fixture
def rx() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def _posts(rx: Receiver, path: str) -> list[dict[str, Any]]:
    with rx.lock:
        return [r for r in rx.requests if r["path"] == path]


@pytest.mark.integration
def test_pagerduty_trigger_then_resolve_and_teams_cards(kube: client.ApiClient, namespace: str, releases: Releases,
                                                         operator_factory: Callable[..., Any], rx: Receiver) -> None:
    operator_factory(webhooks=[rx.url + "/"])
    client.CoreV1Api(kube).create_namespaced_secret(namespace, client.V1Secret(
        metadata=client.V1ObjectMeta(name="pagerduty"),
        data={"token": base64.b64encode(ROUTING_KEY.encode()).decode()}))
    hooks = {"notifications": [
        {"name": "pager", "type": "pagerduty", "url": rx.url + "/pd/v2/enqueue", "secretRef": "pagerduty"},
        {"name": "teams", "type": "msteams", "url": rx.url + "/teams"}]}
    name = "paged"
    releases.apply(release_manifest(name, "1.0.0", analysis=HEALTH, **hooks))
    releases.wait_phase(name, "Stable", timeout=90)
    uid = releases.get(name)["metadata"]["uid"]

    # 2.0.0 crashes: rolled back by the pod-health gate -> PagerDuty trigger, Teams card.
    releases.apply(release_manifest(name, "2.0.0", env={"CRASH_AFTER_S": "1"}, analysis=HEALTH, **hooks))
    status = releases.wait_outcome(name, "RolledBack", timeout=120)
    bad = next(h for h in status["history"] if h["outcome"] == "RolledBack")
    rid = bad["id"]
    wait_for(lambda: _posts(rx, "/pd/v2/enqueue"), 30, "the PagerDuty trigger")
    [trigger] = _posts(rx, "/pd/v2/enqueue")
    event = trigger["json"]
    assert event["routing_key"] == ROUTING_KEY and "Authorization" not in trigger["headers"]
    assert event["event_action"] == "trigger"
    assert event["dedup_key"] == f"ripcord/{namespace}/{name}/{uid}/{rid}"
    assert (event["payload"]["source"], event["payload"]["severity"], event["payload"]["class"]) == \
        (f"{namespace}/{name}", "error", "rollback")
    assert event["payload"]["summary"].startswith(f"{name} ({namespace}): 2.0.0 rolled back. PodHealth")
    assert event["payload"]["custom_details"]["stableVersion"] == "1.0.0"
    wait_for(lambda: _posts(rx, "/teams"), 30, "the Teams card for the rollback")
    card = _posts(rx, "/teams")[0]["json"]
    assert card["type"] == "message"
    content = card["attachments"][0]["content"]
    assert card["attachments"][0]["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert content["type"] == "AdaptiveCard" and content["body"][0]["text"] == f"{name}: 2.0.0 rolled back"
    facts = {f["title"]: f["value"] for b in content["body"] if b["type"] == "FactSet" for f in b["facts"]}
    assert facts["Release"] == f"{namespace}/{name}" and facts["Outcome"] == "RolledBack"

    # 2.0.1 is fine: promoted -> the Release is healthy again -> PagerDuty resolve of the same incident.
    releases.apply(release_manifest(name, "2.0.1", analysis=HEALTH, **hooks))
    releases.wait_outcome(name, "Promoted", rollout_id=rid + 1, timeout=120)
    wait_for(lambda: len(_posts(rx, "/pd/v2/enqueue")) >= 2, 30, "the PagerDuty resolve")
    resolve = _posts(rx, "/pd/v2/enqueue")[1]["json"]
    assert resolve == {"routing_key": ROUTING_KEY, "event_action": "resolve",
                       "dedup_key": f"ripcord/{namespace}/{name}/{uid}/{rid}"}
    wait_for(lambda: len(_posts(rx, "/teams")) >= 2, 30, "the Teams card for the promotion")
    promoted = _posts(rx, "/teams")[1]["json"]["attachments"][0]["content"]
    assert promoted["body"][0]["text"] == f"{name}: 2.0.1 promoted" and promoted["body"][0]["color"] == "Good"
    # Exactly one trigger and one resolve: the operator's retries and ticks sent nothing twice.
    assert [p["json"]["event_action"] for p in _posts(rx, "/pd/v2/enqueue")] == ["trigger", "resolve"]
