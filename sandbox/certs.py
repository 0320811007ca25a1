"""The sandbox's PKI, made once per state directory with the openssl CLI.

A CA, the API server's serving certificate, the kubelet stand-in's serving certificate
(for ``kubectl logs``) and the service-account signing key pair.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

DAYS = "3650"


def _openssl(*args: str, cwd: Path) -> None:
    res = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True, timeout=60)
    if res.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(args)} failed: {res.stderr.strip()}")


def _serving_cert(pki: Path, name: str, cn: str, sans: str) -> None:
    if (pki / f"{name}.crt").exists():
        return
    _openssl("req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key",
             "-out", f"{name}.csr", "-subj", f"/CN={cn}", cwd=pki)
    (pki / f"{name}.ext").write_text(
        "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\n"
        f"extendedKeyUsage=serverAuth,clientAuth\nsubjectAltName={sans}\n")
    _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
             "-CAcreateserial", "-out", f"{name}.crt", "-days", DAYS, "-sha256",
             "-extfile", f"{name}.ext", cwd=pki)
    (pki / f"{name}.key").chmod(0o600)


def ensure_pki(pki: Path) -> None:
    """Create whatever part of the PKI is missing (idempotent)."""
    pki.mkdir(parents=True, exist_ok=True)
    if not (pki / "ca.crt").exists():
        _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt",
                 "-days", DAYS, "-subj", "/CN=ripcord-sandbox-ca",
                 "-addext", "basicConstraints=critical,CA:TRUE",
                 "-addext", "keyUsage=critical,keyCertSign,cRLSign,digitalSignature", cwd=pki)
        (pki / "ca.key").chmod(0o600)
    _serving_cert(pki, "apiserver", "kube-apiserver",
                  "IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,"
                  "DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local")
    _serving_cert(pki, "kubelet", "sandbox-node", "IP:127.0.0.1,DNS:localhost,DNS:sandbox-node")
    if not (pki / "sa.key").exists():
        _openssl("genrsa", "-out", "sa.key", "2048", cwd=pki)
        _openssl("rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub", cwd=pki)
        (pki / "sa.key").chmod(0o600)
