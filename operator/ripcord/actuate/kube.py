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
from ripcord.contract import (ADOPT_ANNOTATION, API_VERSION, FIELD_MANAGER, FINALIZER, GROUP, HASH_ANNOTATION, KIND,
                              PLURAL, VERSION, VERSION_ANNOTATION, SlotIntent, TrafficIntent, app_service_name,
                              controller_uid, deployment_name, owner_reference, release_labels)
from ripcord.engine.plan import Plan
from ripcord.kube.client import send
from ripcord.kube.companions import companions
from ripcord.kube.discovery import CURRENT, ApiVersions
from ripcord.kube.kinds import GENERIC, coordinates
from ripcord.kube.objects import deployment_body, pod_template
from ripcord.kube.stores import Stores
from ripcord.traffic import provider_for, userroute
from ripcord.traffic.gateway_api import route_names

log = logging.getLogger("ripcord.actuate")

Fence = Callable[[], None]  # raises ripcord.leader.NotLeading when this replica may not write
JSON_PATCH = "application/json-patch+json"  # custom objects take merge patches unless told
APPLY_PATCH = "application/apply-patch+yaml"  # server-side apply (a JSON body is valid YAML)
OWNED_KINDS = ("Deployment", "Service", "HTTPRoute", "HorizontalPodAutoscaler", "PodDisruptionBudget",
               "VirtualService", "DestinationRule")


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
                 faults: Faults = FAULTS, versions: Callable[[], ApiVersions] = lambda: CURRENT) -> None:
        self.versions = versions  # the API versions the server serves (ripcord.kube.discovery)
        self.core = client.CoreV1Api(api)
        self.apps = client.AppsV1Api(api)
        self.custom = client.CustomObjectsApi(api)
        self.api = api
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
        growing = [s for s in plan.slots if s.keep_replicas or s.replicas >= _replicas(current[s.slot])]
        shrinking = [s for s in plan.slots if not s.keep_replicas and s.replicas < _replicas(current[s.slot])]
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
        if plan.roles:
            self._companions(ns, name, spec, plan, owner)

    def _traffic(self, ns: str, name: str, spec: ReleaseSpec, plan: Plan, owner: Mapping[str, Any]) -> None:
        if plan.traffic is None:
            return
        for obj in provider_for(spec.traffic.provider).objects(name, ns, spec, plan.traffic):
            self.ensure_object(obj, owner)
        if spec.traffic.route_ref is not None and not plan.hold_route:
            self.ensure_user_route(ns, name, spec, plan.traffic, plan.route_version)
        # Routing objects of a mode the spec left (another provider, fewer ports, no subsets). The first
        # generated HTTPRoute stays: the Gateway's clients may still use it.
        istio = spec.traffic.provider == "istio"
        self.prune(ns, name, owner, "VirtualService", {app_service_name(name)} if istio else set())
        self.prune(ns, name, owner, "DestinationRule",
                   {app_service_name(name)} if istio and spec.traffic.istio.subsets else set())
        self.prune(ns, name, owner, "HTTPRoute", {app_service_name(name), *route_names(name, spec)})

    def _companions(self, ns: str, name: str, spec: ReleaseSpec, plan: Plan, owner: Mapping[str, Any]) -> None:
        """The HPA on the stable and the slots' PDBs, as the roles say; the Release's others of those kinds go."""
        wanted = companions(name, ns, spec, plan.roles)
        for obj in wanted:
            self.ensure_object(obj, owner)
        for kind in ("HorizontalPodAutoscaler", "PodDisruptionBudget"):
            self.prune(ns, name, owner, kind, {o["metadata"]["name"] for o in wanted if o["kind"] == kind})

    def prune(self, ns: str, release: str, owner: Mapping[str, Any], kind: str, keep: set[str]) -> None:
        """Delete the Release's own objects of ``kind`` (from the store) not named in ``keep``."""
        for obj in self.stores.by_kind(kind).of_release(ns, release):
            meta = obj["metadata"]
            if meta["name"] in keep or controller_uid(obj) != owner["uid"] or meta.get("deletionTimestamp"):
                continue
            group, version, plural = coordinates(kind, self.versions())
            self.fence()
            try:
                self.custom.delete_namespaced_custom_object(
                    group, version, ns, plural, meta["name"],
                    body=client.V1DeleteOptions(preconditions=client.V1Preconditions(uid=meta.get("uid"))))
            except ApiException as exc:
                if exc.status not in (404, 409):  # gone already, or another object by that name now
                    raise
            self.faults.tick("action", f"delete {kind} {meta['name']}")

    def ensure_user_route(self, ns: str, release: str, spec: ReleaseSpec, intent: TrafficIntent,
                          decided_on: Optional[str]) -> None:
        """traffic.routeRef: set the backendRefs of one rule of the user's HTTPRoute, nothing else.

        Server-side apply with Ripcord's field manager, of ``spec.rules``: the Gateway API schema
        makes ``rules`` an atomic list, so an apply must carry all of it. Every other rule and
        field goes back as the watch delivered it, and the route's resourceVersion is a
        precondition: the route must be the version the engine decided on (``decided_on``). An
        edit made since then is never written over: it is left for the next reconcile to see
        (and to report, if it changed the rule's weights). No ownerReference, label or
        annotation is added.
        """
        ref = spec.traffic.route_ref
        assert ref is not None
        current = self.stores.user_routes.get(ns, ref.name)
        if current is None:
            return  # the observer reported it (InvalidSpec); nothing to write to
        if decided_on is None or current["metadata"].get("resourceVersion") != decided_on:
            return  # changed since the decision: the watch wakes the Release to decide on the new one
        found = userroute.find_rule(current, release, ref.rule)
        if found.index is None:
            return
        refs = userroute.rule_refs(current, found.index)
        wanted = userroute.desired_refs(refs, ns, release, intent)
        if userroute.fingerprint(wanted) == userroute.fingerprint(refs):
            return
        group, version, plural = coordinates("HTTPRoute", self.versions())
        body = {"apiVersion": f"{group}/{version}", "kind": "HTTPRoute",
                "metadata": {"name": ref.name, "namespace": ns, "resourceVersion": decided_on},
                "spec": {"rules": userroute.with_rule_refs(current, found.index, wanted)}}
        self.fence()
        try:
            self.custom.patch_namespaced_custom_object(group, version, ns, plural, ref.name, body,
                                                       field_manager=FIELD_MANAGER, force=True,
                                                       _content_type=APPLY_PATCH)
        except ApiException as exc:
            if exc.status == 409:  # changed since the watch delivered it: decide again on the new one
                log.info("%s/%s: HTTPRoute %s changed before Ripcord's write; not written", ns, release, ref.name)
                return
            raise
        self.faults.tick("action", f"apply HTTPRoute {ref.name} rule {found.index}")

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
                send(self.api, "POST", f"/apis/apps/v1/namespaces/{ns}/deployments",
                     deployment_body(ns, release, intent, owner))
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
        if _replicas(current) != intent.replicas and not intent.keep_replicas:
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
        """Create a Service (or an HTTPRoute, VirtualService, DestinationRule, HPA, PDB), or bring the
        fields Ripcord sets to ``obj``'s."""
        body = {**obj, "metadata": {**obj["metadata"], "ownerReferences": [dict(owner)]}}
        ns, name, kind = body["metadata"]["namespace"], body["metadata"]["name"], body["kind"]
        if kind in GENERIC:
            group, version, _ = coordinates(kind, self.versions())
            body["apiVersion"] = f"{group}/{version}"
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
            group, version, plural = coordinates(kind, self.versions())
            self.custom.patch_namespaced_custom_object(group, version, ns, plural, name, patch)
        self.faults.tick("action", f"update {kind} {name}")

    def _read(self, kind: str, ns: str, name: str) -> Optional[dict[str, Any]]:
        try:
            if kind == "Service":
                out: dict[str, Any] = self.serialize(self.core.read_namespaced_service(name, ns))
                return out
            group, version, plural = coordinates(kind, self.versions())
            found: dict[str, Any] = self.custom.get_namespaced_custom_object(group, version, ns, plural, name)
            return found
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise

    def _create(self, kind: str, ns: str, body: dict[str, Any]) -> None:
        if kind == "Service":
            send(self.api, "POST", f"/api/v1/namespaces/{ns}/services", body)
        else:
            group, version, plural = coordinates(kind, self.versions())
            self.custom.create_namespaced_custom_object(group, version, ns, plural, body)

    # ---------------------------------------------------------------- deletion

    def orphan(self, release: Mapping[str, Any]) -> None:
        """Drop the Release's ownerReferences so garbage collection leaves its objects serving."""
        ns, name, uid = release["metadata"]["namespace"], release["metadata"]["name"], release["metadata"]["uid"]
        for kind in OWNED_KINDS:
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
                        group, version, plural = coordinates(kind, self.versions())
                        self.custom.patch_namespaced_custom_object(group, version, ns, plural,
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
            send(self.api, "POST", f"/api/v1/namespaces/{meta['namespace']}/events", body)
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
