"""Seeing a change of a ConfigMap or Secret a pod template references, without holding their values.

A template change is what starts a rollout, and the template's hash covers the data of the
ConfigMaps and Secrets it references (``ripcord.api.template``). Reading them on every
reconcile costs a GET per reference per Release per tick; watching them would stream and
cache every Secret's value in the cluster. Instead:

* one **metadata-only** watch per kind (``Accept: ...;as=PartialObjectMetadata``): the API
  server sends names and resourceVersions, never ``data``, so no value of an unrelated
  Secret ever reaches the operator;
* the hash of a template is remembered with the resourceVersions of what it references;
  only when one of those moves are the referenced objects read (a GET each), the hash
  recomputed, and the values dropped;
* a moved resourceVersion wakes the Releases whose templates reference that object.

At rest this costs nothing per Release; a changed Secret costs one GET per Release that
references it.
"""
from __future__ import annotations

import collections
import json
import logging
import threading
import time
from typing import Any, Callable, Iterator, Mapping, Optional

from kubernetes import client
from kubernetes.client.rest import ApiException

from ripcord.api.template import referenced_objects, template_hash

log = logging.getLogger(__name__)

Ref = tuple[str, str, str]  # (kind, namespace, name)
Wake = Callable[[str, str], None]  # (namespace, release)

KINDS = {"ConfigMap": "configmaps", "Secret": "secrets"}
_ACCEPT_LIST = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json"
_ACCEPT_WATCH = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json"
HASHES_KEPT = 4096


class MetadataWatch:
    """List+watch one kind's metadata cluster-wide (or in given namespaces) in a thread."""

    def __init__(self, api: client.ApiClient, kind: str, on_change: Callable[[Ref, Optional[str]], None], *,
                 namespaces: tuple[str, ...] = (), server_timeout_s: int = 240, read_timeout_s: float = 300.0) -> None:
        self.api, self.kind, self.plural = api, kind, KINDS[kind]
        self.on_change = on_change
        self.namespaces = namespaces
        self.server_timeout_s, self.read_timeout_s = server_timeout_s, read_timeout_s
        self.versions: dict[Ref, str] = {}
        self.synced = threading.Event()
        self.last_event = time.monotonic()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> "MetadataWatch":
        for ns in self.namespaces or ("",):
            t = threading.Thread(target=self._run, args=(ns,), name=f"ripcord-watch-{self.plural}-{ns or 'all'}",
                                 daemon=True)
            t.start()
            self._threads.append(t)
        return self

    def stop(self) -> None:
        self._stop.set()

    def alive(self) -> bool:
        return all(t.is_alive() for t in self._threads) and not self._stop.is_set()

    def _path(self, ns: str) -> str:
        return f"/api/v1/namespaces/{ns}/{self.plural}" if ns else f"/api/v1/{self.plural}"

    def _request(self, ns: str, params: list[tuple[str, Any]], accept: str, timeout: Any) -> Any:
        """A raw GET (the generated methods cannot ask for PartialObjectMetadata); the urllib3 response."""
        _method, url, headers, _body, _post = self.api.param_serialize(
            method="GET", resource_path=self._path(ns), query_params=params, header_params={"Accept": accept},
            auth_settings=["BearerToken"])
        resp = self.api.call_api("GET", url, header_params=headers, _request_timeout=timeout)
        if not 200 <= resp.status < 300:
            raise ApiException(status=resp.status, reason=resp.reason)
        return resp.response

    def _list(self, ns: str) -> str:
        body = json.loads(self._request(ns, [], _ACCEPT_LIST, (5.0, 30.0)).data)
        seen: dict[Ref, str] = {}
        for item in body.get("items") or []:
            meta = item.get("metadata") or {}
            seen[(self.kind, meta.get("namespace", ""), meta.get("name", ""))] = meta.get("resourceVersion", "")
        mine = {r for r in self.versions if not ns or r[1] == ns}
        for ref in mine - set(seen):
            self._set(ref, None)
        for ref, rv in seen.items():
            self._set(ref, rv)
        return str((body.get("metadata") or {}).get("resourceVersion", ""))

    def _set(self, ref: Ref, rv: Optional[str]) -> None:
        old = self.versions.get(ref)
        if rv is None:
            self.versions.pop(ref, None)
        else:
            self.versions[ref] = rv
        if old != rv:
            self.on_change(ref, rv)

    def _events(self, ns: str, rv: str) -> Iterator[Mapping[str, Any]]:
        params = [("watch", "true"), ("resourceVersion", rv), ("allowWatchBookmarks", "true"),
                  ("timeoutSeconds", self.server_timeout_s)]
        resp = self._request(ns, params, _ACCEPT_WATCH, (5.0, self.read_timeout_s))
        try:
            for line in _lines(resp):
                if self._stop.is_set():
                    return
                yield json.loads(line)
        finally:
            resp.release_conn()

    def _run(self, ns: str) -> None:
        backoff = 0.5
        rv = ""
        while not self._stop.is_set():
            try:
                if not rv:
                    rv = self._list(ns)
                    self.synced.set()
                for event in self._events(ns, rv):
                    self.last_event = time.monotonic()
                    obj = event.get("object") or {}
                    meta = obj.get("metadata") or {}
                    kind = event.get("type")
                    if kind == "ERROR":
                        if obj.get("code") == 410:
                            rv = ""  # too old: list again
                        break
                    rv = meta.get("resourceVersion") or rv
                    if kind == "BOOKMARK":
                        continue
                    ref = (self.kind, meta.get("namespace", ""), meta.get("name", ""))
                    self._set(ref, None if kind == "DELETED" else meta.get("resourceVersion", ""))
                backoff = 0.5
            except ApiException as exc:
                if exc.status == 410:
                    rv = ""
                log.warning("metadata watch of %s: %s %s", self.plural, exc.status, exc.reason)
                self._stop.wait(backoff)
                backoff = min(30.0, backoff * 2)
            except Exception as exc:  # noqa: BLE001 - the watch thread must survive anything and retry
                log.warning("metadata watch of %s: %s: %s", self.plural, type(exc).__name__, exc)
                self._stop.wait(backoff)
                backoff = min(30.0, backoff * 2)


def _lines(resp: Any) -> Iterator[bytes]:
    buf = b""
    for chunk in resp.stream(amt=65536, decode_content=True):
        buf += chunk
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            if line.strip():
                yield line
    if buf.strip():
        yield buf


class ConfigTracker:
    """Template hashes that follow the ConfigMaps and Secrets they reference."""

    def __init__(self, api: client.ApiClient, wake: Wake, *, namespaces: tuple[str, ...] = ()) -> None:
        self.core = client.CoreV1Api(api)
        self.wake = wake
        self._lock = threading.Lock()
        self._hashes: "collections.OrderedDict[tuple[Any, ...], str]" = collections.OrderedDict()
        self._readers: dict[Ref, set[tuple[str, str]]] = {}  # ref -> Releases whose template references it
        self.watches = [MetadataWatch(api, kind, self._changed, namespaces=namespaces) for kind in KINDS]

    def start(self) -> "ConfigTracker":
        for w in self.watches:
            w.start()
        return self

    def stop(self) -> None:
        for w in self.watches:
            w.stop()

    def alive(self) -> bool:
        return all(w.alive() for w in self.watches)

    def version(self, ref: Ref) -> Optional[str]:
        for w in self.watches:
            if w.kind == ref[0]:
                return w.versions.get(ref)
        return None

    def _changed(self, ref: Ref, _rv: Optional[str]) -> None:
        with self._lock:
            readers = list(self._readers.get(ref, ()))
        for ns, release in readers:
            self.wake(ns, release)

    def hash(self, namespace: str, release: str, template: Mapping[str, Any]) -> str:
        """The template's hash with the current data of what it references (read only when it moved)."""
        refs = sorted(referenced_objects(template))
        if not refs:
            return template_hash(template, None)
        full = [(kind, namespace, name) for kind, name in refs]
        with self._lock:
            for ref in full:
                self._readers.setdefault(ref, set()).add((namespace, release))
        synced = all(w.synced.is_set() for w in self.watches)
        versions = tuple(self.version(r) for r in full)
        key = (namespace, json.dumps(template, sort_keys=True, default=str), versions)
        if synced:
            with self._lock:
                if key in self._hashes:
                    self._hashes.move_to_end(key)
                    return self._hashes[key]
        data = {(kind, name): self._read(kind, namespace, name) for kind, name in refs}
        value = template_hash(template, data)
        if synced:
            with self._lock:
                self._hashes[key] = value
                while len(self._hashes) > HASHES_KEPT:
                    self._hashes.popitem(last=False)
        return value

    def _read(self, kind: str, namespace: str, name: str) -> Any:
        try:
            if kind == "ConfigMap":
                cm = self.core.read_namespaced_config_map(name, namespace)
                return {"data": cm.data, "binaryData": cm.binary_data}
            sec = self.core.read_namespaced_secret(name, namespace)
            return {"data": sec.data}
        except ApiException as exc:
            if exc.status != 404:
                raise
            return None

