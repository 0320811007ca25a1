"""Custom PromQL stays inside its Release's namespace: every selector must pin it.

A custom metric's query is written by the Release's authors and its result lands in their
Release's status. Without a check, ``sum(rate(http_requests_total{namespace="payments"}[5m]))``
in team A's Release would show team B's traffic to team A. So a rendered custom query is
parsed (the ``promql-parser`` package: Prometheus' own grammar) and **every** vector
selector, bare or inside a range, a subquery or a function, must carry an equality matcher
``<namespace label>="<the Release's namespace>"`` in each of its matcher sets (a
``{a="x" or b="y"}`` selector has one set per alternative). Regex matchers do not count:
``namespace=~"team-a|team-b"`` would read both.

Rejecting rather than rewriting: the query that runs is exactly the one the author wrote
(no serialiser between the author and Prometheus, whose output might differ in a corner
of the grammar), and the error says which selector and what to add. The operator's
configuration can exempt chosen namespaces (``crossNamespaceQueries`` of an instance).

Pure: a string in, a list of problems out.
"""
from __future__ import annotations

from typing import Any

import promql_parser

from .queries import TemplateError

SHOWN = 3  # selectors named in one message


class ScopeError(TemplateError):
    """A custom query that could read series outside the Release's namespace."""


def _pinned(matchers: Any, labels: tuple[str, ...], namespace: str) -> bool:
    return any(m.name in labels and m.op == promql_parser.MatchOp.Equal and m.value == namespace for m in matchers)


def unscoped_selectors(promql: str, label: str | tuple[str, ...], namespace: str) -> list[str]:
    """The selectors of ``promql`` that do not pin ``label="namespace"`` (as text); with several
    labels (a source whose series name the namespace in more than one label), any of them pins.

    Raises :class:`ScopeError` when the query does not parse.
    """
    labels = (label,) if isinstance(label, str) else label
    try:
        expr = promql_parser.parse(promql)
    except Exception as e:  # the binding raises a plain ValueError/RuntimeError with the parser's message
        raise ScopeError(f"not valid PromQL: {str(e)[:300]}") from None
    found: list[str] = []

    def visit(node: Any) -> None:
        if isinstance(node, promql_parser.VectorSelector):
            groups = [node.matchers.matchers] if node.matchers.matchers else []
            groups += list(node.matchers.or_matchers)
            if not groups or not all(_pinned(g, labels, namespace) for g in groups):
                found.append(str(node))

    promql_parser.walk(expr, visit)
    return found


def check_scoped(promql: str, label: str, namespace: str) -> None:
    """Raise :class:`ScopeError` unless every selector of ``promql`` pins ``label="namespace"``."""
    bad = unscoped_selectors(promql, label, namespace)
    if bad:
        shown = ", ".join(bad[:SHOWN]) + (f" and {len(bad) - SHOWN} more" if len(bad) > SHOWN else "")
        raise ScopeError(f"every selector must pin the Release's namespace with {label}=\"{namespace}\" "
                         f"(write {label}=\"{{{{namespace}}}}\"); not pinned: {shown}"[:1000])
