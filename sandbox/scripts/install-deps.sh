#!/usr/bin/env bash
# Install the Debian packages the sandbox needs (only those missing), from the machine's
# own apt sources: etcd and Prometheus run the sandbox; openssl makes its PKI; the rest
# builds kube-apiserver/kube-controller-manager (sandbox/scripts/build-kube.sh).
# Extra packages may be named as arguments.
set -euo pipefail

PKGS=(etcd-server prometheus openssl rsync jq dpkg-dev make debian-archive-keyring "$@")
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [[ ${#missing[@]} -eq 0 ]]; then
  echo "sandbox dependencies installed"
  exit 0
fi
SUDO=()
if [[ $EUID -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "missing packages: ${missing[*]} (run as root)" >&2; exit 1; }
  SUDO=(sudo)
fi
echo "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq
# If the packages start system services (etcd on 2379, Prometheus on 9090), they do not
# collide with the sandbox's own instances, which use other ports (docs/design.md).
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
