"""The only code that writes to the cluster: status, finalizer, Deployments, Services, routes, Events.

Every write converges an object to what the plan says, compared against the watch-fed
stores (no GET first), so applying the same plan twice changes nothing the second time and
a restarted operator re-applies the plan of the status it finds and lands in the same place.

Three rules hold for every write:

* **fenced**: nothing is written unless this replica leads at that moment (``fence``);
* **owned**: an object is changed only if its controlling ownerReference is this Release,
  or it has none and carries ``ripcord.dev/adopt: <release>`` (it is then adopted); anything
  else with the name Ripcord wants is a :class:`CollisionFound`, and nothing is written;
* **bounded**: every request has the client's timeout (``ripcord.kube.client``).
"""
from __future__ import annotations

import datetime as dt
import logging
import os
from typing import Any, Callable, Mapping, Optional

from kubernetes import client
from kubernetes.client.rest import ApiException

from ripcord.api.models import OutboxItem, ReleaseSpec
from ripcord.contract import (ADOPT_ANNOTATION, API_VERSION, FINALIZER, GROUP, HASH_ANNOTATION, KIND, PLURAL,
                              ROUTE_GROUP, ROUTE_PLURAL, ROUTE_VERSION, VERSION, VERSION_ANNOTATION, SlotIntent,
                              controller_uid, deployment_name, owner_reference, release_labels)
from ripcord.engine.plan import Plan
from ripcord.kube.objects import deployment_body, pod_template
from ripcord.kube.stores import Stores
from ripcord.traffic import provider_for

log = logging.getLogger("ripcord.actuate")

Fence = Callable[[], None]  # raises ripcord.leader.NotLeading when this replica may not write
JSON_PATCH = "application/json-patch+json"  # custom objects take merge patches unless told


class CollisionFound(Exception):
    def __init__(self, kind: str, name: str, owner: str) -> None:
        super().__init__(f"{kind} {name} belongs to {owner}")
        self.kind, self.name, self.owner = kind, name, owner


def always_leading() -> None:
    return None


class Faults:
    """Crash-test hook: ``RIPCORD_FAULT=status:N`` or ``action:N`` kills the process right after
    the N-th status write or cluster action. Used by the restart tests; inert otherwise."""

    def __init__(self, spec: Optional[str]) -> None:
        self.kind: Optional[str] = None
        self.at = 0
        if spec:
            kind, _, n = spec.partition(":")
            self.kind, self.at = kind, int(n or 1)
        self.counts = {"status": 0, "action": 0}

    def tick(self, kind: str, what: str) -> None:
        if self.kind is None:
            return
        self.counts[kind] += 1
        if kind == self.kind and self.counts[kind] == self.at:
            log.warning("fault injection: exiting after %s #%d (%s)", kind, self.at, what)
            logging.shutdown()
            os._exit(137)


FAULTS = Faults(os.environ.get("RIPCORD_FAULT"))


def _replicas(obj: Optional[Mapping[str, Any]]) -> int:
    if obj is None:
        return 0
    return int((obj.get("spec") or {}).get("replicas") or 0)


class Actuator:
    def __init__(self, api: client.ApiClient, stores: Stores, *, fence: Fence = always_leading,
                 faults: Faults = FAULTS) -> None:
        self.core = client.CoreV1Api(api)
        self.apps = client.AppsV1Api(api)
        self.custom = client.CustomObjectsApi(api)
        self.serialize = api.sanitize_for_serialization
        self.stores = stores
        self.fence = fence
        self.faults = faults

    # ---------------------------------------------------------------- the Release itself

    def patch_status(self, release: Mapping[str, Any], patch: Mapping[str, Any]) -> None:
        """A merge patch of the status (not guarded: for the reconcile-error condition only)."""
        meta = release["metadata"]
        self.fence()
        self.custom.patch_namespaced_custom_object_status(GROUP, VERSION, meta["namespace"], PLURAL, meta["name"],
                                                          dict(patch))

    def write_status(self, release: Mapping[str, Any], status: dict[str, Any]) -> dict[str, Any]:
        """Replace the status subresource, guarded by resourceVersion (a 409 means: observe again)."""
        meta = release["metadata"]
        body = {"apiVersion": release.get("apiVersion", API_VERSION), "kind": release.get("kind", KIND),
                "metadata": {"name": meta["name"], "namespace": meta["namespace"],
                             "resourceVersion": meta["resourceVersion"]},
                "spec": release.get("spec") or {}, "status": status}
        self.fence()
        out: dict[str, Any] = self.custom.replace_namespaced_custom_object_status(
            GROUP, VERSION, meta["namespace"], PLURAL, meta["name"], body)
        self.faults.tick("status", "status write")
        return out

    def add_finalizer(self, release: Mapping[str, Any]) -> dict[str, Any]:
        return self._finalizers(release, [*(release["metadata"].get("finalizers") or []), FINALIZER])

    def remove_finalizer(self, release: Mapping[str, Any]) -> None:
        try:
            self._finalizers(release, [f for f in release["metadata"].get("finalizers") or [] if f != FINALIZER])
        except ApiException as exc:
            if exc.status != 404:
                raise

    def _finalizers(self, release: Mapping[str, Any], finalizers: list[str]) -> dict[str, Any]:
        meta = release["metadata"]
        patch = [{"op": "test", "path": "/metadata/resourceVersion", "value": meta["resourceVersion"]},
                 {"op": "replace" if "finalizers" in meta else "add", "path": "/metadata/finalizers",
                  "value": finalizers}]
        self.fence()
        out: dict[str, Any] = self.custom.patch_namespaced_custom_object(
            GROUP, VERSION, meta["namespace"], PLURAL, meta["name"], patch, _content_type=JSON_PATCH)
        return out

    # ---------------------------------------------------------------- the plan

    def apply(self, release: Mapping[str, Any], spec: ReleaseSpec, plan: Plan) -> None:
        ns, name = release["metadata"]["namespace"], release["metadata"]["name"]
        owner = owner_reference(release)
        current = {s.slot: self.stores.deployments.get(ns, deployment_name(name, s.slot)) for s in plan.slots}
        # Slots that grow first, then traffic, then slots that shrink: traffic never points at missing pods.
        growing = [s for s in plan.slots if s.replicas >= _replicas(current[s.slot])]
        shrinking = [s for s in plan.slots if s.replicas < _replicas(current[s.slot])]
        # Draining (weight 0: rollback, supersede) moves traffic before any pod is replaced.
        draining = plan.traffic is not None and plan.traffic.weight == 0
        if draining:
            self._traffic(ns, name, spec, plan, owner)
        for intent in growing:
            self.ensure_deployment(ns, name, intent, owner, current[intent.slot])
        if not draining:
            self._traffic(ns, name, spec, plan, owner)
        for intent in shrinking:
            self.ensure_deployment(ns, name, intent, owner, current[intent.slot])
        if plan.adopt_scale_down:
            self.scale(ns, plan.adopt_scale_down, 0)

    def _traffic(self, ns: str, name: str, spec: ReleaseSpec, plan: Plan, owner: Mapping[str, Any]) -> None:
        if plan.traffic is None:
            return
        for obj in provider_for(spec.traffic.provider).objects(name, ns, spec, plan.traffic):
            self.ensure_object(obj, owner)

    def _claim(self, kind: str, current: Mapping[str, Any], owner: Mapping[str, Any]) -> bool:
        """Whether Ripcord may write ``current``; True when it must first be adopted. Raises on a collision."""
        uid = controller_uid(current)
        if uid == owner["uid"]:
            return False
        meta = current.get("metadata") or {}
        if uid is None and (meta.get("annotations") or {}).get(ADOPT_ANNOTATION) == owner["name"]:
            return True
        who = "another owner" if uid else "no Release (it was not created by Ripcord)"
        raise CollisionFound(kind, meta.get("name", "?"), who)

    def ensure_deployment(self, ns: str, release: str, intent: SlotIntent, owner: Mapping[str, Any],
                          current: Optional[Mapping[str, Any]]) -> None:
        name = deployment_name(release, intent.slot)
        if current is None:
            if intent.template is None or intent.replicas == 0:
                return  # nothing to run there yet
            try:
                self.fence()
                self.apps.create_namespaced_deployment(ns, deployment_body(ns, release, intent, owner))
                self.faults.tick("action", f"create deployment {name}")
                return
            except ApiException as exc:
                if exc.status != 409:
                    raise
                current = self.serialize(self.apps.read_namespaced_deployment(name, ns))  # the cache lagged
        assert current is not None
        adopt = self._claim("Deployment", current, owner)
        meta = current["metadata"]
        annotations = meta.get("annotations") or {}
        ops: list[dict[str, Any]] = [{"op": "test", "path": "/metadata/uid", "value": meta.get("uid")}]
        if adopt:
            ops.append({"op": "add", "path": "/metadata/ownerReferences", "value": [dict(owner)]})
        new_template = intent.template is not None and annotations.get(HASH_ANNOTATION) != intent.template_hash
        if new_template:
            ann = {**annotations, HASH_ANNOTATION: intent.template_hash or "", VERSION_ANNOTATION: intent.version or ""}
            # The template is replaced wholesale: a strategic merge would merge container lists.
            ops += [{"op": "add", "path": "/metadata/annotations", "value": ann},
                    {"op": "replace", "path": "/spec/template", "value": pod_template(release, intent)}]
        elif intent.version and annotations.get(VERSION_ANNOTATION) != intent.version \
                and annotations.get(HASH_ANNOTATION) == intent.template_hash:
            ops.append({"op": "add", "path": "/metadata/annotations",
                        "value": {**annotations, VERSION_ANNOTATION: intent.version}})
        if _replicas(current) != intent.replicas:
            ops.append({"op": "replace", "path": "/spec/replicas", "value": intent.replicas})
        if len(ops) > 1:
            self.fence()
            self.apps.patch_namespaced_deployment(name, ns, ops)
            self.faults.tick("action", f"update deployment {name}")

    def scale(self, ns: str, name: str, replicas: int) -> None:
        """Scale a Deployment Ripcord adopted through workloadRef (not one it owns: those are intents)."""
        try:
            self.fence()
            self.apps.patch_namespaced_deployment(name, ns, {"spec": {"replicas": replicas}})
            self.faults.tick("action", f"scale {name}")
        except ApiException as exc:
            if exc.status != 404:
                raise

    def ensure_object(self, obj: Mapping[str, Any], owner: Mapping[str, Any]) -> None:
        """Create a Service or HTTPRoute, or bring the fields Ripcord sets to ``obj``'s."""
        body = {**obj, "metadata": {**obj["metadata"], "ownerReferences": [dict(owner)]}}
        ns, name, kind = body["metadata"]["namespace"], body["metadata"]["name"], body["kind"]
        current = self.stores.by_kind(kind).get(ns, name)
        if current is None:
            try:
                self.fence()
                self._create(kind, ns, body)
                self.faults.tick("action", f"create {kind} {name}")
                return
            except ApiException as exc:
                if exc.status != 409:
                    raise
                current = self._read(kind, ns, name)  # the cache lagged, or it is someone else's
                if current is None:
                    return
        adopt = self._claim(kind, current, owner)
        if not adopt and spec_matches(current.get("spec") or {}, body["spec"]):
            return
        patch: dict[str, Any] = {"spec": dict(body["spec"])}
        if adopt:
            patch["metadata"] = {"ownerReferences": [dict(owner)], "labels": dict(body["metadata"]["labels"])}
        self.fence()
        if kind == "Service":
            selector = dict(body["spec"]["selector"])
            for key in (current.get("spec") or {}).get("selector") or {}:  # keys that must go: explicit nulls
                selector.setdefault(key, None)
            patch["spec"] = {"selector": selector, "ports": body["spec"]["ports"]}
            self.core.patch_namespaced_service(name, ns, patch)
        else:
            self.custom.patch_namespaced_custom_object(ROUTE_GROUP, ROUTE_VERSION, ns, ROUTE_PLURAL, name, patch)
        self.faults.tick("action", f"update {kind} {name}")

    def _read(self, kind: str, ns: str, name: str) -> Optional[dict[str, Any]]:
        try:
            if kind == "Service":
                out: dict[str, Any] = self.serialize(self.core.read_namespaced_service(name, ns))
                return out
            route: dict[str, Any] = self.custom.get_namespaced_custom_object(ROUTE_GROUP, ROUTE_VERSION, ns,
                                                                             ROUTE_PLURAL, name)
            return route
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise

    def _create(self, kind: str, ns: str, body: dict[str, Any]) -> None:
        if kind == "Service":
            self.core.create_namespaced_service(ns, body)
        else:
            self.custom.create_namespaced_custom_object(ROUTE_GROUP, ROUTE_VERSION, ns, ROUTE_PLURAL, body)

    # ---------------------------------------------------------------- deletion

    def orphan(self, release: Mapping[str, Any]) -> None:
        """Drop the Release's ownerReferences so garbage collection leaves its objects serving."""
        ns, name, uid = release["metadata"]["namespace"], release["metadata"]["name"], release["metadata"]["uid"]
        for kind in ("Deployment", "Service", "HTTPRoute"):
            for obj in self.stores.by_kind(kind).of_release(ns, name):
                refs = obj["metadata"].get("ownerReferences") or []
                keep = [r for r in refs if r.get("uid") != uid]
                if len(keep) == len(refs):
                    continue
                patch = [{"op": "test", "path": "/metadata/uid", "value": obj["metadata"].get("uid")},
                         {"op": "replace", "path": "/metadata/ownerReferences", "value": keep} if keep else
                         {"op": "remove", "path": "/metadata/ownerReferences"}]
                self.fence()
                try:
                    if kind == "Deployment":
                        self.apps.patch_namespaced_deployment(obj["metadata"]["name"], ns, patch)
                    elif kind == "Service":
                        self.core.patch_namespaced_service(obj["metadata"]["name"], ns, patch)
                    else:
                        self.custom.patch_namespaced_custom_object(ROUTE_GROUP, ROUTE_VERSION, ns, ROUTE_PLURAL,
                                                                   obj["metadata"]["name"], patch,
                                                                   _content_type=JSON_PATCH)
                except ApiException as exc:
                    if exc.status not in (404, 422):
                        raise

    # ---------------------------------------------------------------- events

    def post_event(self, release: Mapping[str, Any], item: OutboxItem) -> None:
        """Create the Event of an outbox item. Its name derives from the item's key, so posting it
        again after a crash finds it already there (409) and creates no duplicate."""
        meta = release["metadata"]
        at = item.at or dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        body = {
            "metadata": {"name": f"{meta['name']}.{meta['uid']}.{item.key}", "namespace": meta["namespace"],
                         "labels": release_labels(meta["name"])},
            "involvedObject": {"apiVersion": API_VERSION, "kind": KIND, "name": meta["name"],
                               "namespace": meta["namespace"], "uid": meta["uid"],
                               "resourceVersion": meta.get("resourceVersion")},
            "reason": item.reason, "message": item.message[:1024], "type": item.type,
            "source": {"component": "ripcord"}, "reportingComponent": "ripcord.dev/operator",
            "reportingInstance": os.environ.get("HOSTNAME", "ripcord"),
            "firstTimestamp": at, "lastTimestamp": at, "count": 1,
        }
        self.fence()
        try:
            self.core.create_namespaced_event(meta["namespace"], body)
        except ApiException as exc:
            if exc.status != 409:  # 409: posted before a crash; delivered
                raise


def spec_matches(current: Mapping[str, Any], wanted: Mapping[str, Any]) -> bool:
    """Whether every field we set is already as wanted (server defaults may add others)."""
    for key, value in wanted.items():
        have = current.get(key)
        if isinstance(value, Mapping):
            if not isinstance(have, Mapping) or not spec_matches(have, value) or \
                    (key == "selector" and set(have) != set(value)):
                return False
        elif isinstance(value, list):
            if not value and not have:
                continue  # an empty list we set is an absent one (a server may drop it)
            if not isinstance(have, list) or len(have) != len(value):
                return False
            for a, b in zip(have, value):
                if isinstance(b, Mapping):
                    if not isinstance(a, Mapping) or not spec_matches(a, b):
                        return False
                elif a != b:
                    return False
        elif have != value:
            return False
    return True
