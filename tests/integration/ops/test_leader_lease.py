"""Leader election on the sandbox's real API server, as the operator identity (shipped RBAC).

Two electors in threads, with the production timings (lease 15 s, renew deadline 10 s,
retry 2 s): only one leads; when the leader's renewals die it steps down before the
other takes over, and the other takes over within lease duration + retry period; a
clean shutdown hands over within about one retry period. The failover times are printed.
"""
from __future__ import annotations

import time
import uuid
from typing import Any, Iterator, Optional

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from ripcord.leader import (LEASE_DURATION, RETRY_PERIOD, KubernetesLeaseStore, LeaderElector, LeaseRecord)

NAMESPACE = "ripcord-system"


class Killable(KubernetesLeaseStore):
    """The real store, whose calls fail once ``killed`` (the replica's renewals die)."""

    killed = False

    def _check(self) -> None:
        if self.killed:
            raise ConnectionError("renewals killed by the test")

    def get(self) -> Optional[tuple[LeaseRecord, str]]:
        self._check()
        return super().get()

    def create(self, record: LeaseRecord) -> str:
        self._check()
        return super().create(record)

    def replace(self, record: LeaseRecord, resource_version: str) -> str:
        self._check()
        return super().replace(record, resource_version)


class Timeline:
    def __init__(self) -> None:
        self.events: list[tuple[float, str]] = []

    def mark(self, what: str) -> None:
        self.events.append((time.monotonic(), what))

    def at(self, what: str) -> float:
        return next(t for t, w in self.events if w == what)

    def order(self) -> list[str]:
        return [w for _, w in self.events]


@pytest.fixture
def lease_name(kube: client.ApiClient, ripcord_installed: Any) -> Iterator[str]:
    name = f"ripcord-test-{uuid.uuid4().hex[:8]}"
    yield name
    try:  # the operator may not delete Leases; the admin cleans up
        client.CoordinationV1Api(kube).delete_namespaced_lease(name, NAMESPACE)
    except ApiException as e:
        if e.status != 404:
            raise


def elector(api: client.ApiClient, lease: str, who: str, tl: Timeline) -> LeaderElector:
    store = Killable(api, NAMESPACE, lease, request_timeout=3)
    return LeaderElector(store, who, on_started_leading=lambda: tl.mark(f"{who}+"),
                         on_stopped_leading=lambda why: tl.mark(f"{who}-"))


def read_lease(kube: client.ApiClient, name: str) -> Any:
    return client.CoordinationV1Api(kube).read_namespaced_lease(name, NAMESPACE).spec


@pytest.mark.integration
def test_standby_takes_over_when_the_leaders_renewals_die(operator_kube: client.ApiClient, kube: client.ApiClient,
                                                          lease_name: str) -> None:
    tl = Timeline()
    a = elector(operator_kube, lease_name, "replica-a", tl).start()
    assert a.wait_for_leadership(timeout=30), "the first candidate must lead"
    b = elector(operator_kube, lease_name, "replica-b", tl).start()
    try:
        time.sleep(2 * RETRY_PERIOD + 1)  # b has seen a renew at least once, and waits
        assert not b.is_leader.is_set()
        assert read_lease(kube, lease_name).holder_identity == "replica-a"

        a.store.killed = True  # type: ignore[attr-defined]
        killed_at = time.monotonic()
        with a._lock:
            last_renewal = a._last_renewed
        assert last_renewal is not None
        assert b.wait_for_leadership(timeout=LEASE_DURATION + 5 * RETRY_PERIOD + 10), "the standby never took over"
    finally:
        a.stop(release=False)
        b.stop(release=True)

    assert tl.order() == ["replica-a+", "replica-a-", "replica-b+"], "a stops acting before b starts"
    gained, lost = tl.at("replica-b+"), tl.at("replica-a-")
    failover = gained - last_renewal
    print(f"\nfailover after the leader's renewals died: {gained - killed_at:.1f} s after the kill, "
          f"{failover:.1f} s after its last renewal (lease {LEASE_DURATION:g} s, retry {RETRY_PERIOD:g} s); "
          f"old leader stepped down {lost - last_renewal:.1f} s after its last renewal")
    assert failover >= LEASE_DURATION, "the standby must not take over a lease that may still be live"
    assert failover <= LEASE_DURATION + RETRY_PERIOD + 5, "takeover within lease duration + retry (+ API latency)"
    assert lost < gained


@pytest.mark.integration
def test_clean_shutdown_hands_over_within_a_retry(operator_kube: client.ApiClient, kube: client.ApiClient,
                                                  lease_name: str) -> None:
    tl = Timeline()
    a = elector(operator_kube, lease_name, "replica-a", tl).start()
    assert a.wait_for_leadership(timeout=30)
    b = elector(operator_kube, lease_name, "replica-b", tl).start()
    try:
        time.sleep(RETRY_PERIOD + 0.5)
        transitions = read_lease(kube, lease_name).lease_transitions
        released_at = time.monotonic()
        a.stop(release=True)
        assert read_lease(kube, lease_name).holder_identity in (None, "", "replica-b")
        assert b.wait_for_leadership(timeout=4 * RETRY_PERIOD + 10)
        handover = time.monotonic() - released_at
    finally:
        b.stop(release=True)
    print(f"\nhandover after a clean shutdown: {handover:.1f} s (retry {RETRY_PERIOD:g} s)")
    spec = read_lease(kube, lease_name)
    assert spec.lease_transitions == transitions + 1
    assert spec.holder_identity in (None, "")  # b released it too
    assert handover <= 2 * RETRY_PERIOD + 5
