"""A small in-memory API server behind a real ``kubernetes.client.ApiClient``.

The generated client code (serialisation, content types, exceptions) runs for real; only
the HTTP round trip is replaced. Objects live by URL path; every request is recorded as
(verb, resource, name), in order, so tests can say exactly what the edge read and wrote.
"""
from __future__ import annotations

import copy
import dataclasses
import itertools
import json
from typing import Any, Optional
from urllib.parse import parse_qs, urlsplit

from kubernetes import client
from kubernetes.client.rest import RESTResponse

from ripcord.telemetry.kubecalls import classify

VERBS = {"GET": "get", "LIST": "list", "WATCH": "watch", "POST": "create", "PUT": "update", "PATCH": "patch",
         "DELETE": "delete"}


@dataclasses.dataclass
class _Raw:
    status: int
    reason: str
    data: bytes
    headers: dict[str, str]


@dataclasses.dataclass(frozen=True)
class Call:
    verb: str
    resource: str
    name: str
    body: Any = None
    dry_run: bool = False
    content_type: str = ""
    query: tuple[tuple[str, str], ...] = ()


def _split(path: str) -> tuple[str, Optional[str], Optional[str]]:
    """(collection path, name, subresource) of an API path."""
    segs = [s for s in path.split("/") if s]
    head = 2 if segs[0] == "api" else 3
    rest = segs[head:]
    prefix = segs[:head]
    if rest[:1] == ["namespaces"] and len(rest) >= 3:
        prefix, rest = prefix + rest[:2], rest[2:]
    collection = "/" + "/".join(prefix + rest[:1])
    name = rest[1] if len(rest) > 1 else None
    sub = rest[2] if len(rest) > 2 else None
    return collection, name, sub


def _json_patch(obj: dict[str, Any], ops: list[dict[str, Any]]) -> Optional[str]:
    """Apply RFC 6902 ops (test/add/replace/remove, object paths only); a failure message or None."""
    for op in ops:
        parts = [p.replace("~1", "/").replace("~0", "~") for p in op["path"].split("/")[1:]]
        parent = obj
        for p in parts[:-1]:
            parent = parent.setdefault(p, {})
        last = parts[-1]
        if op["op"] == "test":
            if parent.get(last) != op["value"]:
                return f"test failed at {op['path']}"
        elif op["op"] in ("add", "replace"):
            if op["op"] == "replace" and last not in parent:
                return f"replace of a missing {op['path']}"
            parent[last] = copy.deepcopy(op["value"])
        elif op["op"] == "remove":
            if last not in parent:
                return f"remove of a missing {op['path']}"
            del parent[last]
    return None


def _merge(obj: dict[str, Any], patch: dict[str, Any]) -> None:
    for k, v in patch.items():
        if v is None:
            obj.pop(k, None)
        elif isinstance(v, dict) and isinstance(obj.get(k), dict):
            _merge(obj[k], v)
        else:
            obj[k] = copy.deepcopy(v)


class FakeApi(client.ApiClient):  # type: ignore[misc]
    def __init__(self) -> None:
        super().__init__(client.Configuration(host="https://fake.invalid"))
        self.objects: dict[str, dict[str, Any]] = {}  # full path -> object
        self.calls: list[Call] = []
        self.fail: dict[tuple[str, str], int] = {}  # (verb, resource) -> HTTP status, once
        self._rv = itertools.count(100)
        self._uid = itertools.count(1)

    # ---------------------------------------------------------------- test helpers

    def put(self, path: str, obj: dict[str, Any]) -> dict[str, Any]:
        """Store ``obj`` at the collection ``path`` (its name from metadata), with rv and uid."""
        obj = copy.deepcopy(obj)
        meta = obj.setdefault("metadata", {})
        meta.setdefault("uid", f"uid-{next(self._uid)}")
        meta["resourceVersion"] = str(next(self._rv))
        meta.setdefault("generation", 1)
        self.objects[f"{path}/{meta['name']}"] = obj
        return copy.deepcopy(obj)

    def get(self, path: str) -> Optional[dict[str, Any]]:
        return copy.deepcopy(self.objects.get(path))

    def writes(self) -> list[Call]:
        return [c for c in self.calls if c.verb not in ("get", "list", "watch")]

    def summary(self) -> list[tuple[str, str]]:
        return [(c.verb, c.resource) for c in self.calls]

    # ---------------------------------------------------------------- the server

    def _answer(self, status: int, body: Any) -> RESTResponse:
        reason = {200: "OK", 201: "Created", 404: "Not Found", 409: "Conflict", 422: "Unprocessable Entity"}.get(
            status, "Error")
        return RESTResponse(_Raw(status, reason, json.dumps(body).encode(), {"content-type": "application/json"}))

    def _status(self, code: int, message: str) -> RESTResponse:
        return self._answer(code, {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": code,
                                   "message": message})

    def call_api(self, method: str, url: str, header_params: Any = None, body: Any = None, post_params: Any = None,
                 _request_timeout: Any = None) -> RESTResponse:
        call = classify(method, url)
        verb, resource = VERBS.get(call.verb, call.verb.lower()), call.resource
        parts = urlsplit(url)
        collection, name, sub = _split(parts.path)
        query = parse_qs(parts.query)
        dry = query.get("dryRun") == ["All"]
        content_type = str((header_params or {}).get("Content-Type", ""))
        self.calls.append(Call(verb, resource, name or "", copy.deepcopy(body), dry, content_type,
                               tuple((k, v) for k, vs in query.items() for v in vs)))
        if (code := self.fail.pop((verb, resource), None)) is not None:
            return self._status(code, f"injected {code}")
        path = f"{collection}/{name}" if name else collection
        if verb == "list":
            items = [copy.deepcopy(o) for p, o in self.objects.items() if p.rsplit("/", 1)[0] == collection]
            return self._answer(200, {"kind": "List", "apiVersion": "v1", "metadata": {"resourceVersion": "1"},
                                      "items": items})
        if verb == "create":
            meta = body.get("metadata") or {}
            target = f"{collection}/{meta.get('name')}"
            if target in self.objects:
                return self._status(409, f"{meta.get('name')} already exists")
            if dry:
                return self._answer(201, body)
            return self._answer(201, self.put(collection, body))
        current = self.objects.get(path)
        if current is None:
            return self._status(404, f"{name} not found")
        if verb == "get":
            return self._answer(200, copy.deepcopy(current))
        if verb == "delete":
            uid = ((body or {}).get("preconditions") or {}).get("uid")
            if uid is not None and uid != current["metadata"].get("uid"):
                return self._status(409, "the UID in the precondition does not match")
            del self.objects[path]
            return self._answer(200, {"kind": "Status", "status": "Success"})
        new = copy.deepcopy(current)
        if verb == "update":
            if (body.get("metadata") or {}).get("resourceVersion") != current["metadata"]["resourceVersion"]:
                return self._status(409, "the object has been modified")
            if sub == "status":
                new["status"] = copy.deepcopy(body.get("status"))
            else:
                new = copy.deepcopy(body)
        elif verb == "patch":
            if isinstance(body, list):
                if (problem := _json_patch(new, body)) is not None:
                    return self._status(422 if "test" not in problem else 422, problem)
            else:
                rv = (body.get("metadata") or {}).get("resourceVersion")
                if rv is not None and rv != current["metadata"]["resourceVersion"]:
                    return self._status(409, "the object has been modified")  # an apply's precondition
                _merge(new, {k: v for k, v in body.items() if k != "metadata"} if "apply-patch" in content_type
                       else body)
                if "apply-patch" in content_type:
                    new["metadata"].setdefault("managedFields", []).append(
                        {"manager": dict(query).get("fieldManager", [""])[0], "operation": "Apply"})
        new["metadata"]["resourceVersion"] = str(next(self._rv))
        self.objects[path] = new
        return self._answer(200, copy.deepcopy(new))
