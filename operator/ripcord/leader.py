"""Leader election on a ``coordination.k8s.io/v1`` Lease: two replicas run, one acts.

Kopf's peering is not leader election (peers of equal priority all freeze), so Ripcord
gates the whole operator on a Lease, the way client-go's ``leaderelection`` does:

- A candidate reads the Lease. Nobody holds it, or its holder released it, or the
  holder has not renewed it for ``leaseDurationSeconds`` *as measured by this
  candidate's own clock since it first saw that version of the Lease* -> take it, with a
  write guarded by the ``resourceVersion`` it read (two candidates racing: one gets a 409
  and stays a follower). Measuring expiry from our own observation, never from the
  holder's ``renewTime``, keeps the scheme correct when the nodes' clocks disagree.
- The leader renews every ``retry_period``. If it cannot renew for ``renew_deadline``
  (< lease duration) it gives up leadership *before* anybody else may take over, so two
  replicas never act at once: the follower waits at least ``lease_duration`` after the
  last renewal it saw, the leader stops at ``renew_deadline`` after its last renewal.
- Losing leadership stops the operator's work (``on_stopped_leading``): every write is
  fenced by ``still_leading()``, Kopf and the scheduler stop, in-flight reconciles end, and
  the process campaigns again as a fresh candidate (``run_as_leader``); it does not exit.
- A clean shutdown releases the Lease (empty holder), so the standby takes over within
  one ``retry_period`` instead of a whole lease duration.

The decision ("may I take or renew it?") is the pure function ``decide``; the loop
(``LeaderElector``) does the I/O in a thread through a small ``LeaseStore`` interface,
``KubernetesLeaseStore`` being the real one. Failover after a crash takes between
``lease_duration`` and ``lease_duration + 2 * retry_period`` (+ API round trips) after the
leader's last renewal: the standby notices a renewal up to one retry period late, and
polls once per retry period. 15-19 s with the defaults (measured on the sandbox: 18 s,
tests/integration/ops/test_leader_lease.py); a clean shutdown hands over in about one
retry period.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import json
import logging
import os
import socket
import threading
import time
import uuid
from typing import Any, Callable, Optional, Protocol

log = logging.getLogger(__name__)

LEASE_DURATION = 15.0
RENEW_DEADLINE = 10.0
RETRY_PERIOD = 2.0
MICROTIME = "%Y-%m-%dT%H:%M:%S.%fZ"


# ----------------------------------------------------------------------------- the pure part

@dataclasses.dataclass(frozen=True)
class LeaseRecord:
    """The Lease's spec, as far as election goes. ``holder == ""`` means released."""

    holder: str
    duration_s: float
    acquire_time: Optional[dt.datetime] = None
    renew_time: Optional[dt.datetime] = None
    transitions: int = 0


class Action(enum.Enum):
    CREATE = "create"  # no Lease yet
    ACQUIRE = "acquire"  # take it over (released or expired), leaseTransitions + 1
    RENEW = "renew"  # it is ours: move renewTime
    WAIT = "wait"  # someone else holds a live Lease


def decide(current: Optional[LeaseRecord], *, me: str, first_seen: float, now: float) -> Action:
    """May ``me`` take or renew the Lease?

    ``first_seen`` is the local (monotonic) time at which this candidate first saw the
    current version of the Lease, ``now`` the local time; expiry is judged on this
    candidate's clock alone.
    """
    if current is None:
        return Action.CREATE
    if current.holder == me:
        return Action.RENEW
    if not current.holder:
        return Action.ACQUIRE
    if now - first_seen >= current.duration_s:
        return Action.ACQUIRE
    return Action.WAIT


def next_record(action: Action, current: Optional[LeaseRecord], *, me: str, wall_now: dt.datetime,
                duration_s: float) -> LeaseRecord:
    """The Lease to write for a CREATE/ACQUIRE/RENEW decision."""
    if action is Action.WAIT:
        raise ValueError("nothing to write while waiting")
    if action is Action.RENEW and current is not None:
        return dataclasses.replace(current, duration_s=duration_s, renew_time=wall_now,
                                   acquire_time=current.acquire_time or wall_now)
    transitions = 0 if current is None else current.transitions + (1 if current.holder != me else 0)
    return LeaseRecord(holder=me, duration_s=duration_s, acquire_time=wall_now, renew_time=wall_now,
                       transitions=transitions)


def released(current: LeaseRecord, wall_now: dt.datetime) -> LeaseRecord:
    """The Lease a leader writes on clean shutdown: no holder, so a standby takes it at once."""
    return dataclasses.replace(current, holder="", duration_s=1, renew_time=wall_now)


def must_step_down(*, last_renewed: float, now: float, renew_deadline: float) -> bool:
    """A leader that has not renewed for ``renew_deadline`` stops before any follower may start."""
    return now - last_renewed >= renew_deadline


# ----------------------------------------------------------------------------- storage

class Conflict(Exception):
    """The Lease changed since it was read (409), or was created by someone else first."""


class LeaseStore(Protocol):
    def get(self) -> Optional[tuple[LeaseRecord, str]]:
        """The Lease and its resourceVersion, or None when it does not exist."""

    def create(self, record: LeaseRecord) -> str:
        """Create it; returns the new resourceVersion; Conflict when it already exists."""

    def replace(self, record: LeaseRecord, resource_version: str) -> str:
        """Write it if still at ``resource_version``; returns the new one; Conflict otherwise."""


def _fmt_time(t: Optional[dt.datetime]) -> Optional[str]:
    return None if t is None else t.astimezone(dt.timezone.utc).strftime(MICROTIME)


def _parse_time(text: Optional[str]) -> Optional[dt.datetime]:
    if not text:
        return None
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def record_to_spec(record: LeaseRecord) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "holderIdentity": record.holder,
        "leaseDurationSeconds": max(1, int(round(record.duration_s))),
        "leaseTransitions": record.transitions,
    }
    if record.acquire_time is not None:
        spec["acquireTime"] = _fmt_time(record.acquire_time)
    if record.renew_time is not None:
        spec["renewTime"] = _fmt_time(record.renew_time)
    return spec


def record_from_spec(spec: dict[str, Any]) -> LeaseRecord:
    return LeaseRecord(holder=spec.get("holderIdentity") or "",
                       duration_s=float(spec.get("leaseDurationSeconds") or LEASE_DURATION),
                       acquire_time=_parse_time(spec.get("acquireTime")),
                       renew_time=_parse_time(spec.get("renewTime")),
                       transitions=int(spec.get("leaseTransitions") or 0))


class KubernetesLeaseStore:
    """The Lease ``namespace/name`` through the official client (raw JSON, no model quirks)."""

    def __init__(self, api_client: Any, namespace: str, name: str, *, request_timeout: float = 5.0) -> None:
        from kubernetes import client
        self._api = client.CoordinationV1Api(api_client)
        self._exc = client.exceptions.ApiException
        self.namespace, self.name = namespace, name
        self._timeout = request_timeout

    def _body(self, record: LeaseRecord, resource_version: Optional[str]) -> dict[str, Any]:
        meta: dict[str, Any] = {"name": self.name, "namespace": self.namespace,
                                "labels": {"app.kubernetes.io/name": "ripcord"}}
        if resource_version is not None:
            meta["resourceVersion"] = resource_version
        return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": meta,
                "spec": record_to_spec(record)}

    @staticmethod
    def _decode(resp: Any) -> tuple[LeaseRecord, str]:
        obj = json.loads(resp.data)
        return record_from_spec(obj.get("spec") or {}), obj["metadata"]["resourceVersion"]

    def get(self) -> Optional[tuple[LeaseRecord, str]]:
        try:
            resp = self._api.read_namespaced_lease(self.name, self.namespace, _preload_content=False,
                                                   _request_timeout=self._timeout)
        except self._exc as e:
            if e.status == 404:
                return None
            raise
        return self._decode(resp)

    def create(self, record: LeaseRecord) -> str:
        try:
            resp = self._api.create_namespaced_lease(self.namespace, self._body(record, None),
                                                     _preload_content=False, _request_timeout=self._timeout)
        except self._exc as e:
            if e.status == 409:
                raise Conflict("lease created by another candidate") from e
            raise
        return self._decode(resp)[1]

    def replace(self, record: LeaseRecord, resource_version: str) -> str:
        try:
            resp = self._api.replace_namespaced_lease(self.name, self.namespace,
                                                      self._body(record, resource_version),
                                                      _preload_content=False, _request_timeout=self._timeout)
        except self._exc as e:
            if e.status == 409:
                raise Conflict("lease changed since it was read") from e
            raise
        return self._decode(resp)[1]


# ----------------------------------------------------------------------------- the loop

def default_identity() -> str:
    """The pod name (unique per pod, kept across container restarts), else host + random suffix."""
    return os.environ.get("POD_NAME") or f"{socket.gethostname()}_{uuid.uuid4().hex[:8]}"


class LeaderElector:
    """Campaign for the Lease in a background thread; ``is_leader`` is set while leading.

    Call ``start()``; wait on ``is_leader`` (or get ``on_started_leading``); act only while
    ``still_leading()``; on ``on_stopped_leading`` stop acting at once. After the
    operator has stopped acting, ``stop(release=True)`` hands the Lease over.
    """

    def __init__(self, store: LeaseStore, identity: str, *,
                 lease_duration: float = LEASE_DURATION, renew_deadline: float = RENEW_DEADLINE,
                 retry_period: float = RETRY_PERIOD,
                 on_started_leading: Optional[Callable[[], None]] = None,
                 on_stopped_leading: Optional[Callable[[str], None]] = None,
                 clock: Callable[[], float] = time.monotonic,
                 wall_clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.timezone.utc)) -> None:
        if not lease_duration > renew_deadline > retry_period > 0:
            raise ValueError("need lease_duration > renew_deadline > retry_period > 0 "
                             f"(got {lease_duration}, {renew_deadline}, {retry_period})")
        if not identity:
            raise ValueError("identity must not be empty")
        self.store, self.identity = store, identity
        self.lease_duration, self.renew_deadline, self.retry_period = lease_duration, renew_deadline, retry_period
        self.on_started_leading, self.on_stopped_leading = on_started_leading, on_stopped_leading
        self._clock, self._wall = clock, wall_clock
        self.is_leader = threading.Event()
        self.lost = threading.Event()  # leadership was held and lost (or never will be: stopped)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._seen: Optional[tuple[LeaseRecord, str]] = None
        self._seen_rv: Optional[str] = None
        self._seen_at = 0.0
        self._last_renewed: Optional[float] = None
        self._thread: Optional[threading.Thread] = None
        self.transitions_seen: Optional[int] = None

    # -- state read by other threads

    def still_leading(self) -> bool:
        """True only while leading *and* the last renewal is within the renew deadline.

        Stricter than ``is_leader``: it holds even if the election thread is stuck in a
        slow API call. Guard writes to the cluster with it.
        """
        with self._lock:
            last = self._last_renewed
        return (self.is_leader.is_set() and last is not None
                and not must_step_down(last_renewed=last, now=self._clock(), renew_deadline=self.renew_deadline))

    # -- one iteration, deterministic given the clocks and the store

    def step(self) -> float:
        """Read, decide, write once; returns the seconds to wait before the next step."""
        now = self._clock()
        try:
            self._attempt(now)
        except Conflict as e:
            log.debug("leader election: %s", e)
        except Exception as e:  # noqa: BLE001 - API errors: retry, the deadline decides
            log.warning("leader election: %s: %s", type(e).__name__, e)
        if self.is_leader.is_set():
            with self._lock:
                last = self._last_renewed
            if last is None or must_step_down(last_renewed=last, now=self._clock(),
                                              renew_deadline=self.renew_deadline):
                self._lose(f"could not renew the Lease for {self.renew_deadline:g}s")
        return self.retry_period

    def _attempt(self, now: float) -> None:
        got = self.store.get()
        if got is None:
            action, current, rv = Action.CREATE, None, None
        else:
            current, rv = got
            if rv != self._seen_rv:
                self._seen_rv, self._seen_at = rv, now
            self._seen = got
            action = decide(current, me=self.identity, first_seen=self._seen_at, now=now)
        if action is Action.WAIT:
            if self.is_leader.is_set():
                self._lose(f"the Lease is held by {current.holder if current else '?'}")
            return
        record = next_record(action, current, me=self.identity, wall_now=self._wall(),
                             duration_s=self.lease_duration)
        new_rv = self.store.create(record) if rv is None else self.store.replace(record, rv)
        with self._lock:
            self._last_renewed = now  # measured from before the read: conservative
        self._seen, self._seen_rv, self._seen_at = (record, new_rv), new_rv, now
        self.transitions_seen = record.transitions
        if not self.is_leader.is_set() and not self.lost.is_set():
            log.info("leader election: %s leads (Lease transitions %d)", self.identity, record.transitions)
            self.is_leader.set()
            if self.on_started_leading:
                self.on_started_leading()

    def _lose(self, why: str) -> None:
        with self._lock:  # the loop and the watchdog may both notice; call back once
            if self.lost.is_set():
                return
            self.is_leader.clear()
            self.lost.set()
        self._stop.set()
        log.error("leader election: %s lost leadership: %s", self.identity, why)
        if self.on_stopped_leading:
            self.on_stopped_leading(why)

    # -- the thread

    def run(self) -> None:
        """The campaign loop; returns when stopped or after leadership is lost."""
        while not self._stop.is_set():
            delay = self.step()
            self._stop.wait(delay)

    def _watchdog(self) -> None:
        """Step down on time even while the loop is stuck in a slow API call."""
        tick = min(0.25, self.retry_period / 4)
        while not self._stop.wait(tick):
            if self.is_leader.is_set() and not self.still_leading():
                self._lose(f"could not renew the Lease for {self.renew_deadline:g}s")

    def start(self) -> "LeaderElector":
        self._thread = threading.Thread(target=self.run, name=f"ripcord-leader-{self.identity}", daemon=True)
        self._thread.start()
        threading.Thread(target=self._watchdog, name=f"ripcord-leader-watchdog-{self.identity}",
                         daemon=True).start()
        return self

    def stop(self, release: bool = True, timeout: float = 5.0) -> None:
        """Stop campaigning; a leader that ``release``s empties the holder for a fast handover.

        Call only once the operator has stopped acting: from the write on, another replica
        may act.
        """
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=timeout)
        was_leading = self.is_leader.is_set()
        self.is_leader.clear()
        if release and was_leading:
            try:
                got = self.store.get()
                if got is not None and got[0].holder == self.identity:
                    self.store.replace(released(got[0], self._wall()), got[1])
                    log.info("leader election: %s released the Lease", self.identity)
            except Exception as e:  # noqa: BLE001 - it will expire anyway
                log.warning("leader election: could not release the Lease: %s", e)

    def alive(self) -> bool:
        """The campaign thread runs (the standby's liveness)."""
        return self._thread is not None and self._thread.is_alive()

    def wait_for_leadership(self, timeout: Optional[float] = None) -> bool:
        """Block until leading (True), or until stopped/timeout (False)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._stop.is_set():
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            if self.is_leader.wait(0.2 if left is None else min(0.2, left)):
                return True
            if deadline is not None and time.monotonic() >= deadline:
                return False
        return self.is_leader.is_set()


class NotLeading(Exception):
    """Raised by a fence when this replica may not write to the cluster now."""


def fence_for(elector: Callable[[], Optional[LeaderElector]]) -> Callable[[], None]:
    """A fence for every write: passes only while the current elector leads *now* (renewed within
    the renew deadline). A write that passes finishes within the client's timeout, which is
    shorter than lease duration minus renew deadline: it lands before any other replica leads."""
    def check() -> None:
        e = elector()
        if e is None or not e.still_leading():
            raise NotLeading("this replica does not hold the leader Lease")
    return check


def run_as_leader(run: Callable[[threading.Event], Any], *, make_elector: Callable[[], LeaderElector],
                  liveness_url: Optional[str] = None, on_change: Optional[Callable[[bool], None]] = None,
                  on_elector: Optional[Callable[[Optional[LeaderElector]], None]] = None) -> None:
    """Campaign; while leading, ``run(stop)`` (e.g. ``kopf.run``); campaign again after losing the Lease.

    - While standing by, ``liveness_url`` answers 200 as long as the campaign thread is alive.
    - Losing the Lease (an API server outage longer than the renew deadline, or another
      holder) sets ``stop``: the operator stops taking work, the reconciles in flight end
      (their writes are refused by the fence from that moment), ``run`` returns, and this
      process campaigns again as a standby. It does not exit: a short outage costs a
      failover, never a CrashLoopBackOff.
    - When ``run`` returns by itself (SIGTERM), the Lease is released once in-flight work has
      stopped, so the standby takes over within about one retry period.
    """
    while True:
        elector = make_elector()
        stop = threading.Event()
        lost = threading.Event()

        def started() -> None:
            if on_change is not None:
                on_change(True)

        def stopped(why: str, stop: threading.Event = stop, lost: threading.Event = lost) -> None:
            if on_change is not None:
                on_change(False)
            log.error("leader election: leadership lost (%s); stopping all work, then campaigning again", why)
            lost.set()
            stop.set()

        elector.on_started_leading, elector.on_stopped_leading = started, stopped
        if on_elector is not None:
            on_elector(elector)
        health = StandbyHealthOrNone(liveness_url, elector.alive)
        elector.start()
        log.info("leader election: %s is a standby until it holds the Lease", elector.identity)
        try:
            if not elector.wait_for_leadership():
                raise RuntimeError("leader election stopped before this replica led")
        finally:
            health.stop()
        try:
            run(stop)
        finally:
            elector.stop(release=not lost.is_set())
            if on_elector is not None:
                on_elector(None)
        if not lost.is_set():
            return


class StandbyHealthOrNone:
    """The standby's liveness endpoint, when one is configured."""

    def __init__(self, url: Optional[str], check: Callable[[], bool]) -> None:
        self._health = None
        if url:
            from ripcord.telemetry.health import StandbyHealth
            self._health = StandbyHealth(url, check=check).start()

    def stop(self) -> None:
        if self._health is not None:
            self._health.stop()


def kubernetes_elector(api_client: Any, *, namespace: str, name: str = "ripcord-operator",
                       identity: Optional[str] = None, **kwargs: Any) -> LeaderElector:
    """A ``LeaderElector`` on the Lease ``namespace/name`` (request timeout under the renew deadline)."""
    deadline = float(kwargs.get("renew_deadline", RENEW_DEADLINE))
    store = KubernetesLeaseStore(api_client, namespace, name, request_timeout=max(0.5, min(deadline / 3, 5.0)))
    return LeaderElector(store, identity or default_identity(), **kwargs)
