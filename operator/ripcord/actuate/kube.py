"""The only code that writes to the cluster: status, Deployments, Services, routes, Events.

Every write converges an object to what the plan says, so applying the same plan twice
changes nothing the second time; a restarted operator re-applies the plan of the status
it finds and lands in the same place.
"""
from __future__ import annotations

import copy
import datetime as dt
import logging
import os
import secrets
from typing import Any, Mapping, Optional

from kubernetes import client
from kubernetes.client.rest import ApiException

from ripcord.api.models import GROUP, PLURAL, VERSION, ReleaseSpec
from ripcord.engine.plan import EventIntent, Plan, SlotIntent
from ripcord.traffic import provider_for
from ripcord.traffic.base import MANAGED_BY, RELEASE_LABEL, SLOT_LABEL, deployment_name, slot_selector
from ripcord.traffic.gateway_api import ROUTE_GROUP, ROUTE_VERSION

log = logging.getLogger("ripcord.actuate")

HASH_ANNOTATION = "ripcord.dev/template-hash"
VERSION_ANNOTATION = "ripcord.dev/version"


class Faults:
    """Crash-test hook: ``RIPCORD_FAULT=status:N`` or ``action:N`` kills the process right after
    the N-th status write or cluster action. Used by the restart tests; inert otherwise."""

    def __init__(self, spec: Optional[str]) -> None:
        self.kind, self.at = None, 0
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


def owner_reference(release: Mapping[str, Any]) -> dict[str, Any]:
    meta = release["metadata"]
    return {"apiVersion": f"{GROUP}/{VERSION}", "kind": "Release", "name": meta["name"], "uid": meta["uid"],
            "controller": True, "blockOwnerDeletion": True}


class Actuator:
    def __init__(self, api_client: client.ApiClient) -> None:
        self.core = client.CoreV1Api(api_client)
        self.apps = client.AppsV1Api(api_client)
        self.custom = client.CustomObjectsApi(api_client)

    # ---------------------------------------------------------------- status

    def write_status(self, release: Mapping[str, Any], status: dict[str, Any]) -> dict[str, Any]:
        """Replace the status subresource, guarded by resourceVersion (a 409 means: observe again)."""
        body = {"apiVersion": release["apiVersion"], "kind": release["kind"],
                "metadata": {"name": release["metadata"]["name"], "namespace": release["metadata"]["namespace"],
                             "resourceVersion": release["metadata"]["resourceVersion"]},
                "spec": release.get("spec") or {}, "status": status}
        out = self.custom.replace_namespaced_custom_object_status(
            GROUP, VERSION, release["metadata"]["namespace"], PLURAL, release["metadata"]["name"], body)
        FAULTS.tick("status", "status write")
        return out

    # ---------------------------------------------------------------- the plan

    def apply(self, release: Mapping[str, Any], spec: ReleaseSpec, plan: Plan) -> None:
        ns, name = release["metadata"]["namespace"], release["metadata"]["name"]
        owner = owner_reference(release)
        # Slots that grow first, then traffic, then slots that shrink: traffic never points at missing pods.
        current = {s.slot: self._deployment(ns, deployment_name(name, s.slot)) for s in plan.slots}
        growing = [s for s in plan.slots if s.replicas >= _replicas(current[s.slot])]
        shrinking = [s for s in plan.slots if s.replicas < _replicas(current[s.slot])]
        # Draining (weight 0: rollback, supersede) moves traffic before any pod is replaced.
        draining = plan.traffic is not None and plan.traffic.weight == 0
        if draining:
            self._traffic(ns, name, spec, plan, owner)
        for intent in growing:
            self.ensure_deployment(ns, name, spec, intent, owner, current[intent.slot])
        if not draining:
            self._traffic(ns, name, spec, plan, owner)
        for intent in shrinking:
            self.ensure_deployment(ns, name, spec, intent, owner, current[intent.slot])
        if plan.adopt_scale_down:
            self.scale(ns, plan.adopt_scale_down, 0)

    def _traffic(self, ns: str, name: str, spec: ReleaseSpec, plan: Plan, owner: Mapping[str, Any]) -> None:
        if plan.traffic is None:
            return
        for obj in provider_for(spec.traffic.provider).objects(name, ns, spec, plan.traffic):
            self.ensure_object(obj, owner)

    def _deployment(self, ns: str, name: str) -> Optional[dict[str, Any]]:
        try:
            return self.apps.api_client.sanitize_for_serialization(self.apps.read_namespaced_deployment(name, ns))
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise

    def deployment_body(self, ns: str, release: str, spec: ReleaseSpec, intent: SlotIntent,
                        owner: Mapping[str, Any]) -> dict[str, Any]:
        assert intent.template is not None
        template = copy.deepcopy(dict(intent.template))
        meta = template.setdefault("metadata", {})
        labels = dict(meta.get("labels") or {})
        for key in list(labels):
            if key == "app.kubernetes.io/instance" or key.startswith("kustomize.toolkit.fluxcd.io/"):
                labels.pop(key)
        labels.update(slot_selector(release, intent.slot))
        meta["labels"] = labels
        meta["annotations"] = {**(meta.get("annotations") or {}), HASH_ANNOTATION: intent.template_hash or ""}
        return {
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": deployment_name(release, intent.slot), "namespace": ns,
                         "labels": {**MANAGED_BY, RELEASE_LABEL: release, SLOT_LABEL: intent.slot},
                         "annotations": {HASH_ANNOTATION: intent.template_hash or "",
                                         VERSION_ANNOTATION: intent.version or ""},
                         "ownerReferences": [dict(owner)]},
            "spec": {"replicas": intent.replicas, "selector": {"matchLabels": slot_selector(release, intent.slot)},
                     "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 0}},
                     "template": template},
        }

    def ensure_deployment(self, ns: str, release: str, spec: ReleaseSpec, intent: SlotIntent,
                          owner: Mapping[str, Any], current: Optional[Mapping[str, Any]]) -> None:
        name = deployment_name(release, intent.slot)
        if current is None:
            if intent.template is None or intent.replicas == 0:
                return  # nothing to run there yet
            self.apps.create_namespaced_deployment(ns, self.deployment_body(ns, release, spec, intent, owner))
            FAULTS.tick("action", f"create deployment {name}")
            return
        patch: dict[str, Any] = {}
        annotations = current["metadata"].get("annotations") or {}
        if intent.template is not None and annotations.get(HASH_ANNOTATION) != intent.template_hash:
            body = self.deployment_body(ns, release, spec, intent, owner)
            patch = {"metadata": {"annotations": body["metadata"]["annotations"]},
                     "spec": {"template": body["spec"]["template"], "replicas": intent.replicas}}
        elif intent.version and annotations.get(VERSION_ANNOTATION) != intent.version \
                and annotations.get(HASH_ANNOTATION) == intent.template_hash:
            patch = {"metadata": {"annotations": {VERSION_ANNOTATION: intent.version}}}
        if _replicas(current) != intent.replicas:
            patch.setdefault("spec", {})["replicas"] = intent.replicas
        if patch:
            if "template" in patch.get("spec", {}):
                # a strategic merge would merge container lists; replace the template wholesale
                full = copy.deepcopy(dict(current))
                full["metadata"]["annotations"] = {**annotations, **patch["metadata"]["annotations"]}
                full["spec"]["template"] = patch["spec"]["template"]
                full["spec"]["replicas"] = patch["spec"]["replicas"]
                full.pop("status", None)
                self.apps.replace_namespaced_deployment(name, ns, full)
            else:
                self.apps.patch_namespaced_deployment(name, ns, patch)
            FAULTS.tick("action", f"update deployment {name}")

    def scale(self, ns: str, name: str, replicas: int) -> None:
        try:
            self.apps.patch_namespaced_deployment(name, ns, {"spec": {"replicas": replicas}})
            FAULTS.tick("action", f"scale {name}")
        except ApiException as exc:
            if exc.status != 404:
                raise

    def ensure_object(self, obj: Mapping[str, Any], owner: Mapping[str, Any]) -> None:
        """Create a Service or HTTPRoute, or bring its spec to ``obj``'s."""
        body = copy.deepcopy(dict(obj))
        body["metadata"]["ownerReferences"] = [dict(owner)]
        ns, name, kind = body["metadata"]["namespace"], body["metadata"]["name"], body["kind"]
        current = self._read(kind, ns, name)
        if current is None:
            self._create(kind, ns, body)
            FAULTS.tick("action", f"create {kind} {name}")
            return
        if _spec_matches(current.get("spec") or {}, body["spec"]):
            return
        if kind == "Service":
            patch = {"spec": {"selector": body["spec"]["selector"], "ports": body["spec"]["ports"]}}
            # selector keys that must go away need explicit nulls in a merge patch
            for key in (current.get("spec", {}).get("selector") or {}):
                if key not in body["spec"]["selector"]:
                    patch["spec"]["selector"][key] = None
            self.core.patch_namespaced_service(name, ns, patch)
        else:
            self.custom.patch_namespaced_custom_object(ROUTE_GROUP, ROUTE_VERSION, ns, "httproutes", name,
                                                       {"spec": body["spec"]})
        FAULTS.tick("action", f"update {kind} {name}")

    def _read(self, kind: str, ns: str, name: str) -> Optional[dict[str, Any]]:
        try:
            if kind == "Service":
                return self.core.api_client.sanitize_for_serialization(self.core.read_namespaced_service(name, ns))
            return self.custom.get_namespaced_custom_object(ROUTE_GROUP, ROUTE_VERSION, ns, "httproutes", name)
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise

    def _create(self, kind: str, ns: str, body: dict[str, Any]) -> None:
        if kind == "Service":
            self.core.create_namespaced_service(ns, body)
        else:
            self.custom.create_namespaced_custom_object(ROUTE_GROUP, ROUTE_VERSION, ns, "httproutes", body)

    # ---------------------------------------------------------------- events

    def post_event(self, release: Mapping[str, Any], event: EventIntent) -> None:
        meta = release["metadata"]
        now = dt.datetime.now(dt.timezone.utc)
        body = {
            "metadata": {"name": f"{meta['name']}.{secrets.token_hex(6)}", "namespace": meta["namespace"]},
            "involvedObject": {"apiVersion": f"{GROUP}/{VERSION}", "kind": "Release", "name": meta["name"],
                               "namespace": meta["namespace"], "uid": meta["uid"],
                               "resourceVersion": meta.get("resourceVersion")},
            "reason": event.reason, "message": event.message[:1024], "type": event.type,
            "source": {"component": "ripcord"}, "reportingComponent": "ripcord.dev/operator",
            "reportingInstance": os.environ.get("HOSTNAME", "ripcord"),
            "firstTimestamp": now.isoformat(), "lastTimestamp": now.isoformat(), "count": 1,
        }
        try:
            self.core.create_namespaced_event(meta["namespace"], body)
        except ApiException as exc:  # an Event is never worth failing a reconcile for
            log.warning("could not post event %s: %s", event.reason, exc.reason)

    # ---------------------------------------------------------------- deletion

    def orphan(self, release: Mapping[str, Any], kinds: tuple[str, ...] = ("Deployment", "Service", "HTTPRoute")) -> None:
        """Drop the Release's ownerReferences so garbage collection leaves these objects serving."""
        ns, uid = release["metadata"]["namespace"], release["metadata"]["uid"]
        selector = f"{RELEASE_LABEL}={release['metadata']['name']}"
        if "Deployment" in kinds:
            for d in self.apps.list_namespaced_deployment(ns, label_selector=selector).items:
                self._drop_owner(d.metadata.owner_references, uid, lambda refs, n=d.metadata.name:
                                 self.apps.patch_namespaced_deployment(n, ns, _owner_refs_patch(refs)))
        if "Service" in kinds:
            for s in self.core.list_namespaced_service(ns, label_selector=selector).items:
                self._drop_owner(s.metadata.owner_references, uid, lambda refs, n=s.metadata.name:
                                 self.core.patch_namespaced_service(n, ns, _owner_refs_patch(refs)))
        if "HTTPRoute" in kinds:
            try:
                routes = self.custom.list_namespaced_custom_object(ROUTE_GROUP, ROUTE_VERSION, ns, "httproutes",
                                                                   label_selector=selector)["items"]
            except ApiException as exc:
                routes = [] if exc.status == 404 else None
                if routes is None:
                    raise
            for r in routes:
                refs = [x for x in r["metadata"].get("ownerReferences") or [] if x.get("uid") != uid]
                if len(refs) != len(r["metadata"].get("ownerReferences") or []):
                    self.custom.patch_namespaced_custom_object(ROUTE_GROUP, ROUTE_VERSION, ns, "httproutes",
                                                               r["metadata"]["name"], {"metadata": {"ownerReferences": refs}})

    @staticmethod
    def _drop_owner(refs: Any, uid: str, patch: Any) -> None:
        refs = refs or []
        keep = [client.ApiClient().sanitize_for_serialization(r) for r in refs if r.uid != uid]
        if len(keep) != len(refs):
            patch(keep)


def _owner_refs_patch(refs: list[Any]) -> list[dict[str, Any]]:
    """A JSON patch: a strategic merge would merge the list by uid and drop nothing."""
    if not refs:
        return [{"op": "remove", "path": "/metadata/ownerReferences"}]
    return [{"op": "replace", "path": "/metadata/ownerReferences", "value": refs}]


def _replicas(deployment: Optional[Mapping[str, Any]]) -> int:
    if deployment is None:
        return 0
    return int((deployment.get("spec") or {}).get("replicas") or 0)


def _spec_matches(current: Mapping[str, Any], wanted: Mapping[str, Any]) -> bool:
    """Whether every field we set is already as wanted (server defaults may add others)."""
    for key, value in wanted.items():
        have = current.get(key)
        if isinstance(value, Mapping):
            if not isinstance(have, Mapping) or not _spec_matches(have, value) or \
                    (key == "selector" and set(have) != set(value)):
                return False
        elif isinstance(value, list):
            if not isinstance(have, list) or len(have) != len(value):
                return False
            for a, b in zip(have, value):
                if isinstance(b, Mapping):
                    if not isinstance(a, Mapping) or not _spec_matches(a, b):
                        return False
                elif a != b:
                    return False
        elif have != value:
            return False
    return True
