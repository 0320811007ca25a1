"""The user's own HTTPRoute (``traffic.routeRef``): find the rule, read it, and set only its backendRefs.

Pure. The rule must send to the Release's Service (``<release>``, which always selects the
stable slot): that backendRef is "the stable's backend". During a rollout Ripcord weights it
and puts the canary's slot Service (``<release>-<slot>``) right after it, a copy of the
stable's backendRef (port, filters) with the canary's name and weight. With no canary weight
the rule holds the stable's backend alone, as the user wrote it. Every other field of the
route (matches, filters, other rules, parents, hostnames) is copied through untouched.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Mapping, Optional, Sequence, Union

from ripcord.contract import SLOTS, TrafficIntent, app_service_name, slot_service_name

Ref = Mapping[str, Any]


@dataclasses.dataclass(frozen=True)
class RuleFound:
    """The rule Ripcord weights, or why the route cannot be used (``problem`` names the field)."""

    index: Optional[int] = None
    problem: Optional[str] = None


def _is_service(ref: Ref, namespace: str, name: str) -> bool:
    return (ref.get("name") == name and ref.get("kind", "Service") == "Service"
            and ref.get("group", "") in ("", "core") and ref.get("namespace", namespace) == namespace)


def _rule_label(rule: Mapping[str, Any], i: int) -> str:
    return f"rule {i}" + (f" ({rule['name']!r})" if rule.get("name") else "")


def find_rule(route: Mapping[str, Any], release: str, rule: Optional[Union[int, str]]) -> RuleFound:
    """The rule named by ``rule`` (a name, an index, or None: the one rule sending to the Release's Service)."""
    meta = route.get("metadata") or {}
    ns, route_name = meta.get("namespace", ""), meta.get("name", "?")
    rules = (route.get("spec") or {}).get("rules") or []
    stable = app_service_name(release)
    if isinstance(rule, int):
        if rule >= len(rules):
            return RuleFound(problem=f"spec.traffic.routeRef.rule: HTTPRoute {route_name} has no rule {rule} "
                             f"(it has {len(rules)}; 0 is the first)")
        index = rule
    elif isinstance(rule, str):
        named = [i for i, r in enumerate(rules) if r.get("name") == rule]
        if not named:
            names = [r["name"] for r in rules if r.get("name")]
            return RuleFound(problem=f"spec.traffic.routeRef.rule: HTTPRoute {route_name} has no rule named {rule!r}"
                             f" (named rules: {', '.join(names) or 'none'})")
        index = named[0]
    else:
        sending = [i for i, r in enumerate(rules)
                   if any(_is_service(b, ns, stable) for b in r.get("backendRefs") or [])]
        if len(sending) != 1:
            how = "no rule sends" if not sending else f"rules {', '.join(map(str, sending))} send"
            return RuleFound(problem=f"spec.traffic.routeRef.rule: {how} to Service {stable} in HTTPRoute "
                             f"{route_name}; name the rule Ripcord weights (its name or index)")
        index = sending[0]
    refs = rules[index].get("backendRefs") or []
    label = _rule_label(rules[index], index)
    if not any(_is_service(b, ns, stable) for b in refs):
        return RuleFound(problem=f"spec.traffic.routeRef.rule: {label} of HTTPRoute {route_name} has no backendRef "
                         f"to Service {stable} (the Release's Service, which always selects the stable); add one")
    ours = {stable, *(slot_service_name(release, s) for s in SLOTS)}
    others = [str(b.get("name")) for b in refs if not any(_is_service(b, ns, n) for n in ours)]
    if others:
        return RuleFound(problem=f"spec.traffic.routeRef.rule: {label} of HTTPRoute {route_name} also sends to "
                         f"{', '.join(others)}; Ripcord sets this rule's weights and needs it to itself "
                         f"(move those backends to another rule)")
    return RuleFound(index=index)


def rule_refs(route: Mapping[str, Any], index: int) -> list[dict[str, Any]]:
    rules = (route.get("spec") or {}).get("rules") or []
    return [dict(b) for b in rules[index].get("backendRefs") or []] if index < len(rules) else []


def desired_refs(refs: Sequence[Ref], namespace: str, release: str, intent: Optional[TrafficIntent]
                 ) -> list[dict[str, Any]]:
    """The rule's backendRefs for ``intent``: the stable's backend weighted and the canary's beside it,
    or (no canary weight) the stable's backend alone, as it is when it is already alone."""
    stable_name = app_service_name(release)
    stable = next((dict(b) for b in refs if _is_service(b, namespace, stable_name)), None)
    if stable is None:
        return [dict(b) for b in refs]
    if intent is None or intent.canary_slot is None or intent.weight <= 0:
        if len(refs) == 1:
            return [dict(refs[0])]
        stable.pop("weight", None)  # the API's default (1): a single backend takes everything
        return [stable]
    canary = {**stable, "name": slot_service_name(release, intent.canary_slot), "weight": intent.weight}
    return [{**stable, "weight": 100 - intent.weight}, canary]


def fingerprint(refs: Sequence[Ref]) -> str:
    """The refs as ``name:port=weight``, comma-separated (an absent weight is the API's default, 1)."""
    return ",".join(f"{b.get('name')}:{b.get('port', '')}={b.get('weight', 1)}" for b in refs)


def with_rule_refs(route: Mapping[str, Any], index: int, refs: Sequence[Ref]) -> list[dict[str, Any]]:
    """The route's rules with rule ``index``'s backendRefs replaced, every other field as it is."""
    rules = [dict(r) for r in (route.get("spec") or {}).get("rules") or []]
    rules[index] = {**rules[index], "backendRefs": [dict(b) for b in refs]}
    return rules


def accepted(route: Mapping[str, Any]) -> bool:
    """A parent's controller accepted the route's current generation."""
    generation = (route.get("metadata") or {}).get("generation")
    for parent in (route.get("status") or {}).get("parents") or []:
        for cond in parent.get("conditions") or []:
            if cond.get("type") == "Accepted" and cond.get("status") == "True" \
                    and cond.get("observedGeneration", generation) == generation:
                return True
    return False


def canary_share(refs: Sequence[Ref], namespace: str, release: str, intent: TrafficIntent) -> Optional[float]:
    """The canary's share (percent) of the rule's weights; None when they sum to nothing."""
    total = sum(int(b.get("weight", 1)) for b in refs)
    if total <= 0:
        return None
    if intent.canary_slot is None:
        return 0.0
    name = slot_service_name(release, intent.canary_slot)
    return 100.0 * sum(int(b.get("weight", 1)) for b in refs if _is_service(b, namespace, name)) / total
