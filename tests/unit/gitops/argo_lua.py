"""Run manifests/argocd/health.lua the way Argo CD does, with Lua from PyPI (lupa).

Argo CD runs health scripts in gopher-lua, a Lua 5.1, with the live object as the global
``obj`` and only the safe standard libraries; the script's return value must be a table with
a ``status`` Argo CD knows. Lua 5.1 from lupa, with ``os``/``io``/``require``/``debug`` and
file loading removed, is the closest stand-in: a script that passes here uses nothing
gopher-lua lacks.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Mapping, Optional

import lupa.lua51 as lua51

ROOT = Path(__file__).resolve().parents[3]
HEALTH_LUA = ROOT / "manifests" / "argocd" / "health.lua"
STATUSES = ("Healthy", "Progressing", "Degraded", "Suspended", "Missing", "Unknown")
_REMOVED = ("os", "io", "require", "dofile", "loadfile", "debug", "package")


@dataclasses.dataclass(frozen=True)
class Health:
    status: str
    message: Optional[str]


def health(obj: Mapping[str, Any], script: Optional[str] = None) -> Health:
    lua = lua51.LuaRuntime(unpack_returned_tuples=True)
    g = lua.globals()
    for name in _REMOVED:
        g[name] = None
    g.obj = lua.table_from(_json(obj), recursive=True)
    result = lua.execute(script if script is not None else HEALTH_LUA.read_text())
    if result is None:
        raise AssertionError("health.lua returned nothing")
    status, message = result["status"], result["message"]
    if status not in STATUSES:
        raise AssertionError(f"health.lua returned status {status!r}, not one of {STATUSES}")
    return Health(str(status), None if message is None else str(message))


def _json(value: Any) -> Any:
    """Only what JSON (and so Argo CD's conversion) has: dicts, lists, strings, numbers, booleans."""
    if isinstance(value, Mapping):
        return {str(k): _json(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [_json(v) for v in value]
    if isinstance(value, (str, int, float, bool)):
        return value
    return str(value)  # e.g. datetimes YAML parsed from timestamps
