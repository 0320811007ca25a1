"""Leader election: the pure decision, and the loop against an in-memory Lease with fake clocks."""
from __future__ import annotations

import datetime as dt
from typing import Optional

import pytest

from ripcord.leader import (Action, Conflict, LeaderElector, LeaseRecord, NotLeading, decide, must_step_down, next_record,
                            record_from_spec, record_to_spec, released)

WALL = dt.datetime(2026, 11, 28, 8, 0, 0, 123456, tzinfo=dt.timezone.utc)


def rec(holder: str, duration: float = 15, transitions: int = 0) -> LeaseRecord:
    return LeaseRecord(holder=holder, duration_s=duration, acquire_time=WALL, renew_time=WALL,
                       transitions=transitions)


# ----------------------------------------------------------------------------- decide

def test_no_lease_create() -> None:
    assert decide(None, me="a", first_seen=0, now=0) is Action.CREATE


def test_own_lease_renew_even_if_it_looks_expired() -> None:
    assert decide(rec("a"), me="a", first_seen=0, now=100) is Action.RENEW


def test_released_lease_is_taken_at_once() -> None:
    assert decide(rec(""), me="b", first_seen=10, now=10) is Action.ACQUIRE


@pytest.mark.parametrize("elapsed, action", [(0, Action.WAIT), (14.999, Action.WAIT), (15, Action.ACQUIRE),
                                             (60, Action.ACQUIRE)])
def test_expiry_is_judged_from_our_own_first_sight(elapsed: float, action: Action) -> None:
    assert decide(rec("a"), me="b", first_seen=100, now=100 + elapsed) is action


def test_the_holders_renew_time_is_not_trusted() -> None:
    """A renewTime far in the past (skewed clock) does not make a freshly seen Lease expired."""
    old = LeaseRecord(holder="a", duration_s=15, renew_time=WALL - dt.timedelta(days=1))
    assert decide(old, me="b", first_seen=50, now=51) is Action.WAIT


def test_next_record() -> None:
    later = WALL + dt.timedelta(seconds=5)
    created = next_record(Action.CREATE, None, me="a", wall_now=WALL, duration_s=15)
    assert created == LeaseRecord("a", 15, WALL, WALL, 0)
    renewed = next_record(Action.RENEW, created, me="a", wall_now=later, duration_s=15)
    assert (renewed.acquire_time, renewed.renew_time, renewed.transitions) == (WALL, later, 0)
    taken = next_record(Action.ACQUIRE, renewed, me="b", wall_now=later, duration_s=15)
    assert (taken.holder, taken.acquire_time, taken.transitions) == ("b", later, 1)
    with pytest.raises(ValueError):
        next_record(Action.WAIT, created, me="a", wall_now=WALL, duration_s=15)


def test_release_empties_the_holder() -> None:
    r = released(rec("a", transitions=4), WALL)
    assert (r.holder, r.duration_s, r.transitions) == ("", 1, 4)


def test_step_down_deadline() -> None:
    assert not must_step_down(last_renewed=0, now=9.99, renew_deadline=10)
    assert must_step_down(last_renewed=0, now=10, renew_deadline=10)


def test_wire_round_trip() -> None:
    r = rec("pod-1", transitions=3)
    spec = record_to_spec(r)
    assert spec == {"holderIdentity": "pod-1", "leaseDurationSeconds": 15, "leaseTransitions": 3,
                    "acquireTime": "2026-11-28T08:00:00.123456Z", "renewTime": "2026-11-28T08:00:00.123456Z"}
    assert record_from_spec(spec) == r
    assert record_from_spec({}).holder == ""


# ----------------------------------------------------------------------------- the loop

class MemoryStore:
    """One Lease with resourceVersion semantics; ``broken`` makes every call fail like a dead network."""

    def __init__(self) -> None:
        self.record: Optional[LeaseRecord] = None
        self.rv = 0
        self.broken = False

    def _check(self) -> None:
        if self.broken:
            raise ConnectionError("network down")

    def get(self) -> Optional[tuple[LeaseRecord, str]]:
        self._check()
        return None if self.record is None else (self.record, str(self.rv))

    def create(self, record: LeaseRecord) -> str:
        self._check()
        if self.record is not None:
            raise Conflict("exists")
        self.record, self.rv = record, self.rv + 1
        return str(self.rv)

    def replace(self, record: LeaseRecord, resource_version: str) -> str:
        self._check()
        if resource_version != str(self.rv):
            raise Conflict("changed")
        self.record, self.rv = record, self.rv + 1
        return str(self.rv)


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


class Shared(MemoryStore):
    """A view of one store that can fail for one candidate only (its network is down)."""

    def __init__(self, store: MemoryStore) -> None:
        self.store, self.broken = store, False

    def get(self):  # type: ignore[no-untyped-def]
        self._check()
        return self.store.get()

    def create(self, record):  # type: ignore[no-untyped-def]
        self._check()
        return self.store.create(record)

    def replace(self, record, resource_version):  # type: ignore[no-untyped-def]
        self._check()
        return self.store.replace(record, resource_version)


def electors(clock: Clock) -> tuple[MemoryStore, Shared, Shared, LeaderElector, LeaderElector, list[str]]:
    store = MemoryStore()
    sa, sb = Shared(store), Shared(store)
    log: list[str] = []
    wall = lambda: WALL + dt.timedelta(seconds=clock.t)  # noqa: E731
    a = LeaderElector(sa, "a", clock=clock, wall_clock=wall, on_started_leading=lambda: log.append("a+"),
                      on_stopped_leading=lambda why: log.append("a-"))
    b = LeaderElector(sb, "b", clock=clock, wall_clock=wall, on_started_leading=lambda: log.append("b+"),
                      on_stopped_leading=lambda why: log.append("b-"))
    return store, sa, sb, a, b, log


def test_one_leader_and_takeover_after_a_crash() -> None:
    clock = Clock()
    store, sa, sb, a, b, log = electors(clock)
    a.step()
    b.step()
    assert a.is_leader.is_set() and not b.is_leader.is_set() and a.still_leading()
    assert store.record is not None and store.record.holder == "a"
    for _ in range(10):  # both keep stepping: a renews, b waits
        clock.t += 2
        a.step()
        b.step()
    assert log == ["a+"]
    last_renewal = clock.t
    sa.broken = True  # a's renewals die (network partition, or the process hangs)
    gained_at = lost_at = None
    while gained_at is None:
        clock.t += 2
        a.step()
        b.step()
        if lost_at is None and "a-" in log:
            lost_at = clock.t
        if "b+" in log:
            gained_at = clock.t
    assert log == ["a+", "a-", "b+"], "a stops acting before b starts"
    assert lost_at is not None and lost_at - last_renewal <= a.renew_deadline + a.retry_period
    # b waits a full lease duration after the last renewal it saw, and no more than one retry beyond.
    assert b.lease_duration <= gained_at - last_renewal <= b.lease_duration + b.retry_period
    assert store.record is not None and (store.record.holder, store.record.transitions) == ("b", 1)
    assert not a.still_leading() and a.lost.is_set()


def test_leader_that_sees_another_holder_steps_down_at_once() -> None:
    clock = Clock()
    store, sa, sb, a, b, log = electors(clock)
    a.step()
    assert store.record is not None
    store.record = next_record(Action.ACQUIRE, store.record, me="x", wall_now=WALL, duration_s=15)
    store.rv += 1
    a.step()
    assert log == ["a+", "a-"] and not a.is_leader.is_set()


def test_clean_release_hands_over_within_one_retry() -> None:
    clock = Clock()
    store, sa, sb, a, b, log = electors(clock)
    a.step()
    b.step()
    a.stop(release=True)
    assert store.record is not None and store.record.holder == ""
    clock.t += 2
    b.step()
    assert b.is_leader.is_set() and log == ["a+", "b+"]


def test_race_for_an_expired_lease_has_one_winner() -> None:
    clock = Clock()
    store, sa, sb, a, b, log = electors(clock)
    store.record, store.rv = rec("gone"), 7
    a.step()
    b.step()  # both see rv 7 now
    clock.t += 15
    got = store.get()
    assert got is not None
    # Interleave: both decided ACQUIRE on rv 7; the second write conflicts.
    ra = next_record(decide(got[0], me="a", first_seen=1000, now=clock.t), got[0], me="a", wall_now=WALL,
                     duration_s=15)
    store.replace(ra, got[1])
    rb = next_record(Action.ACQUIRE, got[0], me="b", wall_now=WALL, duration_s=15)
    with pytest.raises(Conflict):
        store.replace(rb, got[1])


def test_renew_deadline_is_checked_by_still_leading_alone() -> None:
    clock = Clock()
    store, sa, sb, a, b, log = electors(clock)
    a.step()
    clock.t += 9.9
    assert a.still_leading()
    clock.t += 0.1
    assert not a.still_leading()  # even before the loop notices


def test_timings_must_be_ordered() -> None:
    with pytest.raises(ValueError):
        LeaderElector(MemoryStore(), "a", lease_duration=10, renew_deadline=10)
    with pytest.raises(ValueError):
        LeaderElector(MemoryStore(), "", lease_duration=15)


def test_thread_runs_and_stops() -> None:
    """The real loop with real time but no waiting on the outcome's timing."""
    store = MemoryStore()
    e = LeaderElector(store, "solo", lease_duration=3, renew_deadline=2, retry_period=0.05).start()
    try:
        assert e.wait_for_leadership(timeout=10)
    finally:
        e.stop(release=True)
    assert store.record is not None and store.record.holder == ""


def test_run_as_leader_stops_on_loss_campaigns_again_and_releases_after_a_clean_stop() -> None:
    """Standby health while waiting; run() only while leading; a lost Lease stops run() (no exit) and the
    process campaigns again; a run() that ends by itself releases the Lease."""
    import socket
    import threading
    import urllib.request

    from ripcord.leader import fence_for, run_as_leader

    store = MemoryStore()
    store.record, store.rv = LeaseRecord("other", 3600), 1  # someone else holds it: we stand by
    changes: list[bool] = []
    seen: dict[str, object] = {"runs": 0}
    current: list[object] = [None]
    fence = fence_for(lambda: current[0])  # type: ignore[arg-type, return-value]

    def make() -> LeaderElector:
        return LeaderElector(store, "me", lease_duration=3, renew_deadline=2, retry_period=0.05)

    def operator(stop: threading.Event) -> None:
        seen["runs"] = int(seen["runs"]) + 1  # type: ignore[call-overload]
        fence()  # leading: writes pass
        if seen["runs"] == 1:
            # Someone takes the Lease while we run: stop is set, writes are refused from then on.
            assert store.record is not None
            store.record = next_record(Action.ACQUIRE, store.record, me="thief", wall_now=WALL, duration_s=3)
            store.rv += 1
            assert stop.wait(10)
            with pytest.raises(NotLeading):
                fence()
            threading.Thread(target=lambda: (threading.Event().wait(0.3), release(store)), daemon=True).start()
        # the second term ends by itself (a SIGTERM)

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/healthz"

    def release_the_lease_later() -> None:
        for _ in range(200):
            try:
                seen["standby_health"] = urllib.request.urlopen(url, timeout=1).status
                break
            except OSError:
                threading.Event().wait(0.02)
        release(store)

    threading.Thread(target=release_the_lease_later, daemon=True).start()
    run_as_leader(operator, make_elector=make, liveness_url=url, on_change=changes.append,
                  on_elector=lambda e: current.__setitem__(0, e))
    assert seen["runs"] == 2 and seen["standby_health"] == 200
    assert changes == [True, False, True]
    assert store.record is not None and store.record.holder == ""  # released after the clean stop


def release(store: "MemoryStore") -> None:
    store.record = LeaseRecord("", 1)
    store.rv += 1
