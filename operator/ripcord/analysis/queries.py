"""PromQL: the built-in selectors of each metric source, and custom-query templating.

Pure: strings in, strings out. Two rules keep the queries honest:

* Built-in metrics select **raw series** (no ``rate``/``sum``): the arithmetic happens in
  :mod:`ripcord.analysis.counters`, after per-series reset handling.
* Workloads are told apart by **workload** (the Deployment, through the pod name
  ``<deployment>-<pod-template-hash>-<suffix>``, or a workload label the gateway/mesh
  sets), never by a pod label that would have to change at promotion.
* A client-side source (a gateway, a calling sidecar) also attributes a request by the
  **backend the route chose**: the slot's Service, named exactly like its Deployment
  (``NAME-a``/``NAME-b``). A request the data plane could not deliver (refused, reset,
  timed out, overflowed, no healthy upstream) carries that Service but no workload or pod
  (empty, or Istio's ``"unknown"``): it is the canary's failure all the same.

Custom templates get their variables substituted textually; every value is validated as a
Kubernetes name (or is a regex/duration built here), so a Release cannot inject PromQL
through a name.
"""
from __future__ import annotations

import dataclasses
import math
import re
from typing import Callable, Mapping, Sequence

from .counters import Labels

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_VARIABLE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")

#: The variables a custom query template may use.
TEMPLATE_VARIABLES = ("namespace", "release", "workload", "canary", "stable", "pod_regex", "window")


# The metric sources (where a source's series live and how they are labelled) are configuration
# vocabulary too: they live in ripcord.sources, below both this module and ripcord.config.
from ripcord.sources import APP as APP  # noqa: E402 - re-exported
from ripcord.sources import GATEWAY as GATEWAY  # noqa: E402
from ripcord.sources import ISTIO as ISTIO  # noqa: E402
from ripcord.sources import ISTIO_DESTINATION as ISTIO_DESTINATION  # noqa: E402
from ripcord.sources import PRESETS as PRESETS  # noqa: E402
from ripcord.sources import SourceProfile as SourceProfile  # noqa: E402
from ripcord.sources import TemplateError as TemplateError  # noqa: E402




def without_mirrored(profile: SourceProfile) -> SourceProfile:
    """The profile leaving out mirrored requests (``<mirror_label>!="true"``); as is without a mirror label.

    A mirror phase judges the canary on mirrored copies of live requests; once it is over,
    the steps are judged on real traffic only."""
    if not profile.mirror_label:
        return profile
    matcher = f"{profile.mirror_label}!=\"true\""
    extra = f"{profile.extra_matchers},{matcher}" if profile.extra_matchers else matcher
    return dataclasses.replace(profile, extra_matchers=extra)


# --------------------------------------------------------------------- names, quoting

def check_name(value: str, what: str, *, subdomain: bool = False) -> str:
    pattern = _DNS_SUBDOMAIN if subdomain else _DNS_LABEL
    if not isinstance(value, str) or len(value) > 253 or not pattern.fullmatch(value):
        raise TemplateError(f"{what} {value!r} is not a valid Kubernetes name")
    return value


def quote(value: str) -> str:
    """A PromQL double-quoted string literal."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _regex_literal(name: str) -> str:
    # Kubernetes names hold only [a-z0-9.-]; '.' is the one regex metacharacter.
    return name.replace(".", "[.]")


def pod_regex(deployment: str) -> str:
    """The RE2 pattern of the pods of a Deployment: ``<name>-<template hash>-<suffix>``.

    Prometheus anchors label regexes, and neither segment may hold ``-``, so ``web-a``
    does not match the pods of a Deployment ``web-a-b``.
    """
    check_name(deployment, "deployment", subdomain=True)
    return f"{_regex_literal(deployment)}-[a-z0-9]+-[a-z0-9]+"


def window(seconds: float, scrape_interval_s: float) -> str:
    """A range for ``rate()``: the interval, but at least 4 scrape intervals (so a range
    always holds several samples even with one missed scrape)."""
    return f"{max(1, math.ceil(max(seconds, 4 * scrape_interval_s)))}s"


# --------------------------------------------------------------------- built-in queries

def _names_matcher(label: str, names: Sequence[str]) -> str:
    if len(names) == 1:
        return f"{label}={quote(names[0])}"
    return f"{label}=~{quote('|'.join(_regex_literal(n) for n in names))}"


def selectors(profile: SourceProfile, namespace: str | Sequence[str], workloads: Sequence[str]) -> list[str]:
    """The label matcher sets selecting every series of ``workloads``, one per way a series
    can belong to them (see :class:`SourceProfile`): by the backend Service the route chose,
    then by the workload that answered. A query ORs them.

    Several namespaces (``ripcord.analysis.sharing``: one query for every Release analysed at
    the same instant) select the union; the caller keeps each Release's own series only.
    """
    spaces = [namespace] if isinstance(namespace, str) else list(namespace)
    for ns in spaces:
        check_name(ns, "namespace")
    if not workloads or not spaces:
        raise TemplateError("no workload to select")
    names = [check_name(w, "deployment", subdomain=True) for w in workloads]
    extra = [profile.extra_matchers] if profile.extra_matchers else []
    out: list[str] = []
    if profile.service_label:
        ns_label = profile.service_namespace_label or profile.namespace_label
        out.append("{" + ",".join([_names_matcher(ns_label, spaces),
                                   _names_matcher(profile.service_label, names)] + extra) + "}")
    matchers = [_names_matcher(profile.namespace_label, spaces)]
    if profile.workload_label:
        matchers.append(_names_matcher(profile.workload_label, names))
    else:
        if profile.pod_label is None:
            raise TemplateError(f"metric source {profile.name!r} has neither a workload nor a pod label")
        if len(names) == 1:
            pattern = pod_regex(names[0])
        else:
            pattern = "(" + "|".join(_regex_literal(n) for n in names) + ")-[a-z0-9]+-[a-z0-9]+"
        matchers.append(f"{profile.pod_label}=~{quote(pattern)}")
    out.append("{" + ",".join(matchers + extra) + "}")
    return out


def selector(profile: SourceProfile, namespace: str, workloads: Sequence[str]) -> str:
    """The matcher set by workload (or pod) alone: the answering side's view. Built-in
    queries use :func:`selectors`, which also selects by the backend Service."""
    return selectors(profile, namespace, workloads)[-1]


#: How far back a series' last sample is looked for (Prometheus' own default lookback).
LOOKBACK = "5m"


def _last(series: str, lookback: str) -> str:
    """The last raw sample of each series within ``lookback``, *ignoring staleness markers*.

    A plain instant selector drops a series for as long as its target's scrapes fail
    (Prometheus writes staleness markers). If it then comes back with its old cumulative
    value, it would look like a new series, counted from zero: every request it ever served
    counted again. ``last_over_time`` over a range skips the markers, so the series keeps
    its last known value through the gap and the delta stays right.
    """
    return f"last_over_time({series}[{lookback}])"


def raw_series_query(metric: str, profile: SourceProfile, namespace: str | Sequence[str], workloads: Sequence[str], *,
                     lookback: str = LOOKBACK) -> str:
    """The last raw sample of every series of ``metric`` that belongs to ``workloads``.

    With a service label, ``by service or by workload``: PromQL's ``or`` keeps each series
    once (a series matching both has the same label set on both sides).
    """
    return " or ".join(_last(metric + sel, lookback) for sel in selectors(profile, namespace, workloads))


def requests_query(profile: SourceProfile, namespace: str, workloads: Sequence[str], *,
                   lookback: str = LOOKBACK) -> str:
    """Raw request counter series of the workloads (every code, pod, path...)."""
    return raw_series_query(profile.requests_metric, profile, namespace, workloads, lookback=lookback)


def duration_query(profile: SourceProfile, namespace: str, workloads: Sequence[str], *,
                   lookback: str = LOOKBACK) -> str:
    """Raw latency histogram bucket series of the workloads."""
    return raw_series_query(profile.duration_metric, profile, namespace, workloads, lookback=lookback)


def workload_of(profile: SourceProfile, workloads: Sequence[str]) -> Callable[[Labels], str | None]:
    """Which of ``workloads`` a series belongs to (None: neither).

    The backend Service the route chose comes first: a refused or timed-out request to
    the canary's Service carries no workload (or ``"unknown"``), and is the canary's.
    """
    wanted = set(workloads)
    service_label = profile.service_label
    if profile.workload_label:
        label = profile.workload_label

        def by_label(labels: Labels) -> str | None:
            name = labels.get(label)
            return name if name in wanted else None

        answered = by_label
    else:
        patterns = [(w, re.compile(pod_regex(w))) for w in workloads]
        pod_label = profile.pod_label or "pod"

        def by_pod(labels: Labels) -> str | None:
            pod = labels.get(pod_label, "")
            for name, pattern in patterns:
                if pattern.fullmatch(pod):
                    return name
            return None

        answered = by_pod
    if not service_label:
        return answered

    def owner(labels: Labels) -> str | None:
        service = labels.get(service_label)
        return service if service in wanted else answered(labels)

    return owner


# ---------------------------------------------------------------------- custom queries

def variables(*, namespace: str, release: str, workload: str, canary: str, stable: str,
              window_: str) -> dict[str, str]:
    """The variables of a custom template, for the workload being judged."""
    check_name(namespace, "namespace")
    check_name(release, "release", subdomain=True)
    for name, what in ((workload, "workload"), (canary, "canary"), (stable, "stable")):
        check_name(name, what, subdomain=True)
    if not re.fullmatch(r"[0-9]+(ms|s|m|h)", window_):
        raise TemplateError(f"window {window_!r} is not a PromQL duration")
    return {"namespace": namespace, "release": release, "workload": workload, "canary": canary,
            "stable": stable, "pod_regex": pod_regex(workload), "window": window_}


def template_variables(template: str) -> list[str]:
    return _VARIABLE.findall(template)


def check_template(template: str) -> None:
    """Raise :class:`TemplateError` for an empty template or an unknown variable."""
    if not template or not template.strip():
        raise TemplateError("custom metric needs a query")
    unknown = sorted(set(template_variables(template)) - set(TEMPLATE_VARIABLES))
    if unknown:
        raise TemplateError(f"unknown variable(s) {', '.join('{{' + u + '}}' for u in unknown)} in query; "
                            f"known: {', '.join('{{' + v + '}}' for v in TEMPLATE_VARIABLES)}")
    if "{{" in _VARIABLE.sub("", template):
        raise TemplateError("'{{' without a valid variable name and '}}' in query")


def render(template: str, values: Mapping[str, str]) -> str:
    """Substitute ``{{ name }}`` (spaces optional) with ``values[name]``."""
    check_template(template)

    def sub(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in values:
            raise TemplateError(f"no value for {{{{{name}}}}}")
        return values[name]

    return _VARIABLE.sub(sub, template)
