"""The demo's namespace, Ripcord's install, the operator process and the gateway loads."""
from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from typing import Any

from kubernetes import client
from kubernetes.client.rest import ApiException

from ripcord.api.models import GROUP, PLURAL, VERSION
from sandbox import Sandbox
from sandbox.gateway.client import GatewayClient
from sandbox.releases import OperatorProcess, install_ripcord, write_operator_config

from .console import Console, wait

NAMESPACE_GONE_TIMEOUT_S = 120.0


def delete_namespace(console: Console, api: client.ApiClient, namespace: str) -> None:
    """Delete ``namespace`` and wait until it is gone (nothing to do if it does not exist).

    No operator watches a leftover Release any more (each run stops the one it started), so
    Ripcord's finalizer is taken off first; otherwise the namespace would never go.
    """
    core, custom = client.CoreV1Api(api), client.CustomObjectsApi(api)
    try:
        core.read_namespace(namespace)
    except ApiException as e:
        if e.status == 404:
            return
        raise
    try:
        leftovers = custom.list_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL)["items"]
    except ApiException as e:
        if e.status != 404:  # no CRD yet: nothing to clear
            raise
        leftovers = []
    for rel in leftovers:
        if rel["metadata"].get("finalizers"):
            custom.patch_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, rel["metadata"]["name"],
                                                  {"metadata": {"finalizers": None}})
    try:
        core.delete_namespace(namespace)
    except ApiException as e:
        if e.status != 404:
            raise

    def gone() -> bool:
        try:
            core.read_namespace(namespace)
        except ApiException as e:
            if e.status == 404:
                return True
            raise
        return False

    wait(console, f"namespace {namespace} to be deleted", gone, lambda: "terminating", NAMESPACE_GONE_TIMEOUT_S)


def reset_namespace(console: Console, api: client.ApiClient, namespace: str) -> None:
    """Delete what an earlier run left in ``namespace`` and create it afresh."""
    delete_namespace(console, api, namespace)
    client.CoreV1Api(api).create_namespace(
        {"metadata": {"name": namespace, "labels": {"app.kubernetes.io/part-of": "ripcord-demo"}}})


def install(sb: Sandbox) -> None:
    """The Release CRD and the RBAC that manifests/ ships (the operator runs under exactly that)."""
    install_ripcord(sb.admin_kubeconfig)


class Operator:
    """``ripcord run`` for the demo namespace, as the operator identity; its pid is kept in a file.

    The pid file lets the next run stop an operator that a killed run left behind: only a
    live process whose command line is that very ``ripcord run`` is signalled.
    """

    def __init__(self, sb: Sandbox, namespace: str, out_dir: Path) -> None:
        self.namespace = namespace
        self.config_path = write_operator_config(out_dir / "ripcord.yaml", sb.prometheus_url,
                                                 gateway_url=sb.gateway_url)
        self.log_path = out_dir / "operator.log"
        self.pid_path = out_dir / "operator.pid"
        self.kubeconfig = str(sb.operator_kubeconfig)
        self.proc = OperatorProcess(self.kubeconfig, namespace, self.log_path, self.config_path)

    def stop_leftover(self, console: Console) -> bool:
        """Stop the operator an interrupted run of this namespace left running; True if there was one."""
        try:
            pid = int(self.pid_path.read_text().strip())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except (OSError, ValueError):
            return False
        finally:
            self.pid_path.unlink(missing_ok=True)
        wanted = [b"ripcord.cli.main", b"run", b"--namespace", self.namespace.encode()]
        if not all(w in cmdline for w in wanted):
            return False
        os.killpg(pid, signal.SIGTERM)  # it was started in its own session, as its group leader
        wait(console, f"the operator an earlier run left (pid {pid}) to stop",
             lambda: not Path(f"/proc/{pid}").exists(), lambda: "stopping", 15)
        return True

    def start(self) -> None:
        self.log_path.unlink(missing_ok=True)
        self.proc.start()
        assert self.proc.proc is not None
        self.pid_path.write_text(str(self.proc.proc.pid))

    def stop(self) -> None:
        self.proc.stop()
        self.pid_path.unlink(missing_ok=True)

    def alive(self) -> bool:
        return self.proc.exited() is None and self.proc.proc is not None

    def command(self) -> str:
        """How to start it again by hand."""
        exe = Path(sys.executable).with_name("ripcord")
        prog = str(exe) if exe.exists() else f"{sys.executable} -m ripcord.cli.main"
        return f"{prog} run --kubeconfig {self.kubeconfig} --namespace {self.namespace} --config {self.config_path}"


class Loads:
    """The gateway loads one run uses, named after the namespace so runs do not collide."""

    def __init__(self, gateway: GatewayClient, namespace: str) -> None:
        self.gw, self.namespace = gateway, namespace
        self.names: list[str] = []

    def name(self, role: str) -> str:
        return f"{self.namespace}-{role}"

    def start(self, role: str, *, rps: float, paths: list[str], **target: Any) -> str:
        name = self.name(role)
        self.gw.delete_load(name)  # a fresh record: a load created anew starts its file over
        self.gw.put_load(name, self.namespace, rps=rps, paths=paths, **target)
        self.names.append(name)
        return name

    def stop(self, role: str) -> None:
        self.gw.delete_load(self.name(role))

    def stop_all(self) -> None:
        for name in self.names:
            try:
                self.gw.delete_load(name)
            except Exception:  # noqa: BLE001 - best effort at the end of a run
                pass
