"""The operator's log lines: JSON or text, every line with time, level, logger, message and the Release.

``ripcord run --log-format json|text`` calls :func:`setup`, which puts one handler on the
root logger, so Ripcord's own lines and Kopf's (and the client libraries') come out the
same way:

* ``json``: one object per line, ``{"time": "2026-01-29T14:30:05.123Z", "level": "info",
  "logger": "ripcord.reconcile", "message": "...", "namespace": "shop", "release": "web",
  "rollout": 3}``, plus ``error`` (the traceback) when there is one. Fields that are not
  known for a line are left out, never null.
* ``text``: ``2026-01-29T14:30:05.123Z INFO  ripcord.reconcile [shop/web #3] ...``.

Where a line comes from knows which Release it is about, the fields are attached without
changing any logging call:

* :func:`context` sets them for a block (a contextvar, so it follows the code into Kopf's
  executor threads and never leaks between Releases reconciled at the same time);
  :func:`bind` adds one inside that block (the rollout id, once it is known);
* Kopf's per-object records carry their object (``k8s_ref``), which gives namespace and
  release;
* ``extra={"namespace": ..., "release": ..., "rollout": ...}`` on a single call wins over both.
"""
from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import json
import logging
import sys
from typing import Any, Iterator, Literal, Mapping, Optional, TextIO

LogFormat = Literal["json", "text"]
FIELDS = ("namespace", "release", "rollout")

_context: contextvars.ContextVar[Mapping[str, Any]] = contextvars.ContextVar("ripcord_log_context", default={})


# ---------------------------------------------------------------------------- context

@contextlib.contextmanager
def context(**fields: Any) -> Iterator[None]:
    """Attach ``namespace``, ``release``, ``rollout`` to every line logged inside the block."""
    token = _context.set({**_context.get(), **{k: v for k, v in fields.items() if v is not None}})
    try:
        yield
    finally:
        _context.reset(token)


def bind(**fields: Any) -> None:
    """Add fields to the current :func:`context` block (e.g. the rollout id once decided)."""
    _context.set({**_context.get(), **{k: v for k, v in fields.items() if v is not None}})


def current() -> dict[str, Any]:
    return dict(_context.get())


def rollout_of(status: Optional[Mapping[str, Any]]) -> Optional[int]:
    """The rollout a status is about: the one in flight, else the latest recorded."""
    if not isinstance(status, Mapping):
        return None
    ro = status.get("rollout")
    if isinstance(ro, Mapping) and isinstance(ro.get("id"), int):
        return int(ro["id"])
    history = status.get("history")
    if isinstance(history, list) and history and isinstance(history[0], Mapping):
        rid = history[0].get("id")
        return rid if isinstance(rid, int) else None
    return None


def fields_of(record: logging.LogRecord) -> dict[str, Any]:
    """namespace/release/rollout for a record: its own extras, else Kopf's object, else the context."""
    out = {k: v for k, v in _context.get().items() if k in FIELDS}
    ref = getattr(record, "k8s_ref", None)
    if isinstance(ref, Mapping):
        if ref.get("namespace"):
            out["namespace"] = ref["namespace"]
        if ref.get("name") and (ref.get("kind") in (None, "Release")):
            out["release"] = ref["name"]
    for k in FIELDS:
        v = getattr(record, k, None)
        if v is not None:
            out[k] = v
    return out


# ---------------------------------------------------------------------------- formats

def rfc3339(created: float) -> str:
    """``2026-01-29T14:30:05.123Z`` (UTC, milliseconds)."""
    t = dt.datetime.fromtimestamp(created, dt.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def _level(record: logging.LogRecord) -> str:
    return "warning" if record.levelno == logging.WARNING else record.levelname.lower()


class JsonFormatter(logging.Formatter):
    """One JSON object per line."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {"time": rfc3339(record.created), "level": _level(record), "logger": record.name,
                                "message": record.getMessage()}
        line.update(fields_of(record))
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["error"] = record.exc_text
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """``<time> <LEVEL> <logger> [ns/release #rollout] message``."""

    def format(self, record: logging.LogRecord) -> str:
        f = fields_of(record)
        where = ""
        if f.get("release") or f.get("namespace"):
            where = f"[{f.get('namespace', '')}/{f.get('release', '')}" if f.get("namespace") else \
                f"[{f.get('release', '')}"
            where += (f" #{f['rollout']}" if f.get("rollout") is not None else "") + "] "
        text = f"{rfc3339(record.created)} {record.levelname:<7} {record.name} {where}{record.getMessage()}"
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        if record.stack_info:
            text += "\n" + self.formatStack(record.stack_info)
        return text


class _RipcordHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Marks the handler :func:`setup` installed, so a second call replaces it."""


def formatter(fmt: LogFormat) -> logging.Formatter:
    if fmt == "json":
        return JsonFormatter()
    if fmt == "text":
        return TextFormatter()
    raise ValueError(f"unknown log format {fmt!r} (json, text)")


def setup(fmt: LogFormat = "text", *, verbose: bool = False, stream: Optional[TextIO] = None) -> logging.Handler:
    """One handler on the root logger for every line of the process (Kopf's included)."""
    handler = _RipcordHandler(stream or sys.stderr)
    handler.setFormatter(formatter(fmt))
    root = logging.getLogger()
    root.handlers[:] = [h for h in root.handlers
                        if not isinstance(h, _RipcordHandler) and type(h).__name__ != "_KopfStreamHandler"]
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    logging.captureWarnings(True)
    if not verbose:
        # As Kopf does: asyncio's own chatter only in debug; a null handler keeps it off stderr.
        aio = logging.getLogger("asyncio")
        aio.propagate = False
        aio.handlers[:] = [logging.NullHandler()]
    return handler
