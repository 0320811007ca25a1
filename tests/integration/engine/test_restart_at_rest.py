"""A restarted operator looks at Releases at rest and writes nothing: it reconciles only once its
caches hold what the cluster holds (an empty pod cache read as "no ready pods" flipped every
Release to Initializing and back, two status writes per Release per restart)."""
from __future__ import annotations

import socket
import urllib.request
from typing import Any, Callable

import pytest

from tests.integration.support import Releases, release_manifest, wait_for


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _reconciles(port: int) -> float:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
            text = resp.read().decode()
    except OSError:
        return 0.0
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith("ripcord_reconcile_duration_seconds_count"))


@pytest.mark.integration
def test_a_restarted_operator_writes_nothing_to_releases_at_rest(
        releases: Releases, operator_factory: Callable[..., Any]) -> None:
    first = operator_factory()
    for name in ("web", "api"):
        releases.apply(release_manifest(name, "1.0.0"))
    for name in ("web", "api"):
        releases.wait_phase(name, "Stable", timeout=120)
    before = {name: releases.get(name) for name in ("web", "api")}
    first.stop()

    port = _free_port()
    operator_factory(args=["--metrics-port", str(port)])
    wait_for(lambda: _reconciles(port) >= 2, 60, "the new operator to reconcile both Releases")
    for name, body in before.items():
        now = releases.get(name)
        assert now["metadata"]["resourceVersion"] == body["metadata"]["resourceVersion"], (
            name, body["status"].get("conditions"), now["status"].get("conditions"))
        assert now["status"]["phase"] == "Stable"
