"""Pytest fixtures on the sandbox (registered by ``tests/conftest.py``).

- ``sandbox`` (session): the running sandbox (:class:`sandbox.Sandbox`), started once per
  run if needed. If this run started it and ``CI`` is set, it is stopped at the end;
  otherwise it is left running for the next run.
- :func:`exclusive`: a lock shared by every pytest process on one sandbox, for session set-up
  that must not run twice at once (applying the CRD, the RBAC, the install overlay).

Under pytest-xdist (``make test`` runs the suite with ``-n``) each worker asks for the
sandbox; the sandbox's own lock makes the first start it and the others wait and reuse it.
Workers report what they started to the controller, which stops the sandbox at the end.
- ``kube`` / ``operator_kube`` (session): ``kubernetes.client.ApiClient`` for the admin and
  for the operator identity (which has only the rights RBAC objects give it).
- ``namespace`` (function): a fresh namespace, deleted after the test.

Tests under ``tests/integration/`` are marked ``integration``. The run ends with a
"ripcord timings" section: sandbox start-up, and each test's duration (slowest first).
"""

from __future__ import annotations

import contextlib
import os
import re
import time
import uuid
from collections import defaultdict
from typing import Any, Iterator

import pytest
from filelock import FileLock

from sandbox import lifecycle
from sandbox.testing import wait_until

_TIMES: dict[str, dict[str, float]] = defaultdict(dict)  # nodeid -> phase -> seconds
_SANDBOX: dict[str, object] = {}


def _ci() -> bool:
    return os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "integration: needs the sandbox cluster")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if "integration" in item.path.parts:
            item.add_marker(pytest.mark.integration)


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


@contextlib.contextmanager
def exclusive(sb: lifecycle.Sandbox, name: str, timeout: float = 300) -> Iterator[None]:
    """Hold the sandbox-wide lock ``name`` (a file in its state directory) for the block."""
    with FileLock(str(sb.state_dir / f"{name}.lock"), timeout=timeout):
        yield


@pytest.fixture(scope="session")
def sandbox(request: pytest.FixtureRequest) -> lifecycle.Sandbox:
    t0 = time.monotonic()
    res = lifecycle.up(echo=lambda _line: None)
    _SANDBOX.update(up=time.monotonic() - t0, started=list(res.started), timings=dict(res.timings))
    if _is_worker(request.config):
        request.config.workeroutput["ripcord_sandbox"] = dict(_SANDBOX)  # type: ignore[attr-defined]
    return res.sandbox


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """xdist, in the controller: a worker ended; keep what its sandbox fixture did."""
    got = getattr(node, "workeroutput", {}).get("ripcord_sandbox")
    if got and ("up" not in _SANDBOX or got["started"]):
        _SANDBOX.update(got)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _is_worker(session.config):
        return
    if "kube-apiserver" in _SANDBOX.get("started", ()) and _ci():
        t1 = time.monotonic()
        lifecycle.down(echo=lambda _line: None)
        _SANDBOX["down"] = time.monotonic() - t1


@pytest.fixture(scope="session")
def kube(sandbox: lifecycle.Sandbox):
    with sandbox.api_client() as client:
        yield client


@pytest.fixture(scope="session")
def operator_kube(sandbox: lifecycle.Sandbox):
    with sandbox.api_client(operator=True) as client:
        yield client


def _namespace_name(test_name: str) -> str:
    base = re.sub(r"[^a-z0-9-]+", "-", test_name.lower()).strip("-")[:40].strip("-") or "test"
    return f"t-{base}-{uuid.uuid4().hex[:6]}"


@contextlib.contextmanager
def temporary_namespace(kube: Any, name: str) -> Iterator[str]:
    """A namespace for one test, ready for pods; deleted afterwards (Releases' finalizers cleared first)."""
    from kubernetes import client
    from kubernetes.client.rest import ApiException

    core = client.CoreV1Api(kube)
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(
        name=name, labels={"ripcord.dev/test": "true"})))
    # The ServiceAccount admission plugin refuses pods until the default token exists.
    wait_until(lambda: core.read_namespaced_service_account("default", name).secrets, 30,
               f"the default ServiceAccount token in {name}", interval=0.1)
    try:
        yield name
    finally:
        from sandbox.releases import clear_release_finalizers
        clear_release_finalizers(kube, name)
        try:
            core.delete_namespace(name)
        except ApiException as e:
            if e.status != 404:
                raise


@pytest.fixture
def namespace(kube, request: pytest.FixtureRequest) -> Iterator[str]:
    with temporary_namespace(kube, _namespace_name(request.node.name)) as name:
        yield name


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    _TIMES[report.nodeid][report.when] = report.duration


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    if not _TIMES or _is_worker(config):
        return
    tr = terminalreporter
    tr.section("ripcord timings")
    if "up" in _SANDBOX:
        started = _SANDBOX["started"]
        how = f"started {', '.join(started)}" if started else "reused the running sandbox"
        tr.write_line(f"sandbox up: {_SANDBOX['up']:.1f}s ({how})")
        slow = {k: v for k, v in _SANDBOX["timings"].items() if v >= 0.5}
        if slow:
            tr.write_line("  " + ", ".join(f"{k} {v:.1f}s" for k, v in slow.items()))
    if "down" in _SANDBOX:
        tr.write_line(f"sandbox down: {_SANDBOX['down']:.1f}s")
    totals = sorted(((sum(p.values()), nodeid, p) for nodeid, p in _TIMES.items()), reverse=True)
    tr.write_line(f"tests: {len(totals)}, {sum(t for t, _, _ in totals):.1f}s in total; slowest first:")
    for total, nodeid, p in totals[:15]:
        tr.write_line(f"  {total:7.2f}s  {nodeid}  (setup {p.get('setup', 0):.2f}s, "
                      f"call {p.get('call', 0):.2f}s, teardown {p.get('teardown', 0):.2f}s)")
