"""Pure routing: which pod answers a request, the way a cluster's data plane decides.

- By Service: uniformly at random over the ready, non-terminating pods its selector
  matches (kube-proxy's iptables mode), on the Service's targetPort resolved per pod.
- By HTTPRoute: the matching rule (Gateway API precedence: exact path, then the longest
  prefix, then a method, then the most header matches, then the most query matches; ties:
  the first rule), a backendRef by weight, then a ready pod behind that Service. Weights
  are taken as written (0: no traffic). The choice among backendRefs is a smooth weighted
  round robin (nginx's) kept per rule *and per path*, so the split is exact over any
  window rather than binomial, and every path is split alike.
- As a mesh client calling a host (Istio's sidecar): the first HTTP route of the
  VirtualService for that host whose match holds (Istio's order), a destination by weight
  (the same round robin), then a ready pod of that Service (of its DestinationRule subset,
  if one is named). Without a VirtualService the host's Service answers directly.

When the gateway cannot forward, it answers itself, as Envoy would:

============================= ====== ===== ===========================================
case                          code   flags
============================= ====== ===== ===========================================
no ready pod behind a Service 503    UH    "no healthy upstream"
target Service missing        503    NC    no cluster
HTTPRoute missing, no rule    404    NR    no route
rule without a usable backend 500    NR    Gateway API: invalid backendRefs get 500s
============================= ====== ===== ===========================================

The :class:`Pick` keeps the Service the route chose even when no pod could be picked: the
metrics label such a failure with that Service, as Envoy and Istio do.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from typing import Mapping, Sequence

from .model import (DestinationRule, Pod, Route, RouteMatch, Rule, Service, ValueMatch, VirtualService,
                    short_host)

Key = tuple[str, str]  # (namespace, name)


@dataclass(frozen=True)
class Snapshot:
    """An immutable view of the cluster; ``generation`` changes with every change."""

    generation: int
    services: Mapping[Key, Service]
    pods_by_ns: Mapping[str, tuple[Pod, ...]]
    routes: Mapping[Key, Route]
    virtual_services: Mapping[Key, VirtualService] = field(default_factory=dict)
    destination_rules: Mapping[Key, DestinationRule] = field(default_factory=dict)


EMPTY = Snapshot(0, {}, {}, {})


@dataclass(frozen=True)
class Target:
    """What a load sends to: a Service (optionally one of its ports), an HTTPRoute, or a mesh host."""

    namespace: str
    service: str | None = None
    route: str | None = None
    port: int | None = None
    host: str | None = None  # a mesh client calling this host (a Service name): VirtualServices apply


@dataclass(frozen=True)
class Pick:
    """The routing decision for one request; ``pod is None`` means the gateway answers."""

    route: str
    service: str
    pod: Pod | None = None
    port: int | None = None
    code: int = 0
    flags: str = ""


def selects(selector: Mapping[str, str], labels: Mapping[str, str]) -> bool:
    """A Service without selector selects nothing (its endpoints are managed by hand)."""
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def ready_backends(snap: Snapshot, namespace: str, service: str, port: int | None = None,
                   subset: Mapping[str, str] | None = None) -> tuple[Service | None, list[tuple[Pod, int]]]:
    svc = snap.services.get((namespace, service))
    if svc is None:
        return None, []
    sp = svc.port_for(port)
    if sp is None:
        return svc, []
    out = []
    for pod in snap.pods_by_ns.get(namespace, ()):
        if pod.ready and selects(svc.selector, pod.labels) and (subset is None or selects(subset, pod.labels)):
            tp = pod.target_port(sp)
            if tp is not None:
                out.append((pod, tp))
    return svc, out


def _value_matches(m: ValueMatch, have: str | None) -> bool:
    if have is None:
        return False
    if m.type == "Exact":
        return have == m.value
    if m.type == "Prefix":
        return have.startswith(m.value)
    try:
        return re.fullmatch(m.value, have) is not None
    except re.error:
        return False


def _query(path: str) -> tuple[str, dict[str, str]]:
    base, _, qs = path.partition("?")
    params: dict[str, str] = {}
    for part in qs.split("&") if qs else ():
        k, _, v = part.partition("=")
        params.setdefault(k, v)
    return base, params


def path_matches(m: RouteMatch, path: str, method: str, headers: Mapping[str, str] | None = None) -> bool:
    """Whether the request (``headers`` with lower-case names) matches: path, method, every header, every query."""
    path, params = _query(path)
    if m.method and m.method != method:
        return False
    have = headers or {}
    if not all(_value_matches(h, have.get(h.name)) for h in m.headers):
        return False
    if not all(_value_matches(q, params.get(q.name)) for q in m.query):
        return False
    t, v = m.path.type, m.path.value
    if t == "Exact":
        return path == v
    if t == "PathPrefix":
        prefix = v.rstrip("/")
        return prefix == "" or path == prefix or path.startswith(prefix + "/")
    if t == "RegularExpression":
        try:
            return re.fullmatch(v, path) is not None
        except re.error:
            return False
    return False


def _score(m: RouteMatch) -> tuple[int, int, int, int, int]:
    rank = {"Exact": 3, "PathPrefix": 2, "RegularExpression": 1}.get(m.path.type, 0)
    return rank, len(m.path.value), 1 if m.method else 0, len(m.headers), len(m.query)


def select_rule(route: Route, path: str, method: str = "GET", headers: Mapping[str, str] | None = None) -> int | None:
    """Index of the rule that handles the request (most specific match; ties: first rule)."""
    best: tuple[tuple[int, int, int, int, int], int] | None = None
    for i, rule in enumerate(route.rules):
        for m in rule.matches:
            if path_matches(m, path, method, headers):
                s = _score(m)
                if best is None or s > best[0]:
                    best = (s, i)
    return None if best is None else best[1]


class SmoothWRR:
    """nginx's smooth weighted round robin: exact shares, evenly interleaved."""

    def __init__(self, weights: Sequence[int]) -> None:
        self.weights = tuple(max(0, int(w)) for w in weights)
        self.total = sum(self.weights)
        self.current = [0] * len(self.weights)

    def next(self) -> int | None:
        if self.total <= 0:
            return None
        best = 0
        for i, w in enumerate(self.weights):
            self.current[i] += w
            if self.current[i] > self.current[best]:
                best = i
        self.current[best] -= self.total
        return best


class Router:
    """Routing state of one load: its random source and its round-robin positions."""

    def __init__(self, rng: random.Random | None = None) -> None:
        self.rng = rng or random.Random()
        self._wrr: dict[tuple[str, str, int, str], SmoothWRR] = {}
        self._gen = -1
        self._backends: dict[tuple[str, str, int | None, str | None],
                             tuple[Service | None, list[tuple[Pod, int]]]] = {}
        self._mirror_acc: dict[tuple[str, str, int], float] = {}

    def _ready(self, snap: Snapshot, ns: str, svc: str, port: int | None, subset: str | None = None
               ) -> tuple[Service | None, list[tuple[Pod, int]]]:
        if snap.generation != self._gen:
            self._gen, self._backends = snap.generation, {}
        key = (ns, svc, port, subset)
        hit = self._backends.get(key)
        if hit is None:
            labels = _subset_labels(snap, ns, svc, subset) if subset else None
            if subset and labels is None:  # a subset no DestinationRule defines: no pod is in it
                hit = (snap.services.get((ns, svc)), [])
            else:
                hit = ready_backends(snap, ns, svc, port, labels)
            self._backends[key] = hit
        return hit

    def _to_pod(self, snap: Snapshot, ns: str, svc: str, port: int | None, route: str,
                missing: tuple[int, str], subset: str | None = None) -> Pick:
        service, backends = self._ready(snap, ns, svc, port, subset)
        if service is None:
            return Pick(route, svc, code=missing[0], flags=missing[1])
        if not backends:
            return Pick(route, svc, code=503, flags="UH")
        pod, tp = backends[self.rng.randrange(len(backends))] if len(backends) > 1 else backends[0]
        return Pick(route, svc, pod=pod, port=tp)

    def pick(self, snap: Snapshot, target: Target, path: str, method: str = "GET",
             headers: Mapping[str, str] | None = None) -> Pick:
        if target.host is not None:
            return self._mesh(snap, target, path, method, headers or {})
        if target.route is None:
            return self._to_pod(snap, target.namespace, target.service or "", target.port, "", (503, "NC"))
        route = snap.routes.get((target.namespace, target.route))
        if route is None:
            return Pick(target.route, "", code=404, flags="NR")
        ri = select_rule(route, path, method, headers)
        if ri is None:
            return Pick(route.name, "", code=404, flags="NR")
        rule: Rule = route.rules[ri]
        ref_i = self._wrr_next(route, ri, path, rule)
        if ref_i is None:
            return Pick(route.name, "", code=500, flags="NR")
        ref = rule.backend_refs[ref_i]
        if ref.kind != "Service" or ref.group not in ("", "core") or ref.namespace != route.namespace:
            return Pick(route.name, ref.name, code=500, flags="NR")
        return self._to_pod(snap, ref.namespace, ref.name, ref.port, route.name, (500, "NR"))

    def mirror(self, snap: Snapshot, target: Target, path: str, method: str = "GET",
               headers: Mapping[str, str] | None = None) -> Pick | None:
        """The copy of this request a ``RequestMirror`` filter sends, if this request is one it copies.

        Exactly ``percent`` of a rule's requests are copied, evenly spread (an accumulator per
        rule, like the weighted round robin): the share is exact over any window. The copy's
        ``Pick`` has no pod when its Service has no ready pod (its answer is discarded anyway).
        """
        if target.route is None:
            return None
        route = snap.routes.get((target.namespace, target.route))
        ri = select_rule(route, path, method, headers) if route is not None else None
        if route is None or ri is None or not route.rules[ri].mirrors:
            return None
        m = route.rules[ri].mirrors[0]
        key = (route.namespace, route.name, ri)
        acc = self._mirror_acc.get(key, 0.0) + m.percent
        if acc < 100.0:
            self._mirror_acc[key] = acc
            return None
        self._mirror_acc[key] = acc - 100.0
        if m.kind != "Service" or m.group not in ("", "core") or m.namespace != route.namespace:
            return None
        return self._to_pod(snap, m.namespace, m.name, m.port, route.name, (503, "NC"))

    def _wrr_next(self, route: Route, ri: int, path: str, rule: Rule) -> int | None:
        return self._wrr_pick((route.namespace, route.name, ri, path),
                              tuple(max(0, r.weight) for r in rule.backend_refs))

    def _wrr_pick(self, key: tuple[str, str, int, str], weights: tuple[int, ...]) -> int | None:
        wrr = self._wrr.get(key)
        if wrr is None or wrr.weights != weights:
            wrr = self._wrr[key] = SmoothWRR(weights)
        return wrr.next()

    def _mesh(self, snap: Snapshot, target: Target, path: str, method: str, headers: Mapping[str, str]) -> Pick:
        """A sidecar's choice: the VirtualService of the host, else the host's Service itself."""
        assert target.host is not None
        ns, svc = short_host(target.host, target.namespace)
        vs = virtual_service_for(snap, ns, svc)
        if vs is None:
            return self._to_pod(snap, ns, svc, target.port, "", (503, "NC"))
        ri = select_mesh_route(vs, path, method, headers, target.port)
        if ri is None:
            return Pick(vs.name, svc, code=404, flags="NR")
        route = vs.http[ri]
        di = self._wrr_pick((vs.namespace, vs.name, ri, path), tuple(max(0, d.weight) for d in route.destinations))
        if di is None:
            return Pick(vs.name, svc, code=503, flags="NR")
        dest = route.destinations[di]
        dns, dsvc = short_host(dest.host, vs.namespace)
        return self._to_pod(snap, dns, dsvc, dest.port or target.port, vs.name, (503, "NC"), dest.subset)


def virtual_service_for(snap: Snapshot, namespace: str, service: str) -> VirtualService | None:
    """The VirtualService (in the Service's namespace) whose hosts name it; the oldest name wins a tie."""
    names = {service, f"{service}.{namespace}", f"{service}.{namespace}.svc",
             f"{service}.{namespace}.svc.cluster.local"}
    found = [vs for (ns, _), vs in snap.virtual_services.items() if ns == namespace and names & set(vs.hosts)]
    return min(found, key=lambda vs: vs.name) if found else None


def select_mesh_route(vs: VirtualService, path: str, method: str, headers: Mapping[str, str],
                      port: int | None) -> int | None:
    """Index of the first HTTP route whose match holds (no match: every request), as Istio picks."""
    for i, route in enumerate(vs.http):
        if not route.matches:
            return i
        if any(path_matches(m, path, method, headers) and (p is None or p == port)
               for m, p in zip(route.matches, route.ports)):
            return i
    return None


def _subset_labels(snap: Snapshot, namespace: str, service: str, subset: str) -> Mapping[str, str] | None:
    """The labels of ``subset`` of the host's DestinationRule (None: no such subset, no pod)."""
    for (ns, _), dr in snap.destination_rules.items():
        if ns == namespace and short_host(dr.host, ns) == (namespace, service) and subset in dr.subsets:
            return dr.subsets[subset]
    return None
