"""Small immutable records of the API objects the gateway needs, parsed from raw JSON.

The gateway works on raw dicts (what the API server sends) rather than the kubernetes
client's models: parsing a watch event into a ``V1Pod`` costs far more than the few
fields read here, and plain dicts keep these functions trivially testable.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from . import GATEWAY_GROUP, GATEWAY_NAME

Obj = Mapping[str, Any]


@dataclass(frozen=True)
class ServicePort:
    port: int
    target_port: int | str  # a number, or the name of a container port
    name: str = ""


@dataclass(frozen=True)
class Service:
    namespace: str
    name: str
    selector: Mapping[str, str]
    ports: tuple[ServicePort, ...]

    def port_for(self, port: int | None) -> ServicePort | None:
        """The service port a client asks for (``None``: the first one)."""
        if not self.ports:
            return None
        if port is None:
            return self.ports[0]
        return next((p for p in self.ports if p.port == port), None)


@dataclass(frozen=True)
class Pod:
    namespace: str
    name: str
    ip: str
    labels: Mapping[str, str]
    ready: bool
    container_ports: Mapping[str, int]  # named container ports
    workload: str  # owning Deployment ("" for a bare pod)

    def target_port(self, sp: ServicePort) -> int | None:
        """Resolve a Service's targetPort against this pod, as kube-proxy does."""
        if isinstance(sp.target_port, int):
            return sp.target_port
        return self.container_ports.get(sp.target_port)


@dataclass(frozen=True)
class BackendRef:
    name: str
    namespace: str
    port: int | None
    weight: int
    group: str = ""
    kind: str = "Service"


@dataclass(frozen=True)
class PathMatch:
    type: str  # Exact | PathPrefix | RegularExpression
    value: str


@dataclass(frozen=True)
class ValueMatch:
    """A header (name lower-cased) or query parameter match: Exact, RegularExpression (full match), or Prefix."""

    type: str
    name: str
    value: str


@dataclass(frozen=True)
class RouteMatch:
    path: PathMatch
    method: str | None = None
    headers: tuple[ValueMatch, ...] = ()
    query: tuple[ValueMatch, ...] = ()


@dataclass(frozen=True)
class MirrorRef:
    """A ``RequestMirror`` filter: copy ``percent`` of the rule's requests to this Service."""

    name: str
    namespace: str
    port: int | None
    percent: float  # 0..100 (``percent``, or ``fraction`` numerator/denominator; default 100)
    group: str = ""
    kind: str = "Service"


@dataclass(frozen=True)
class Rule:
    matches: tuple[RouteMatch, ...]
    backend_refs: tuple[BackendRef, ...]
    mirrors: tuple[MirrorRef, ...] = ()


@dataclass(frozen=True)
class Route:
    namespace: str
    name: str
    generation: int
    rules: tuple[Rule, ...]
    parent_refs: tuple[Mapping[str, Any], ...] = field(default=())


def _labels(obj: Obj) -> dict[str, str]:
    return dict((obj.get("metadata") or {}).get("labels") or {})


def parse_service(obj: Obj) -> Service:
    meta, spec = obj["metadata"], obj.get("spec") or {}
    ports = []
    for p in spec.get("ports") or []:
        target = p.get("targetPort", p["port"])
        if isinstance(target, str) and target.isdigit():
            target = int(target)
        ports.append(ServicePort(port=int(p["port"]), target_port=target, name=p.get("name", "")))
    return Service(meta.get("namespace", ""), meta["name"], dict(spec.get("selector") or {}), tuple(ports))


def workload_of(meta: Obj) -> str:
    """The pod's owning Deployment: its ReplicaSet's name without the pod-template-hash.

    A Deployment names its ReplicaSets ``<deployment>-<pod-template-hash>`` and copies the
    hash into the pod's labels, so no ReplicaSet watch is needed.
    """
    owners = meta.get("ownerReferences") or []
    owner = next((o for o in owners if o.get("controller")), owners[0] if owners else None)
    if owner is None:
        return ""
    name = owner.get("name", "")
    h = (meta.get("labels") or {}).get("pod-template-hash")
    if owner.get("kind") == "ReplicaSet" and h and name.endswith("-" + h):
        return name[: -len(h) - 1]
    return name


def parse_pod(obj: Obj) -> Pod:
    meta, spec, status = obj["metadata"], obj.get("spec") or {}, obj.get("status") or {}
    ready = (
        status.get("phase") == "Running"
        and not meta.get("deletionTimestamp")  # terminating pods leave the rotation
        and bool(status.get("podIP"))
        and any(c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or [])
    )
    ports = {
        p["name"]: int(p["containerPort"])
        for c in spec.get("containers") or []
        for p in c.get("ports") or []
        if p.get("name")
    }
    return Pod(
        namespace=meta.get("namespace", ""), name=meta["name"], ip=status.get("podIP") or "",
        labels=_labels(obj), ready=ready, container_ports=ports, workload=workload_of(meta),
    )


def is_our_parent(ref: Obj) -> bool:
    """Does this parentRef name our Gateway (in any namespace)?"""
    return (
        ref.get("name") == GATEWAY_NAME
        and ref.get("group", GATEWAY_GROUP) == GATEWAY_GROUP
        and ref.get("kind", "Gateway") == "Gateway"
    )


def _values(items: Any, lower: bool) -> tuple[ValueMatch, ...]:
    return tuple(ValueMatch(i.get("type", "Exact"), i["name"].lower() if lower else i["name"], i["value"])
                 for i in items or [])


def _parse_match(m: Obj) -> RouteMatch:
    path = m.get("path") or {}
    return RouteMatch(
        path=PathMatch(path.get("type", "PathPrefix"), path.get("value", "/")),
        method=m.get("method"),
        headers=_values(m.get("headers"), lower=True),
        query=_values(m.get("queryParams"), lower=False),
    )


def parse_route(obj: Obj) -> Route:
    meta, spec = obj["metadata"], obj.get("spec") or {}
    ns = meta.get("namespace", "")
    rules = []
    for r in spec.get("rules") or [{}]:  # upstream defaults rules to one catch-all rule
        matches = tuple(_parse_match(m) for m in r.get("matches") or [{}])
        refs = tuple(
            BackendRef(
                name=b["name"], namespace=b.get("namespace", ns),
                port=int(b["port"]) if b.get("port") is not None else None,
                weight=int(b.get("weight", 1)), group=b.get("group", ""), kind=b.get("kind", "Service"),
            )
            for b in r.get("backendRefs") or []
        )
        rules.append(Rule(matches, refs, _parse_mirrors(r.get("filters") or [], ns)))
    return Route(ns, meta["name"], int(meta.get("generation", 0)), tuple(rules),
                 tuple(spec.get("parentRefs") or ()))


# ------------------------------------------------------------------ Istio: VirtualService, DestinationRule

@dataclass(frozen=True)
class MeshDestination:
    host: str  # as written: a short name, name.namespace, or an FQDN
    subset: str | None
    port: int | None
    weight: int


@dataclass(frozen=True)
class MeshRoute:
    name: str
    matches: tuple[RouteMatch, ...]  # empty: every request
    ports: tuple[int | None, ...]  # per match: the port it requires (None: any)
    destinations: tuple[MeshDestination, ...]


@dataclass(frozen=True)
class VirtualService:
    namespace: str
    name: str
    hosts: tuple[str, ...]
    http: tuple[MeshRoute, ...]


@dataclass(frozen=True)
class DestinationRule:
    namespace: str
    name: str
    host: str
    subsets: Mapping[str, Mapping[str, str]]  # subset name -> pod labels


_ISTIO_KINDS = {"exact": "Exact", "prefix": "PathPrefix", "regex": "RegularExpression"}


def _istio_string(m: Obj | None) -> tuple[str, str] | None:
    for key, kind in _ISTIO_KINDS.items():
        if m and key in m:
            return kind, str(m[key])
    return None


def _parse_mesh_match(m: Obj) -> tuple[RouteMatch, int | None]:
    uri = _istio_string(m.get("uri"))
    path = PathMatch(uri[0], uri[1]) if uri else PathMatch("PathPrefix", "/")
    headers = []
    for name, spec in (m.get("headers") or {}).items():
        hm = _istio_string(spec)
        if hm is not None:
            headers.append(ValueMatch("Prefix" if hm[0] == "PathPrefix" else hm[0], name.lower(), hm[1]))
    method = _istio_string(m.get("method"))
    port = m.get("port")
    return RouteMatch(path=path, method=method[1] if method else None, headers=tuple(headers)), \
        int(port) if port is not None else None


def parse_virtual_service(obj: Obj) -> VirtualService:
    meta, spec = obj["metadata"], obj.get("spec") or {}
    http = []
    for i, r in enumerate(spec.get("http") or []):
        parsed = [_parse_mesh_match(m) for m in r.get("match") or []]
        dests = tuple(
            MeshDestination(host=str((d.get("destination") or {}).get("host", "")),
                            subset=(d.get("destination") or {}).get("subset"),
                            port=((d.get("destination") or {}).get("port") or {}).get("number"),
                            weight=int(d.get("weight", 100 if len(r.get("route") or []) == 1 else 0)))
            for d in r.get("route") or [])
        http.append(MeshRoute(str(r.get("name") or i), tuple(m for m, _ in parsed), tuple(p for _, p in parsed),
                              dests))
    return VirtualService(meta.get("namespace", ""), meta["name"], tuple(spec.get("hosts") or ()), tuple(http))


def parse_destination_rule(obj: Obj) -> DestinationRule:
    meta, spec = obj["metadata"], obj.get("spec") or {}
    subsets = {str(s["name"]): dict(s.get("labels") or {}) for s in spec.get("subsets") or [] if s.get("name")}
    return DestinationRule(meta.get("namespace", ""), meta["name"], str(spec.get("host", "")), subsets)


def short_host(host: str, namespace: str) -> tuple[str, str]:
    """(namespace, Service name) of a mesh host: ``web``, ``web.ns``, ``web.ns.svc[.cluster.local]``."""
    parts = host.split(".")
    if len(parts) == 1:
        return namespace, parts[0]
    return parts[1], parts[0]


def _parse_mirrors(filters: list[Obj], ns: str) -> tuple[MirrorRef, ...]:
    """The rule's ``RequestMirror`` filters (Gateway API: ``percent``, or ``fraction``; neither: 100)."""
    out = []
    for f in filters:
        if f.get("type") != "RequestMirror":
            continue
        m = f.get("requestMirror") or {}
        ref = m.get("backendRef") or {}
        if "percent" in m:
            share = float(m["percent"])
        elif isinstance(m.get("fraction"), Mapping):
            frac = m["fraction"]
            share = 100.0 * float(frac.get("numerator", 0)) / float(frac.get("denominator", 100) or 100)
        else:
            share = 100.0
        if not ref.get("name"):
            continue
        out.append(MirrorRef(name=ref["name"], namespace=ref.get("namespace", ns),
                             port=int(ref["port"]) if ref.get("port") is not None else None,
                             percent=max(0.0, min(100.0, share)), group=ref.get("group", ""),
                             kind=ref.get("kind", "Service")))
    return tuple(out)
