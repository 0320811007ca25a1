"""The operator's log lines: JSON and text, with time, level, logger, message and the Release they are about."""
from __future__ import annotations

import io
import json
import logging
import re
import threading
from typing import Iterator

import pytest

from ripcord import logs

RFC3339_MS = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z"


@pytest.fixture
def capture() -> Iterator[tuple[io.StringIO, list[logging.Handler]]]:
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    out = io.StringIO()
    yield out, saved_handlers
    root.handlers[:] = saved_handlers
    root.setLevel(saved_level)


def _lines(out: io.StringIO) -> list[str]:
    return [line for line in out.getvalue().splitlines() if line]


def test_json_lines_carry_time_level_logger_message_and_the_release(capture) -> None:  # type: ignore[no-untyped-def]
    out, _ = capture
    logs.setup("json", stream=out)
    log = logging.getLogger("ripcord.reconcile")
    log.info("outside any Release")
    with logs.context(namespace="shop", release="web"):
        log.info("observed")
        logs.bind(rollout=3)
        log.warning("%s/%s %s: %s", "shop", "web", "RolledBack", "2.0.0 rolled back")
    log.info("after")
    first, observed, transition, after = (json.loads(line) for line in _lines(out))
    assert set(first) == {"time", "level", "logger", "message"}  # unknown fields are left out, never null
    assert re.fullmatch(RFC3339_MS, first["time"])
    assert observed == {**observed, "level": "info", "logger": "ripcord.reconcile", "message": "observed",
                        "namespace": "shop", "release": "web"} and "rollout" not in observed
    assert transition["level"] == "warning" and transition["rollout"] == 3
    assert transition["message"] == "shop/web RolledBack: 2.0.0 rolled back"
    assert "namespace" not in after


def test_kopf_object_records_name_their_release(capture) -> None:  # type: ignore[no-untyped-def]
    out, _ = capture
    logs.setup("json", stream=out)
    adapter = logging.LoggerAdapter(logging.getLogger("kopf.objects"), {
        "k8s_skip": False, "k8s_ref": {"apiVersion": "ripcord.dev/v1alpha1", "kind": "Release", "name": "api",
                                       "uid": "u", "namespace": "team-a"}})
    adapter.error("Timer 'reconcile' failed")
    line = json.loads(_lines(out)[0])
    assert (line["logger"], line["level"], line["namespace"], line["release"]) == \
        ("kopf.objects", "error", "team-a", "api")
    assert "k8s_ref" not in line


def test_extra_fields_win_and_exceptions_go_in_error(capture) -> None:  # type: ignore[no-untyped-def]
    out, _ = capture
    logs.setup("json", stream=out)
    with logs.context(namespace="shop", release="web", rollout=1):
        try:
            raise RuntimeError("boom")
        except RuntimeError:
            logging.getLogger("ripcord.notify").exception("failed", extra={"rollout": 2})
    line = json.loads(_lines(out)[0])
    assert line["rollout"] == 2 and line["release"] == "web"
    assert "RuntimeError: boom" in line["error"] and "\n" not in _lines(out)[0]


def test_text_lines(capture) -> None:  # type: ignore[no-untyped-def]
    out, _ = capture
    logs.setup("text", stream=out)
    log = logging.getLogger("ripcord.reconcile")
    log.info("starting")
    with logs.context(namespace="shop", release="web", rollout=3):
        log.warning("rolled back")
    plain, scoped = _lines(out)
    assert re.fullmatch(rf"{RFC3339_MS} INFO    ripcord\.reconcile starting", plain)
    assert re.fullmatch(rf"{RFC3339_MS} WARNING ripcord\.reconcile \[shop/web #3\] rolled back", scoped)


def test_contexts_do_not_leak_between_threads(capture) -> None:  # type: ignore[no-untyped-def]
    out, _ = capture
    logs.setup("json", stream=out)
    barrier = threading.Barrier(2)

    def work(name: str) -> None:
        with logs.context(namespace="ns", release=name):
            barrier.wait(5)
            logging.getLogger("ripcord.reconcile").info(name)

    threads = [threading.Thread(target=work, args=(n,)) for n in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)
    assert all(line["release"] == line["message"] for line in map(json.loads, _lines(out)))


def test_setup_replaces_its_own_and_kopfs_handler(capture) -> None:  # type: ignore[no-untyped-def]
    out, before = capture
    logs.setup("text", stream=io.StringIO())
    logs.setup("json", stream=out)
    ours = [h for h in logging.getLogger().handlers if h not in before]
    assert len(ours) == 1 and isinstance(ours[0].formatter, logs.JsonFormatter)
    with pytest.raises(ValueError, match="unknown log format"):
        logs.formatter("xml")  # type: ignore[arg-type]


def test_rollout_of_a_status() -> None:
    assert logs.rollout_of({"rollout": {"id": 4}, "history": [{"id": 4}, {"id": 3}]}) == 4
    assert logs.rollout_of({"history": [{"id": 3}]}) == 3
    assert logs.rollout_of({}) is None and logs.rollout_of(None) is None
