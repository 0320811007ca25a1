"""ConfigMaps and Secrets referenced by pod templates: watched by metadata, read only when they moved."""
from __future__ import annotations

import json
from typing import Any

from kubernetes.client.rest import RESTResponse

from ripcord.kube.configwatch import ConfigTracker
from tests.unit.kube.fakeapi import FakeApi

NS = "shop"
CONFIGMAPS = f"/api/v1/namespaces/{NS}/configmaps"
SECRETS = f"/api/v1/namespaces/{NS}/secrets"


class MetadataApi(FakeApi):
    """The fake API server, answering ``as=PartialObjectMetadata`` as the real one does: no data."""

    def __init__(self) -> None:
        super().__init__()
        self.accepts: list[str] = []

    def call_api(self, method: str, url: str, header_params: Any = None, body: Any = None, post_params: Any = None,
                 _request_timeout: Any = None) -> Any:
        accept = str((header_params or {}).get("Accept", ""))
        self.accepts.append(accept)
        resp = super().call_api(method, url, header_params, body, post_params, _request_timeout)
        if "as=PartialObjectMetadata" in accept:
            data = json.loads(resp.read())
            for item in data.get("items") or []:
                for key in ("data", "binaryData", "stringData", "type"):
                    item.pop(key, None)
            raw = resp.response
            return RESTResponse(type(raw)(raw.status, raw.reason, json.dumps(data).encode(), raw.headers))
        return resp


def template(*refs: tuple[str, str]) -> dict[str, Any]:
    env = [{"name": f"E{i}", "valueFrom": {("configMapKeyRef" if kind == "ConfigMap" else "secretKeyRef"):
                                           {"name": name, "key": "k"}}} for i, (kind, name) in enumerate(refs)]
    return {"spec": {"containers": [{"name": "app", "image": "app:1", "env": env}]}}


def tracker() -> tuple[MetadataApi, ConfigTracker, list[tuple[str, str]]]:
    api = MetadataApi()
    api.put(CONFIGMAPS, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "web-config", "namespace": NS},
                         "data": {"k": "one"}})
    api.put(SECRETS, {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "web-token", "namespace": NS},
                      "data": {"k": "c2VjcmV0"}})
    api.put(SECRETS, {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "unrelated", "namespace": NS},
                      "data": {"k": "b3RoZXI="}})
    woken: list[tuple[str, str]] = []
    t = ConfigTracker(api, lambda ns, release: woken.append((ns, release)), namespaces=(NS,))
    for w in t.watches:  # what each watch thread does first: one metadata list
        w._list(NS)
        w.synced.set()
    return api, t, woken


def test_the_watches_list_metadata_only_and_hold_no_value() -> None:
    api, t, _ = tracker()
    assert len(api.accepts) == 2 and all("as=PartialObjectMetadataList" in a for a in api.accepts)
    versions = {ref: rv for w in t.watches for ref, rv in w.versions.items()}
    assert set(versions) == {("ConfigMap", NS, "web-config"), ("Secret", NS, "web-token"), ("Secret", NS, "unrelated")}
    assert all(isinstance(rv, str) and rv for rv in versions.values()), "resourceVersions, nothing else"


def test_a_template_is_hashed_from_a_read_once_and_read_again_only_when_a_reference_moved() -> None:
    api, t, woken = tracker()
    tpl = template(("ConfigMap", "web-config"), ("Secret", "web-token"))
    api.calls.clear()
    first = t.hash(NS, "web", tpl)
    assert sorted(c.resource for c in api.calls if c.verb == "get") == ["configmaps", "secrets"]
    api.calls.clear()
    assert t.hash(NS, "web", tpl) == first and api.calls == [], "nothing moved: nothing read"

    # the unrelated Secret changes: nobody is woken, nothing is read
    changed = api.get(f"{SECRETS}/unrelated")
    assert changed is not None
    api.put(SECRETS, {**changed, "data": {"k": "bmV3"}})
    secrets = next(w for w in t.watches if w.kind == "Secret")
    secrets._set(("Secret", NS, "unrelated"), api.get(f"{SECRETS}/unrelated")["metadata"]["resourceVersion"])  # type: ignore[index]
    assert woken == [] and t.hash(NS, "web", tpl) == first and api.calls == []

    # the referenced ConfigMap changes: the Release is woken, that one object is read, the hash moves
    cm = api.get(f"{CONFIGMAPS}/web-config")
    assert cm is not None
    moved = api.put(CONFIGMAPS, {**cm, "data": {"k": "two"}})
    configmaps = next(w for w in t.watches if w.kind == "ConfigMap")
    configmaps._set(("ConfigMap", NS, "web-config"), moved["metadata"]["resourceVersion"])
    assert woken == [(NS, "web")]
    second = t.hash(NS, "web", tpl)
    assert second != first
    assert sorted(c.resource for c in api.calls if c.verb == "get") == ["configmaps", "secrets"]


def test_a_template_without_references_reads_nothing() -> None:
    api, t, _ = tracker()
    api.calls.clear()
    t.hash(NS, "web", template())
    assert api.calls == []
