"""One Release nested 1,200 levels deep stops nothing (issue 11, item 1).

Before the safe decoder, Kopf's watch stream raised RecursionError on such a Release and
the operator exited: every Release in every watched namespace was unmanaged for as long as
that object existed. Now the deep part is cut when decoded, the deep Release gets an
``InvalidSpec`` naming the field, and everything else goes on.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

import pytest
from kubernetes import client

from ripcord.api.models import GROUP, PLURAL, VERSION
from ripcord.kube import safejson
from sandbox.pytest_plugin import temporary_namespace
from tests.integration.support import OperatorProcess, Releases, release_manifest, write_operator_config

safejson.install_client()  # this test reads the deep Release back, and so does the namespace's teardown

DEPTH = 1200


def deep_release(name: str) -> str:
    """The Release's JSON, with spec.template.spec.deep nested DEPTH levels (about 8 kB)."""
    body = release_manifest(name, "1.0.0")
    body["spec"]["template"]["spec"]["deep"] = "__DEEP__"
    return json.dumps(body).replace('"__DEEP__"', '{"k": ' * DEPTH + "1" + "}" * DEPTH)


def create_raw(api: client.ApiClient, namespace: str, text: str) -> None:
    """POST the JSON as it is: the client's own serialiser recurses, and cannot send it."""
    cfg = api.configuration
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if token := cfg.auth_settings().get("BearerToken"):
        headers[token["key"]] = token["value"]
    r = api.rest_client.pool_manager.request(
        "POST", f"{cfg.host}/apis/{GROUP}/{VERSION}/namespaces/{namespace}/{PLURAL}", body=text.encode(),
        headers=headers, timeout=30)
    assert r.status == 201, r.data[:500]


@pytest.fixture
def other_namespace(kube: client.ApiClient, namespace: str) -> Iterator[str]:
    with temporary_namespace(kube, f"{namespace[:55]}-other") as name:
        yield name


@pytest.mark.integration
def test_a_release_nested_1200_levels_deep_harms_no_other_release(
        kube: client.ApiClient, ripcord_installed: Any, namespace: str, other_namespace: str, tmp_path: Path) -> None:
    deep_ns, normal_ns = namespace, other_namespace
    with pytest.raises(RecursionError):
        json.loads(deep_release("x"))  # what Kopf's watch stream did with it
    create_raw(kube, deep_ns, deep_release("deep-before"))  # there when the operator starts: the initial list
    config = write_operator_config(tmp_path / "ripcord.yaml", ripcord_installed.prometheus_url)
    operator = OperatorProcess(ripcord_installed.operator_kubeconfig, [deep_ns, normal_ns], tmp_path / "operator.log",
                               config).start()
    try:
        normal = Releases(kube, normal_ns)
        normal.apply(release_manifest("web", "1.0.0"))
        create_raw(kube, deep_ns, deep_release("deep-after"))  # arrives on the watch stream
        normal.wait_phase("web", "Stable", timeout=90)
        normal.apply(release_manifest("web", "2.0.1"))
        normal.wait_outcome("web", "Promoted", rollout_id=2, timeout=180)

        deep = Releases(kube, deep_ns)
        for name in ("deep-before", "deep-after"):
            status = deep.wait_phase(name, "InvalidSpec", timeout=60)
            stalled = next(c for c in status["conditions"] if c["type"] == "Stalled")
            assert stalled["status"] == "True" and stalled["reason"] == "InvalidSpec"
            assert stalled["message"].startswith("spec.template.spec.deep.k.k.k"), stalled["message"]
            assert "nested deeper than" in stalled["message"]
            assert any(e.reason == "InvalidSpec" for e in deep.events(name))
        assert client.AppsV1Api(kube).list_namespaced_deployment(deep_ns).items == [], "an invalid Release acts on nothing"
        assert operator.exited() is None, f"the operator exited:\n{operator.log_tail()}"
        log = Path(operator.log_path).read_text(errors="replace")
        assert "RecursionError" not in log and "Traceback" not in log, operator.log_tail()
    finally:
        operator.stop()
