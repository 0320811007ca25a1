"""`ripcord run --log-format json`: every line of the operator is one JSON object; transitions name the Release."""
from __future__ import annotations

import json
import re
from typing import Any, Callable

import pytest

from tests.integration.support import OperatorProcess, Releases, release_manifest, wait_for

RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z")


def _lines(proc: OperatorProcess) -> list[str]:
    return [line for line in proc.log_path.read_text(errors="replace").splitlines() if line.strip()]


@pytest.mark.integration
def test_json_log_lines_carry_time_level_logger_and_the_release(releases: Releases, namespace: str,
                                                                operator_factory: Callable[..., Any]) -> None:
    proc = operator_factory(args=["--log-format", "json"])
    name = "logged"
    releases.apply(release_manifest(name, "1.0.0"))
    releases.wait_phase(name, "Stable", timeout=90)
    releases.apply(release_manifest(name, "1.0.1"))
    entry = wait_for(lambda: next((h for h in releases.status(name).get("history") or []
                                   if h["version"] == "1.0.1" and h["outcome"] == "Promoted"), None),
                     120, "1.0.1 promoted")
    rid = entry["id"]

    def started_line() -> Any:
        for line in _lines(proc):
            obj = json.loads(line)
            if obj.get("logger") == "ripcord.reconcile" and "RolloutStarted" in obj.get("message", ""):
                return obj
        return None

    line = wait_for(started_line, 30, "a RolloutStarted transition in the operator's log")
    assert line["namespace"] == namespace and line["release"] == name and line["rollout"] == rid, line
    assert line["level"] == "info" and RFC3339.fullmatch(line["time"]), line

    lines = _lines(proc)
    objects = [json.loads(text) for text in lines]  # every line is JSON, Kopf's included
    assert all({"time", "level", "logger", "message"} <= set(o) for o in objects)
    assert any(o["logger"].startswith("kopf") for o in objects), "Kopf's own lines go through the same format"
    promoted = [o for o in objects if o["logger"] == "ripcord.reconcile" and o["message"].startswith("Promoted:")]
    assert promoted and all(o.get("rollout") == rid and o.get("release") == name for o in promoted), promoted
