"""Pure routing: which pod answers a request, the way a cluster's data plane decides.

- By Service: uniformly at random over the ready, non-terminating pods its selector
  matches (kube-proxy's iptables mode), on the Service's targetPort resolved per pod.
- By HTTPRoute: the matching rule (Gateway API precedence: exact path, then the longest
  prefix), a backendRef by weight, then a ready pod behind that Service. Weights are
  taken as written (0: no traffic). The choice among backendRefs is a smooth weighted
  round robin (nginx's) kept per rule *and per path*, so the split is exact over any
  window rather than binomial, and every path is split alike.

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
from dataclasses import dataclass
from typing import Mapping, Sequence

from .model import Pod, Route, RouteMatch, Rule, Service

Key = tuple[str, str]  # (namespace, name)


@dataclass(frozen=True)
class Snapshot:
    """An immutable view of the cluster; ``generation`` changes with every change."""

    generation: int
    services: Mapping[Key, Service]
    pods_by_ns: Mapping[str, tuple[Pod, ...]]
    routes: Mapping[Key, Route]


EMPTY = Snapshot(0, {}, {}, {})


@dataclass(frozen=True)
class Target:
    """What a load sends to: a Service (optionally one of its ports) or an HTTPRoute."""

    namespace: str
    service: str | None = None
    route: str | None = None
    port: int | None = None


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


def ready_backends(snap: Snapshot, namespace: str, service: str, port: int | None = None
                   ) -> tuple[Service | None, list[tuple[Pod, int]]]:
    svc = snap.services.get((namespace, service))
    if svc is None:
        return None, []
    sp = svc.port_for(port)
    if sp is None:
        return svc, []
    out = []
    for pod in snap.pods_by_ns.get(namespace, ()):
        if pod.ready and selects(svc.selector, pod.labels):
            tp = pod.target_port(sp)
            if tp is not None:
                out.append((pod, tp))
    return svc, out


def path_matches(m: RouteMatch, path: str, method: str) -> bool:
    if m.has_headers_or_params or (m.method and m.method != method):
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


def _score(m: RouteMatch) -> tuple[int, int, int]:
    rank = {"Exact": 3, "PathPrefix": 2, "RegularExpression": 1}.get(m.path.type, 0)
    return rank, len(m.path.value), 1 if m.method else 0


def select_rule(route: Route, path: str, method: str = "GET") -> int | None:
    """Index of the rule that handles ``path`` (most specific match; ties: first rule)."""
    best: tuple[tuple[int, int, int], int] | None = None
    for i, rule in enumerate(route.rules):
        for m in rule.matches:
            if path_matches(m, path, method):
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
        self._backends: dict[tuple[str, str, int | None], tuple[Service | None, list[tuple[Pod, int]]]] = {}
        self._mirror_acc: dict[tuple[str, str, int], float] = {}

    def _ready(self, snap: Snapshot, ns: str, svc: str, port: int | None
               ) -> tuple[Service | None, list[tuple[Pod, int]]]:
        if snap.generation != self._gen:
            self._gen, self._backends = snap.generation, {}
        key = (ns, svc, port)
        hit = self._backends.get(key)
        if hit is None:
            hit = self._backends[key] = ready_backends(snap, ns, svc, port)
        return hit

    def _to_pod(self, snap: Snapshot, ns: str, svc: str, port: int | None, route: str,
                missing: tuple[int, str]) -> Pick:
        service, backends = self._ready(snap, ns, svc, port)
        if service is None:
            return Pick(route, svc, code=missing[0], flags=missing[1])
        if not backends:
            return Pick(route, svc, code=503, flags="UH")
        pod, tp = backends[self.rng.randrange(len(backends))] if len(backends) > 1 else backends[0]
        return Pick(route, svc, pod=pod, port=tp)

    def pick(self, snap: Snapshot, target: Target, path: str, method: str = "GET") -> Pick:
        if target.route is None:
            return self._to_pod(snap, target.namespace, target.service or "", target.port, "", (503, "NC"))
        route = snap.routes.get((target.namespace, target.route))
        if route is None:
            return Pick(target.route, "", code=404, flags="NR")
        ri = select_rule(route, path, method)
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

    def mirror(self, snap: Snapshot, target: Target, path: str, method: str = "GET") -> Pick | None:
        """The copy of this request a ``RequestMirror`` filter sends, if this request is one it copies.

        Exactly ``percent`` of a rule's requests are copied, evenly spread (an accumulator per
        rule, like the weighted round robin): the share is exact over any window. The copy's
        ``Pick`` has no pod when its Service has no ready pod (its answer is discarded anyway).
        """
        if target.route is None:
            return None
        route = snap.routes.get((target.namespace, target.route))
        ri = select_rule(route, path, method) if route is not None else None
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
        key = (route.namespace, route.name, ri, path)
        weights = tuple(max(0, r.weight) for r in rule.backend_refs)
        wrr = self._wrr.get(key)
        if wrr is None or wrr.weights != weights:
            wrr = self._wrr[key] = SmoothWRR(weights)
        return wrr.next()
