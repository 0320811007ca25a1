"""The reconciler against a fake API server: what it reads, what it writes, in which order."""
from __future__ import annotations

import pytest

from ripcord.contract import FINALIZER
from ripcord.leader import NotLeading
from tests.unit.kube.edge import DEPLOYMENTS, EVENTS, RELEASES, SERVICES, Edge, build, release, with_release


def test_a_new_release_is_finalized_checked_recorded_then_acted_on_then_announced() -> None:
    e = with_release()
    e.reconcile()
    assert e.api.summary() == [
        ("patch", "releases"),  # Ripcord's finalizer first: nothing is created before deletion is guarded
        ("create", "deployments"),  # the template's dry run
        ("update", "releases/status"),  # the transition is recorded before anything acts on it
        ("create", "services"), ("create", "services"), ("create", "services"),  # traffic to the stable first
        ("create", "deployments"),  # then the stable slot
        ("create", "events"),  # and the Event the status outbox holds
    ]
    assert e.api.calls[1].dry_run and not e.api.calls[6].dry_run
    stored = e.api.get(f"{RELEASES}/web")
    assert stored is not None and FINALIZER in stored["metadata"]["finalizers"]
    assert stored["status"]["stable"]["version"] == "1.0.0"
    assert [i["reason"] for i in stored["status"]["outbox"]] == ["Installed"]
    [event] = [o for p, o in e.api.objects.items() if p.startswith(EVENTS)]
    assert event["reason"] == "Installed" and event["involvedObject"]["name"] == "web"


def test_at_rest_a_reconcile_reads_and_writes_nothing() -> None:
    e = with_release()
    e.reconcile()
    e.sync()
    e.reconcile()
    assert e.api.summary() == [("update", "releases/status")]  # the delivered Event leaves the outbox
    e.sync()
    for _ in range(3):
        e.reconcile()
        assert e.api.calls == []


def test_a_conflicting_status_write_acts_on_nothing_and_announces_nothing() -> None:
    e = with_release()
    e.api.fail[("update", "releases/status")] = 409
    e.reconcile()
    assert e.api.summary() == [("patch", "releases"), ("create", "deployments"), ("update", "releases/status")]
    assert not any(p.startswith((SERVICES, EVENTS)) for p in e.api.objects)
    assert not any(p.startswith(DEPLOYMENTS) for p in e.api.objects)


def test_an_event_that_failed_to_post_is_posted_by_the_next_reconcile_once() -> None:
    e = with_release()
    e.api.fail[("create", "events")] = 500
    e.reconcile()
    assert not any(p.startswith(EVENTS) for p in e.api.objects)
    e.sync()
    e.reconcile()
    assert ("create", "events") in e.api.summary()
    assert len([p for p in e.api.objects if p.startswith(EVENTS)]) == 1


def test_after_a_crash_the_outbox_is_delivered_again_and_receivers_see_no_duplicate_event() -> None:
    e = with_release()
    e.reconcile()  # posted the Installed Event, then "crashed" before the acknowledging write
    fresh = e.restarted()
    fresh.reconcile()
    creates = [c for c in fresh.api.calls if (c.verb, c.resource) == ("create", "events")]
    assert len(creates) == 1  # posted again: the name is the outbox key's, so the server says 409
    assert len([p for p in fresh.api.objects if p.startswith(EVENTS)]) == 1
    fresh.sync()
    fresh.reconcile()
    assert fresh.api.summary() == [("update", "releases/status")]  # acknowledged: gone from the outbox


def test_a_replica_that_does_not_lead_writes_nothing() -> None:
    def not_leading() -> None:
        raise NotLeading("standby")

    e = build(fence=not_leading)
    e.api.put(RELEASES, release())
    e.sync()
    with pytest.raises(NotLeading):
        e.reconcile()
    assert e.api.writes() == []


def test_a_name_another_owner_holds_is_a_collision_that_changes_nothing() -> None:
    e = with_release()
    foreign = e.api.put(SERVICES, {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web-a"},
                                   "spec": {"selector": {"app": "legacy"}, "ports": [{"port": 80}]}})
    e.reconcile()
    assert e.woken == [("shop", "web")]  # found at create time: decide again at once
    e.sync()
    e.reconcile()
    status = e.api.get(f"{RELEASES}/web")["status"]  # type: ignore[index]
    stalled = next(c for c in status["conditions"] if c["type"] == "Stalled")
    assert stalled["status"] == "True" and stalled["reason"] == "NameCollision"
    assert stalled["message"].startswith("metadata.name: Service web-a, a name this Release derives")
    assert "ripcord.dev/adopt: web" in stalled["message"]
    assert e.api.get(f"{SERVICES}/web-a") == foreign  # untouched
    assert not any(c.resource in ("services", "deployments") for c in e.api.writes())


def test_an_object_annotated_for_adoption_is_taken_over() -> None:
    e = with_release()
    e.api.put(SERVICES, {"apiVersion": "v1", "kind": "Service",
                         "metadata": {"name": "web", "annotations": {"ripcord.dev/adopt": "web"},
                                      "labels": {"ripcord.dev/release": "web"}},
                         "spec": {"selector": {"app": "legacy"}, "ports": [{"port": 80}]}})
    e.sync()
    e.reconcile()
    svc = e.api.get(f"{SERVICES}/web")
    assert svc is not None and svc["metadata"]["ownerReferences"][0]["name"] == "web"
    assert svc["spec"]["selector"] == {"ripcord.dev/release": "web", "ripcord.dev/slot": "a"}


def _deleted(e: Edge) -> None:
    """The user deleted the Release: the server sets deletionTimestamp and keeps it for our finalizer."""
    stored = e.api.get(f"{RELEASES}/web")
    assert stored is not None
    stored["metadata"]["deletionTimestamp"] = "2026-01-29T14:31:00Z"
    e.api.put(RELEASES, stored)
    e.sync()


@pytest.mark.parametrize("policy", ["Delete", "Retain"])
def test_a_deleted_release_lets_go_of_its_finalizer_last(policy: str) -> None:
    e = with_release(release(deletionPolicy=policy))
    e.reconcile()
    e.sync()
    e.reconcile()
    e.sync()
    _deleted(e)
    e.reconcile()
    verbs = e.api.summary()
    assert verbs[-1] == ("patch", "releases"), verbs  # the finalizer goes only after everything else
    stored = e.api.get(f"{RELEASES}/web")
    assert stored is not None and FINALIZER not in (stored["metadata"].get("finalizers") or [])
    owned = [o for p, o in e.api.objects.items() if p.startswith((DEPLOYMENTS, SERVICES))]
    assert owned, "the objects are still there (garbage collection removes them with Delete)"
    refs = [r for o in owned for r in o["metadata"].get("ownerReferences") or []]
    if policy == "Retain":  # orphaned, so garbage collection leaves the stable serving
        assert refs == [] and ("patch", "deployments") in verbs and ("patch", "services") in verbs
    else:  # left owned: the garbage collector deletes them with the Release
        assert len(refs) == len(owned) and not any(v == "patch" and r != "releases" for v, r in verbs)


def test_a_deleted_release_without_our_finalizer_is_left_alone() -> None:
    body = release()
    body["metadata"]["deletionTimestamp"] = "2026-01-29T14:31:00Z"
    body["metadata"]["finalizers"] = ["someone.else/finalizer"]
    e = with_release(body)
    e.reconcile()
    assert e.api.calls == []
