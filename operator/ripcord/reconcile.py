"""One reconcile of one Release: observe, decide, record, act, deliver — in that order.

The Release comes from the watch-fed store. The status is written (with optimistic
concurrency) before anything else happens; if that write conflicts, nothing is acted on and
the Release is reconciled again once the watch has delivered the newer version. Cluster
changes come next, then the outbox: Events and notifications that the status write
recorded, delivered until acknowledged (a crash anywhere after the write delivers them on
the next run: at least once, with keys receivers can deduplicate on). A slow or failing
receiver never holds a rollback back: notifications go out on the notifier's own threads.
"""
from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from typing import Any, Callable, Mapping, Optional, Protocol

from kubernetes.client.rest import ApiException

from ripcord import logs
from ripcord.actuate.kube import Actuator, CollisionFound
from ripcord.api.conditions import set_condition
from ripcord.api.models import OutboxItem, ReleaseSpec, ReleaseStatus
from ripcord.api.status import parse_status
from ripcord.contract import FINALIZER
from ripcord.engine.decide import decide
from ripcord.engine.observed import Collision
from ripcord.engine.plan import Plan
from ripcord.kube.stores import Stores
from ripcord.leader import NotLeading
from ripcord.notify.message import Note
from ripcord.observe import Observer

log = logging.getLogger("ripcord.reconcile")

Key = tuple[str, str]
ERROR_MESSAGE_LIMIT = 2000
#: A notification handed to the notifier and not reported done by then is offered again
#: (the notifier's own retries take well under this; a full queue drops without reporting).
RESEND_AFTER_S = 300.0


class Notifier(Protocol):
    def notify(self, body: Mapping[str, Any], spec: Any, note: Any, status: Mapping[str, Any],
               on_done: Optional[Callable[[], None]] = None) -> Any: ...


class Reconciler:
    def __init__(self, observer: Observer, actuator: Actuator, stores: Stores, *,
                 notifier: Optional[Notifier] = None, metrics: Any = None,
                 wake: Callable[[str, str], None] = lambda ns, name: None,
                 clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.timezone.utc)) -> None:
        self.observer = observer
        self.actuator = actuator
        self.stores = stores
        self.notifier = notifier
        self.metrics = metrics
        self.wake = wake
        self.clock = clock
        self._lock = threading.Lock()
        self._written: dict[Key, tuple[str, dict[str, Any]]] = {}  # key -> (rv replaced, body written)
        self._delivered: dict[Key, set[str]] = {}  # outbox keys delivered, not yet dropped from status
        self._sending: dict[tuple[Key, str], float] = {}  # notifications on the notifier's threads, since
        self._errors: dict[Key, str] = {}

    # ---------------------------------------------------------------- the Release, freshest known

    def release(self, ns: str, name: str) -> Optional[dict[str, Any]]:
        """The store's copy, or the one this replica just wrote if the watch has not brought it yet."""
        body = self.stores.releases.get(ns, name)
        if body is None:
            return None
        with self._lock:
            written = self._written.get((ns, name))
        if written is not None and written[0] == body["metadata"].get("resourceVersion"):
            return written[1]
        return body

    def _remember(self, key: Key, replaced_rv: str, body: dict[str, Any]) -> None:
        with self._lock:
            self._written[key] = (replaced_rv, body)

    # ---------------------------------------------------------------- one reconcile

    def reconcile(self, ns: str, name: str) -> Optional[dt.datetime]:
        """Reconcile once; the time it is due again at the latest (None: only when something changes)."""
        with logs.context(namespace=ns, release=name):
            if self.metrics is None:
                return self._reconcile(ns, name)
            with self.metrics.reconciling(ns, name):
                return self._reconcile(ns, name)

    def _reconcile(self, ns: str, name: str) -> Optional[dt.datetime]:
        key = (ns, name)
        body = self.release(ns, name)
        if body is None:
            self.forget(key)
            return None
        meta = body["metadata"]
        deleting = bool(meta.get("deletionTimestamp"))
        if deleting and FINALIZER not in (meta.get("finalizers") or []):
            return None  # not ours to hold back (any more)
        if not deleting and FINALIZER not in (meta.get("finalizers") or []):
            rv = meta["resourceVersion"]
            body = self.actuator.add_finalizer(body)
            self._remember(key, rv, body)

        with self._lock:
            delivered = frozenset(self._delivered.get(key, ()))
        obs = self.observer.observe(body, self.clock(), delivered)
        plan = decide(obs)
        old = parse_status(body.get("status")).status.wire()
        new = plan.status.wire()
        logs.bind(rollout=logs.rollout_of(new))
        self._clear_error(key, new, obs.generation)
        if new != old:
            rv = body["metadata"]["resourceVersion"]
            try:
                body = self.actuator.write_status(body, new)
            except ApiException as exc:
                if exc.status == 409:
                    log.info("%s/%s changed while deciding; deciding again", ns, name)
                    return self.clock() + dt.timedelta(seconds=1)
                raise
            self._remember(key, rv, body)
            recorded = {i["key"] for i in old.get("outbox") or []}
            for item in plan.status.outbox:  # the transitions this write recorded, once each, in the log
                if item.key not in recorded and item.kind == "Event":
                    (log.warning if item.type == "Warning" else log.info)("%s: %s", item.reason, item.message)
            with self._lock:  # the outbox items delivered before this write are gone from the status
                self._delivered[key] = self._delivered.get(key, set()) - delivered
        if self.metrics is not None:
            self.metrics.on_transition(body, old, new)  # every tick: a new leader fills its gauges at once

        if plan.deletion is not None:
            self._delete(body, obs.spec, plan)
            return None
        if plan.act and obs.spec is not None:
            try:
                self.actuator.apply(body, obs.spec, plan)
            except CollisionFound as c:
                self.observer.foreign.setdefault(key, []).append(Collision(c.kind, c.name, c.owner))
                self.wake(ns, name)
        self._deliver(key, body, obs.spec, plan.status)
        return plan.next_due

    def _delete(self, body: Mapping[str, Any], spec: Optional[ReleaseSpec], plan: Plan) -> None:
        """deletionPolicy Retain: the stable keeps serving after the Release is gone; Delete: GC takes all."""
        assert plan.deletion is not None
        ns, name = body["metadata"]["namespace"], body["metadata"]["name"]
        if plan.deletion.retain:
            if spec is not None:
                self.actuator.apply(body, spec, plan)
            self.actuator.orphan(body)
            stable = plan.status.stable
            log.info("%s/%s deleted with deletionPolicy Retain: %s keeps serving", ns, name,
                     stable.version if stable else "nothing")
        self._deliver((ns, name), body, spec, plan.status, events_only=True)
        self.actuator.remove_finalizer(body)
        if self.metrics is not None:
            self.metrics.forget(ns, name)
        self.forget((ns, name))

    # ---------------------------------------------------------------- the outbox

    def _deliver(self, key: Key, body: Mapping[str, Any], spec: Optional[ReleaseSpec], status: ReleaseStatus,
                 events_only: bool = False) -> None:
        for item in status.outbox:
            with self._lock:
                since = self._sending.get((key, item.key))
                if item.key in self._delivered.get(key, set()) or \
                        (since is not None and time.monotonic() - since < RESEND_AFTER_S):
                    continue
            if item.kind == "Event":
                try:
                    self.actuator.post_event(body, item)
                except ApiException as exc:
                    log.warning("%s/%s: could not post event %s: %s", key[0], key[1], item.reason, exc.reason)
                    continue
                self._done(key, item.key, wake=False)
            elif not events_only:
                self._send(key, body, spec, status, item)

    def _send(self, key: Key, body: Mapping[str, Any], spec: Optional[ReleaseSpec], status: ReleaseStatus,
              item: OutboxItem) -> None:
        if self.notifier is None or spec is None or item.rollout_id is None:
            self._done(key, item.key, wake=False)
            return
        with self._lock:
            self._sending[(key, item.key)] = time.monotonic()
        note = Note(event=item.reason, rollout_id=item.rollout_id, message=item.message, key=item.key)
        try:
            self.notifier.notify(body, spec, note, status.wire(), on_done=lambda: self._done(key, item.key))
        except Exception:  # noqa: BLE001 - a notification never fails a reconcile; it is retried
            log.exception("%s/%s: could not queue notification %s", key[0], key[1], item.reason)
            with self._lock:
                self._sending.pop((key, item.key), None)

    def _done(self, key: Key, item_key: str, wake: bool = True) -> None:
        with self._lock:
            self._sending.pop((key, item_key), None)
            self._delivered.setdefault(key, set()).add(item_key)
        if wake:
            self.wake(*key)  # the next reconcile drops it from the status outbox

    # ---------------------------------------------------------------- errors and forgetting

    def report_error(self, ns: str, name: str, exc: BaseException) -> None:
        """A reconcile raised: say so on that Release alone (one condition, one Event per distinct error)."""
        key = (ns, name)
        if isinstance(exc, NotLeading):
            return  # not an error of this Release: this replica stopped leading, another one acts
        text = f"{type(exc).__name__}: {exc}"[:ERROR_MESSAGE_LIMIT]
        if self.metrics is not None:
            self.metrics.reconcile_errors.labels(ns, name).inc()
        with self._lock:
            if self._errors.get(key) == text:
                return
            self._errors[key] = text
        body = self.release(ns, name)
        if body is None or body["metadata"].get("deletionTimestamp"):
            return
        status = parse_status(body.get("status")).status
        set_condition(status.conditions, "ReconcileError", "True", "ReconcileFailed",
                      f"the last reconcile failed ({text}); retrying with back-off", self.clock(),
                      int(body["metadata"].get("generation") or 0))
        item = OutboxItem(key=f"error-{int(time.time() * 1000)}", kind="Event", reason="ReconcileError",
                          message=f"reconcile failed: {text}", type="Warning",
                          at=self.clock().strftime("%Y-%m-%dT%H:%M:%SZ"))
        try:
            self.actuator.patch_status(body, {"status": {"conditions": [c.wire() for c in status.conditions]}})
            self.actuator.post_event(body, item)
        except Exception as e:  # noqa: BLE001 - reporting must not raise in turn
            log.warning("%s/%s: could not record the reconcile error: %s", ns, name, e)

    def _clear_error(self, key: Key, status: dict[str, Any], generation: int) -> None:
        """A reconcile got this far: a ReconcileError condition left by an earlier one is over."""
        with self._lock:
            self._errors.pop(key, None)
        for c in status.get("conditions") or []:
            if c.get("type") == "ReconcileError" and c.get("status") == "True":
                c.update(status="False", reason="ReconcileSucceeded", message="",
                         lastTransitionTime=self.clock().strftime("%Y-%m-%dT%H:%M:%SZ"), observedGeneration=generation)

    def forget(self, key: Key) -> None:
        with self._lock:
            self._written.pop(key, None)
            self._delivered.pop(key, None)
            self._errors.pop(key, None)
            self._sending = {s: t for s, t in self._sending.items() if s[0] != key}
        self.observer.foreign.pop(key, None)
