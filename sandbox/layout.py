"""Where the sandbox keeps its state and which loopback ports it uses (docs/design.md)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

# RIPCORD_SANDBOX_PORT_OFFSET (default 0) shifts every port and the pod network, so a
# second, isolated sandbox (with its own RIPCORD_SANDBOX_DIR) can run beside the usual
# one, e.g. to time a cold start without disturbing it. The defaults are docs/design.md's.
PORT_OFFSET = int(os.environ.get("RIPCORD_SANDBOX_PORT_OFFSET") or 0)
ETCD_CLIENT_PORT = 12379 + PORT_OFFSET
ETCD_PEER_PORT = 12380 + PORT_OFFSET
APISERVER_PORT = 16443 + PORT_OFFSET
CONTROLLER_MANAGER_PORT = 16257 + PORT_OFFSET
KUBELET_PORT = 16250 + PORT_OFFSET
PROMETHEUS_PORT = 19090 + PORT_OFFSET
GATEWAY_PORT = 18080 + PORT_OFFSET
HOST = "127.0.0.1"
# Pods get addresses in 127.<POD_NET_OCTET>.0.0/16.
POD_NET_OCTET = 100 if PORT_OFFSET == 0 else 101 + (PORT_OFFSET // 1000) % 50

NODE_NAME = "sandbox-node"
OPERATOR_USER = "system:serviceaccount:ripcord-system:ripcord"
OPERATOR_GROUPS = ("system:serviceaccounts", "system:serviceaccounts:ripcord-system")


def cache_dir() -> Path:
    """Root of the build cache (``RIPCORD_CACHE``, default ``~/.cache/ripcord``)."""
    return Path(os.environ.get("RIPCORD_CACHE") or Path.home() / ".cache" / "ripcord")


def kube_bin_dir() -> Path:
    return cache_dir() / "bin"


def state_dir() -> Path:
    """The sandbox state directory (``RIPCORD_SANDBOX_DIR``, default ``~/.cache/ripcord/sandbox``)."""
    return Path(os.environ.get("RIPCORD_SANDBOX_DIR") or Path.home() / ".cache" / "ripcord" / "sandbox")


@dataclass(frozen=True)
class Paths:
    """Every file the sandbox writes, derived from one state directory."""

    root: Path

    @classmethod
    def default(cls) -> "Paths":
        return cls(state_dir().resolve())

    @property
    def pki(self) -> Path:
        return self.root / "pki"

    @property
    def run(self) -> Path:
        """Pid files of the components."""
        return self.root / "run"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def etcd_data(self) -> Path:
        return self.root / "etcd"

    @property
    def token_file(self) -> Path:
        return self.pki / "tokens.csv"

    @property
    def admin_kubeconfig(self) -> Path:
        return self.root / "admin.kubeconfig"

    @property
    def operator_kubeconfig(self) -> Path:
        return self.root / "operator.kubeconfig"

    @property
    def kubelet_dir(self) -> Path:
        return self.root / "kubelet"

    @property
    def pod_logs(self) -> Path:
        return self.root / "pods"

    @property
    def prometheus_dir(self) -> Path:
        return self.root / "prometheus"

    @property
    def targets_dir(self) -> Path:
        """file_sd target files the kubelet stand-in writes and Prometheus reads."""
        return self.prometheus_dir / "targets"

    @property
    def gateway_dir(self) -> Path:
        return self.root / "gateway"

    @property
    def lock_file(self) -> Path:
        return self.root / "lifecycle.lock"

    @property
    def audit_policy(self) -> Path:
        return self.root / "audit-policy.yaml"

    @property
    def operator_audit_log(self) -> Path:
        """Every request the operator's identity makes, one JSON audit event per line (metadata only)."""
        return self.logs / "audit-operator.log"

    def ensure(self) -> None:
        for d in (self.root, self.pki, self.run, self.logs, self.kubelet_dir, self.pod_logs,
                  self.targets_dir, self.gateway_dir):
            d.mkdir(parents=True, exist_ok=True)
        os.chmod(self.pki, 0o700)
