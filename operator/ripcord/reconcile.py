"""One reconcile of one Release: observe, decide, record, act — in that order.

The status is written (with optimistic concurrency) before anything else happens; if
that write conflicts, nothing is acted on and the next tick starts again from a fresh
read. Events and notifications follow the status write; the cluster changes come last.
"""
from __future__ import annotations

import datetime as dt
import logging
import time
from typing import Any, Callable, Mapping, Optional

from kubernetes import client
from kubernetes.client.rest import ApiException

from ripcord.actuate.kube import Actuator
from ripcord.api.models import GROUP, PLURAL, SLOTS, VERSION, ReleaseSpec
from ripcord.api.status import parse_status
from ripcord.api.validation import SpecProblem, parse_spec
from ripcord.engine.decide import decide, traffic_intent
from ripcord.engine.plan import Notification, Plan
from ripcord.observe import Observer
from ripcord.traffic import provider_for
from ripcord.traffic.base import deployment_name

log = logging.getLogger("ripcord.reconcile")

Notifier = Callable[[Mapping[str, Any], ReleaseSpec, Notification, Mapping[str, Any]], None]


class Reconciler:
    def __init__(self, api_client: client.ApiClient, *, analyzer: Any = None,
                 check_prometheus: Optional[Callable[[ReleaseSpec], Optional[str]]] = None,
                 notifier: Optional[Notifier] = None, metrics: Any = None,
                 clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.timezone.utc)) -> None:
        self.api_client = api_client
        self.custom = client.CustomObjectsApi(api_client)
        self.observer = Observer(api_client, analyzer=analyzer, check_prometheus=check_prometheus)
        self.actuator = Actuator(api_client)
        self.notifier = notifier
        self.metrics = metrics
        self.clock = clock

    def fetch(self, namespace: str, name: str) -> Optional[dict[str, Any]]:
        try:
            return self.custom.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name)
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise

    def reconcile(self, namespace: str, name: str) -> Optional[Plan]:
        if self.metrics is None:
            return self._reconcile(namespace, name)
        with self.metrics.reconciling(namespace, name):
            return self._reconcile(namespace, name)

    def _reconcile(self, namespace: str, name: str) -> Optional[Plan]:
        started = time.monotonic()
        body = self.fetch(namespace, name)
        if body is None or body["metadata"].get("deletionTimestamp"):
            return None
        obs = self.observer.observe(body, self.clock())
        plan = decide(obs)
        old = parse_status(body.get("status")).status.wire()
        new = plan.status.wire()
        if new != old:
            try:
                body = self.actuator.write_status(body, new)
            except ApiException as exc:
                if exc.status == 409:
                    log.info("%s/%s changed while deciding; deciding again", namespace, name)
                    return None
                raise
        if self.metrics is not None:
            self.metrics.on_transition(body, old, new)  # every tick: a new leader fills its gauges at once
        for event in plan.events:
            log.info("%s/%s %s: %s", namespace, name, event.reason, event.message)
            self.actuator.post_event(body, event)
        if plan.act and obs.spec is not None:
            for note in plan.notifications:
                if self.notifier is not None:
                    self.notifier(body, obs.spec, note, new)
            self.actuator.apply(body, obs.spec, plan)
        log.debug("%s/%s reconciled in %.3fs", namespace, name, time.monotonic() - started)
        return plan

    def release_deleted(self, body: Mapping[str, Any]) -> None:
        """deletionPolicy Retain: the stable keeps serving after the Release is gone."""
        if self.metrics is not None:
            self.metrics.forget(body["metadata"]["namespace"], body["metadata"]["name"])
        parsed = parse_spec(body.get("spec"))
        if isinstance(parsed, SpecProblem):  # an invalid Release never created anything beyond what it owns
            return
        spec = parsed.spec
        if spec.deletion_policy != "Retain":
            return
        status = parse_status(body.get("status")).status  # even one a newer Ripcord wrote: keep the app serving
        if status.stable is None or status.stable.slot not in SLOTS:
            return
        ns, name = body["metadata"]["namespace"], body["metadata"]["name"]
        intent = traffic_intent(status.model_copy(update={"rollout": None, "canary": None}))
        assert intent is not None
        from ripcord.actuate.kube import owner_reference
        owner = owner_reference(body)
        for obj in provider_for(spec.traffic.provider).objects(name, ns, spec, intent):
            self.actuator.ensure_object(obj, owner)
        for slot in ("a", "b"):
            if slot != status.stable.slot:
                self.actuator.scale(ns, deployment_name(name, slot), 0)
        self.actuator.orphan(body)
        log.info("%s/%s deleted with deletionPolicy Retain: %s keeps serving", ns, name, status.stable.version)
