"""The control plane: etcd, kube-apiserver, kube-controller-manager, tokens and kubeconfigs."""

from __future__ import annotations

import base64
import json
import secrets
import ssl
import urllib.error
import urllib.request
from pathlib import Path

import yaml

from . import layout
from .certs import ensure_pki
from .layout import HOST, Paths
from .proc import Component

ETCD_BIN = "/usr/bin/etcd"
SERVICE_CIDR = "10.96.0.0/16"
SA_ISSUER = "https://kubernetes.default.svc.cluster.local"


def apiserver_url() -> str:
    return f"https://{HOST}:{layout.APISERVER_PORT}"


def etcd_url() -> str:
    return f"http://{HOST}:{layout.ETCD_CLIENT_PORT}"


# --- identities -----------------------------------------------------------------------

def ensure_tokens(paths: Paths) -> dict[str, str]:
    """Static bearer tokens: ``admin`` (system:masters) and the operator's ServiceAccount identity.

    Returns ``{"admin": token, "operator": token}``; tokens survive restarts of the sandbox.
    """
    path = paths.token_file
    tokens: dict[str, str] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            token, user = line.split(",")[:2]
            tokens["admin" if user == "admin" else "operator"] = token
    if set(tokens) != {"admin", "operator"}:
        tokens = {"admin": secrets.token_hex(24), "operator": secrets.token_hex(24)}
        groups = ",".join(layout.OPERATOR_GROUPS)
        path.write_text(
            f'{tokens["admin"]},admin,admin-uid,"system:masters"\n'
            f'{tokens["operator"]},{layout.OPERATOR_USER},ripcord-operator-uid,"{groups}"\n')
        path.chmod(0o600)
    return tokens


def _kubeconfig(ca_pem: bytes, user: str, token: str) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "ripcord-sandbox", "cluster": {
            "server": apiserver_url(),
            "certificate-authority-data": base64.b64encode(ca_pem).decode()}}],
        "users": [{"name": user, "user": {"token": token}}],
        "contexts": [{"name": f"ripcord-sandbox-{user}",
                      "context": {"cluster": "ripcord-sandbox", "user": user, "namespace": "default"}}],
        "current-context": f"ripcord-sandbox-{user}",
    }


def write_kubeconfigs(paths: Paths, tokens: dict[str, str]) -> None:
    ca = (paths.pki / "ca.crt").read_bytes()
    for path, user, token in ((paths.admin_kubeconfig, "admin", tokens["admin"]),
                              (paths.operator_kubeconfig, "ripcord-operator", tokens["operator"])):
        tmp = path.with_suffix(".tmp")
        tmp.write_text(yaml.safe_dump(_kubeconfig(ca, user, token), sort_keys=False))
        tmp.chmod(0o600)
        tmp.replace(path)


def prepare(paths: Paths) -> dict[str, str]:
    """PKI, tokens, kubeconfigs and the audit policy (idempotent)."""
    paths.ensure()
    ensure_pki(paths.pki)
    tokens = ensure_tokens(paths)
    write_kubeconfigs(paths, tokens)
    write_audit_policy(paths)
    return tokens


def write_audit_policy(paths: Paths) -> None:
    """Audit the operator's identity only, at Metadata level (who, verb, resource, status; no bodies):
    the RBAC test compares what the operator really calls with what the shipped ClusterRole grants."""
    paths.audit_policy.write_text(
        "apiVersion: audit.k8s.io/v1\n"
        "kind: Policy\n"
        "omitStages: [RequestReceived]\n"
        "rules:\n"
        f"- level: Metadata\n  users: [\"{layout.OPERATOR_USER}\"]\n"
        "- level: None\n")


# --- health checks --------------------------------------------------------------------

def _get(url: str, *, ca: Path | None = None, token: str | None = None, verify: bool = True,
         timeout: float = 2.0) -> tuple[int, bytes]:
    ctx = None
    if url.startswith("https"):
        ctx = ssl.create_default_context(cafile=str(ca)) if verify and ca else ssl._create_unverified_context()
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(req, timeout=timeout, context=ctx) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def rest(paths: Paths, method: str, path: str, body: object = None, timeout: float = 10.0) -> tuple[int, dict]:
    """One admin request to the API server (stdlib only: the kubernetes client imports slowly)."""
    token = ensure_tokens(paths)["admin"]
    ctx = ssl.create_default_context(cafile=str(paths.pki / "ca.crt"))
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(apiserver_url() + path, data=data, method=method, headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/json", "Accept": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout, context=ctx) as resp:
            return resp.status, json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as err:
        raw = err.read()
        try:
            return err.code, json.loads(raw)
        except ValueError:
            return err.code, {"message": raw.decode(errors="replace")}


def etcd_healthy() -> bool:
    status, body = _get(f"{etcd_url()}/health")
    return status == 200 and b'"health":"true"' in body


def apiserver_healthy(paths: Paths, token: str) -> bool:
    status, _ = _get(f"{apiserver_url()}/readyz", ca=paths.pki / "ca.crt", token=token)
    return status == 200


def controller_manager_healthy() -> bool:
    status, body = _get(f"https://{HOST}:{layout.CONTROLLER_MANAGER_PORT}/healthz", verify=False)
    return status == 200 and body.strip() == b"ok"


# --- components -----------------------------------------------------------------------

def etcd(paths: Paths) -> Component:
    peer = f"http://{HOST}:{layout.ETCD_PEER_PORT}"
    return Component(
        name="etcd",
        argv=[ETCD_BIN, "--name", "sandbox", "--data-dir", str(paths.etcd_data),
              "--listen-client-urls", etcd_url(), "--advertise-client-urls", etcd_url(),
              "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
              "--initial-cluster", f"sandbox={peer}", "--initial-cluster-state", "new",
              "--quota-backend-bytes", str(4 * 1024**3), "--auto-compaction-retention", "1h",
              "--log-level", "warn", "--logger", "zap"],
        health=etcd_healthy,
        address=etcd_url(),
        start_timeout=30,
    )


def apiserver(paths: Paths, tokens: dict[str, str]) -> Component:
    pki = paths.pki
    return Component(
        name="kube-apiserver",
        argv=[str(layout.kube_bin_dir() / "kube-apiserver"),
              "--etcd-servers", etcd_url(),
              "--bind-address", HOST, "--advertise-address", HOST,
              "--secure-port", str(layout.APISERVER_PORT), "--insecure-port", "0",
              "--tls-cert-file", str(pki / "apiserver.crt"), "--tls-private-key-file", str(pki / "apiserver.key"),
              "--client-ca-file", str(pki / "ca.crt"),
              "--token-auth-file", str(paths.token_file),
              "--authorization-mode", "Node,RBAC",
              "--service-account-key-file", str(pki / "sa.pub"),
              "--service-account-signing-key-file", str(pki / "sa.key"),
              "--service-account-issuer", SA_ISSUER,
              "--service-cluster-ip-range", SERVICE_CIDR,
              # Loopback addresses are rejected in Endpoints: no reconciler for the
              # `kubernetes` Service's endpoints.
              "--endpoint-reconciler-type", "none",
              "--kubelet-preferred-address-types", "InternalIP",
              "--allow-privileged=true",
              "--profiling=false",
              "--event-ttl", "30m",
              "--audit-policy-file", str(paths.audit_policy),
              "--audit-log-path", str(paths.operator_audit_log), "--audit-log-format", "json",
              "--audit-log-maxsize", "100", "--audit-log-maxbackup", "3",
              "--max-requests-inflight", "800", "--max-mutating-requests-inflight", "400",
              "--v", "1"],
        health=lambda: apiserver_healthy(paths, tokens["admin"]),
        address=apiserver_url(),
        start_timeout=90,
    )


def controller_manager(paths: Paths) -> Component:
    pki = paths.pki
    kc = str(paths.admin_kubeconfig)
    return Component(
        name="kube-controller-manager",
        argv=[str(layout.kube_bin_dir() / "kube-controller-manager"),
              "--kubeconfig", kc, "--authentication-kubeconfig", kc, "--authorization-kubeconfig", kc,
              "--bind-address", HOST, "--secure-port", str(layout.CONTROLLER_MANAGER_PORT), "--port", "0",
              "--leader-elect=false",
              "--service-account-private-key-file", str(pki / "sa.key"),
              "--root-ca-file", str(pki / "ca.crt"),
              "--cluster-signing-cert-file", str(pki / "ca.crt"),
              "--cluster-signing-key-file", str(pki / "ca.key"),
              "--service-cluster-ip-range", SERVICE_CIDR,
              # The default 20 requests/s creates pods at about 4/s in bulk.
              "--kube-api-qps", "300", "--kube-api-burst", "600",
              "--concurrent-deployment-syncs", "10", "--concurrent-replicaset-syncs", "10",
              "--concurrent-gc-syncs", "20", "--concurrent-namespace-syncs", "10",
              "--controllers", "*,-nodeipam,-cloud-node-lifecycle,-route,-service",
              "--v", "1"],
        health=controller_manager_healthy,
        address=f"https://{HOST}:{layout.CONTROLLER_MANAGER_PORT}",
        start_timeout=60,
    )
