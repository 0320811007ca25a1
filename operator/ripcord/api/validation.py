"""The one way a Release's spec is read: ``parse_spec(raw, name) -> ParsedSpec | SpecProblem``.

Pure and total: whatever the API server stored (any JSON value, a subtree the decoder cut
because it was nested too deep, unknown fields, wrong types, huge strings), the answer is
either the typed spec or a :class:`SpecProblem` naming the field, with a message short
enough for a condition and an Event. It never raises.

What is refused where (docs/reliability.md has the table): the CRD schema refuses what
it can say (types, enums, ranges, lengths, patterns, list sizes, the Release name); the
1.20 API server has no CEL, so the models check the same again and add the cross-field
rules, the typed pod template check and the duration ranges; this module adds what no
model sees: the depth of the input, the decoder's cut marker, the Release's own name.
"""
from __future__ import annotations

import dataclasses
import re
from typing import Any, Mapping, Optional, Union

from pydantic import ValidationError

from ripcord.api.limits import MAX_DECODE_DEPTH, SPEC_PROBLEM_MAX, SPEC_PROBLEM_MAX_PROBLEMS, TOO_DEEP, bounded
from ripcord.api.models import RELEASE_NAME_MAX, RELEASE_NAME_PATTERN, ReleaseSpec
from ripcord.api.podtemplate import MAX_LIST

MAX_SPEC_DEPTH = MAX_DECODE_DEPTH - 2  # the decoder counts from the object's root, the spec is one level down
MAX_LIST_ITEMS = MAX_LIST  # no list in a spec may be longer (the schema's are far shorter; the template's too)
_PATH_SHOWN = 12  # path elements shown before the path of a too-deep value is cut short


@dataclasses.dataclass(frozen=True)
class SpecProblem:
    """Why a spec cannot be acted on. ``path`` is the first field at fault (``spec.analysis.interval``)."""

    path: str
    message: str  # every problem found (up to a few), each with its path; at most SPEC_PROBLEM_MAX characters
    problems: tuple[tuple[str, str], ...] = ()  # (path, what is wrong), in order

    @classmethod
    def of(cls, problems: list[tuple[str, str]]) -> "SpecProblem":
        shown = problems[:SPEC_PROBLEM_MAX_PROBLEMS]
        text = "; ".join(f"{path}: {what}" for path, what in shown)
        if len(problems) > len(shown):
            text += f"; and {len(problems) - len(shown)} more"
        return cls(path=problems[0][0], message=bounded(text, SPEC_PROBLEM_MAX), problems=tuple(problems))


@dataclasses.dataclass(frozen=True)
class ParsedSpec:
    spec: ReleaseSpec


def parse_spec(raw: Any, name: Optional[str] = None) -> Union[ParsedSpec, SpecProblem]:
    """The typed spec of a Release named ``name``, or what is wrong with it (never an exception)."""
    problems: list[tuple[str, str]] = []
    if name is not None and (why := release_name_problem(name)):
        problems.append(("metadata.name", why))
    if raw is None:
        return SpecProblem.of(problems + [("spec", "is missing")])
    if not isinstance(raw, Mapping):
        return SpecProblem.of(problems + [("spec", f"must be an object, not {_kind(raw)}")])
    if (shape := shape_problem(raw, "spec", MAX_SPEC_DEPTH)) is not None:
        return SpecProblem.of(problems + [shape])
    try:
        spec = ReleaseSpec.model_validate(raw)
    except ValidationError as exc:
        return SpecProblem.of(problems + describe(exc))
    if problems:
        return SpecProblem.of(problems)
    return ParsedSpec(spec=spec)


def release_name_problem(name: str) -> Optional[str]:
    """Why ``name`` cannot be a Release's name (the names derived from it would be invalid), or None."""
    if len(name) > RELEASE_NAME_MAX:
        return (f"{len(name)} characters; at most {RELEASE_NAME_MAX}, so the canary pods' names "
                f"(NAME-a-<hash>-xxxxx) stay whole")
    if not re.fullmatch(RELEASE_NAME_PATTERN, name):
        return (f"{bounded(name, 80)!r} is not a DNS-1035 label (a-z, 0-9, '-', a letter first): it names Services "
                "NAME, NAME-a and NAME-b")
    return None


def describe(exc: ValidationError) -> list[tuple[str, str]]:
    """(path, message) for each error: ``spec.analysis.metrics[0].name``, pydantic's message without its prefix."""
    out: list[tuple[str, str]] = []
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        if loc and loc[-1] in _UNION_TAGS and err["type"] in ("int_type", "int_parsing", "string_type"):
            # An integer-or-string field given something else: pydantic reports each branch (…int, …str).
            path = _path(("spec", *loc[:-1]))
            if not out or out[-1][0] != path:
                out.append((path, f"Input should be a whole number or a string, not {_kind(err['input'])}"))
            continue
        path = _path(("spec", *loc))
        msg = err["msg"]
        for prefix in ("Value error, ", "Assertion failed, "):
            if msg.startswith(prefix):
                msg = msg[len(prefix):]
        if err["type"] == "extra_forbidden":
            msg = "unknown field (" + msg.lower() + ")"
        out.append((path, bounded(msg, 300)))
    return out


_UNION_TAGS = ("int", "str")


def _path(loc: tuple[Any, ...]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += ("." if text else "") + bounded(str(part), 64)
    return text


def _kind(value: Any) -> str:
    return {str: "a string", int: "a number", float: "a number", bool: "a boolean", list: "a list",
            dict: "an object", type(None): "null"}.get(
        type(value), type(value).__name__)


def too_deep_path(value: Any, root: str, max_depth: int) -> Optional[str]:
    """The path of the first value the decoder cut, or nested deeper than ``max_depth``; else None."""
    found = shape_problem(value, root, max_depth)
    return found[0] if found is not None and found[1].startswith("is nested") else None


def shape_problem(value: Any, root: str, max_depth: int, max_items: int = MAX_LIST_ITEMS) -> Optional[tuple[str, str]]:
    """(path, what) of the first value the decoder cut, nested deeper than ``max_depth``, or a list
    longer than ``max_items``; else None.

    Iterative (the input may be deeper than Python can recurse) and cheap, so that neither
    pydantic nor anything after it sees such a value. ``root`` names ``value``.
    """
    stack: list[tuple[Any, tuple[Any, ...]]] = [(value, (root,))]
    while stack:
        node, loc = stack.pop()
        if node == TOO_DEEP:
            return _short_path(loc), f"is nested deeper than {max_depth} levels"
        if isinstance(node, (dict, list)):
            if len(loc) > max_depth:
                return _short_path(loc), f"is nested deeper than {max_depth} levels"
            if isinstance(node, list) and len(node) > max_items:
                return _short_path(loc), f"has {len(node)} items; at most {max_items}"
            items = node.items() if isinstance(node, dict) else enumerate(node)
            stack.extend((child, (*loc, key)) for key, child in reversed(list(items)))
    return None


def _short_path(loc: tuple[Any, ...]) -> str:
    if len(loc) <= _PATH_SHOWN:
        return _path(loc)
    return f"{_path(loc[:_PATH_SHOWN])}…({len(loc) - _PATH_SHOWN} more levels)"
