"""Shards: each operator reconciles only the Releases labelled with its shard (server-side label
selector), the default shard those without the label; a Release relabelled mid-rollout is finished
by the shard it moved to, from the status the first shard wrote."""
from __future__ import annotations

from typing import Any, Callable

import pytest

from ripcord.contract import FINALIZER, SHARD_LABEL
from tests.integration.support import Releases, release_manifest, wait_for


def labelled(name: str, version: str, shard: str | None, **spec: Any) -> dict[str, Any]:
    body = release_manifest(name, version, virtual=True, **spec)
    if shard:
        body["metadata"]["labels"] = {SHARD_LABEL: shard}
    return body


def untouched(release: dict[str, Any]) -> bool:
    """No operator took it: no finalizer, nothing recorded (only the schema's status defaults)."""
    status = release.get("status") or {}
    return FINALIZER not in (release["metadata"].get("finalizers") or []) and \
        not any(status.get(k) for k in ("phase", "stable", "history", "conditions"))


def mentions(log: str, release: str, version: str) -> bool:
    """A transition of ``release`` to ``version`` in a text log (lines carry ``[<ns>/<release> #<id>]``)."""
    return any(f"/{release} #" in line and version in line for line in log.splitlines())


@pytest.mark.integration
def test_each_shard_reconciles_only_its_releases_and_a_moved_release_is_finished_by_its_new_shard(
        releases: Releases, operator_factory: Callable[..., Any]) -> None:
    blue = operator_factory(args=["--shard", "blue"], scrape_interval_s=5)
    green = operator_factory(args=["--shard", "green"], scrape_interval_s=5)
    slow = {"interval": "10s", "stepDuration": "600s", "postPromotionWatch": "10s"}
    releases.apply(labelled("one", "1.0.0", "blue", analysis=slow))
    releases.apply(labelled("two", "1.0.0", "green", analysis=slow))
    releases.apply(labelled("unsharded", "1.0.0", None))
    releases.wait_phase("one", "Stable", timeout=90)
    releases.wait_phase("two", "Stable", timeout=90)
    # Both operators listed every Release before installing theirs: the unlabelled one is nobody's.
    unsharded = releases.get("unsharded")
    assert untouched(unsharded), unsharded

    # A rollout started under blue, held at its first step (a long step), then moved to green.
    one = releases.get("one")
    one["spec"] = labelled("one", "1.1.0", "blue", analysis=slow)["spec"]
    releases.apply(one)
    first = wait_for(lambda: (r := releases.status("one").get("rollout")) and r.get("weight") and r, 60,
                     "blue's rollout of 1.1.0 at its first step")
    rollout_id = first["id"]
    releases.custom.patch_namespaced_custom_object(  # to green, whose steps are short
        "ripcord.dev", "v1alpha1", releases.ns, "releases", "one",
        {"metadata": {"labels": {SHARD_LABEL: "green"}}, "spec": {"analysis": {"stepDuration": "4s"}}})
    status = releases.wait_outcome("one", "Promoted", rollout_id=rollout_id, timeout=120)
    assert status["stable"]["version"] == "1.1.0"
    # One rollout from start to end: green resumed it from the status rather than starting again.
    assert [h["id"] for h in status["history"] if h["version"] == "1.1.0"] == [rollout_id]
    assert mentions(green.log_tail(400), "one", "1.1.0"), green.log_tail(40)
    promotions = [line for line in blue.log_tail(400).splitlines() if "/one #" in line and "Promot" in line]
    assert promotions == [], "blue let go of the Release when its label moved"
    assert blue.exited() is None and green.exited() is None
    assert untouched(releases.get("unsharded"))
