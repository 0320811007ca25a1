#!/usr/bin/env bash
# Build kube-apiserver and kube-controller-manager from Debian bookworm's source
# package with bookworm's Go 1.19, and cache them.
#
# Mirrors come from this machine's own apt configuration; a private sources list and
# private apt state directories are used, so the system's apt state is not changed.
# Output: $RIPCORD_CACHE/bin/{kube-apiserver,kube-controller-manager} (default cache
# directory: ~/.cache/ripcord; override with RIPCORD_CACHE to try a cold build).
set -euo pipefail

KUBE_VERSION="1.20.5+really1.20.2-1.1+deb12u1"
GO_PKGS="golang-1.19-go golang-1.19-src"
REFLECT2_PKG="golang-github-modern-go-reflect2-dev"
CACHE="${RIPCORD_CACHE:-$HOME/.cache/ripcord}"
BIN="$CACHE/bin"
STAMP="$BIN/.built-$KUBE_VERSION"

if [[ -f "$STAMP" && -x "$BIN/kube-apiserver" && -x "$BIN/kube-controller-manager" ]]; then
  echo "kube binaries cached in $BIN"
  exit 0
fi

WORK="$CACHE/build"
APT="$WORK/apt"
mkdir -p "$APT/lists/partial" "$APT/archives/partial" "$APT/etc" "$WORK/dl" "$BIN"

# The first Debian mirror (main archive, not security) this machine is configured with.
mirror_from_system() {
  local uris
  uris=$( (grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{for(i=2;i<=NF;i++) print $i}';
           grep -hsE '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null \
             | sed -E 's/\[[^]]*\]//' | awk '{print $2}') | grep -v -- '-security' | grep -iv 'ports' )
  # prefer a URI that looks like a Debian archive
  local u
  for u in $uris; do case "$u" in *debian*) echo "$u"; return;; esac; done
  echo "$uris" | head -n1
}
MIRROR="${RIPCORD_DEBIAN_MIRROR:-$(mirror_from_system)}"
[[ -n "$MIRROR" ]] || { echo "no Debian mirror found in this machine's apt configuration" >&2; exit 1; }
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
cat > "$APT/etc/sources.list" <<SRC
deb [signed-by=$KEYRING] $MIRROR bookworm main
deb-src [signed-by=$KEYRING] $MIRROR bookworm main
SRC
APT_OPTS=(-o "Dir::Etc::SourceList=$APT/etc/sources.list" -o "Dir::Etc::SourceParts=/dev/null"
  -o "Dir::State::Lists=$APT/lists" -o "Dir::Cache::Archives=$APT/archives"
  -o "Dir::Cache::pkgcache=" -o "Dir::Cache::srcpkgcache=" -o "APT::Architecture=amd64"
  -o "Dir::State::status=$APT/etc/status" -o "Debug::NoLocking=1")
# As root, apt would drop to _apt, which cannot write our private directories (and warns).
if [[ $EUID -eq 0 ]]; then APT_OPTS+=(-o "APT::Sandbox::User=root"); fi
: > "$APT/etc/status"

echo "== apt metadata (bookworm, private state in $APT)"
apt-get "${APT_OPTS[@]}" -qq update

cd "$WORK/dl"
if [[ ! -d "$WORK/go/usr/lib/go-1.19" ]]; then
  echo "== Go 1.19 from bookworm"
  apt-get "${APT_OPTS[@]}" -qq download $GO_PKGS
  mkdir -p "$WORK/go"
  for d in golang-1.19-go_*.deb golang-1.19-src_*.deb; do dpkg -x "$d" "$WORK/go"; done
fi
if [[ ! -d "$WORK/reflect2" ]]; then
  apt-get "${APT_OPTS[@]}" -qq download "$REFLECT2_PKG"
  mkdir -p "$WORK/reflect2"; dpkg -x ${REFLECT2_PKG}_*.deb "$WORK/reflect2"
fi
SRC_DIR="$WORK/kubernetes-src"
if [[ ! -f "$SRC_DIR/.extracted" ]]; then
  echo "== kubernetes source $KUBE_VERSION"
  rm -rf "$SRC_DIR"
  apt-get "${APT_OPTS[@]}" -qq source --download-only "kubernetes=$KUBE_VERSION"
  dpkg-source --no-check -x kubernetes_*.dsc "$SRC_DIR" >/dev/null
  touch "$SRC_DIR/.extracted"
fi

echo "== replacing vendored reflect2 with Debian's 1.0.2"
R2_VENDOR="$SRC_DIR/vendor/github.com/modern-go/reflect2"
R2_NEW=$(find "$WORK/reflect2" -type d -path '*github.com/modern-go/reflect2' | head -n1)
find "$R2_VENDOR" -maxdepth 1 \( -name '*.go' -o -name '*.s' \) -delete
cp "$R2_NEW"/*.go "$R2_VENDOR"/
cp "$R2_NEW"/*.s "$R2_VENDOR"/ 2>/dev/null || true
rm -f "$R2_VENDOR"/*_test.go

export GOROOT="$WORK/go/usr/lib/go-1.19"
export PATH="$GOROOT/bin:$PATH"
export GOPATH="$WORK/gopath" GOFLAGS=-mod=vendor GO111MODULE=auto CGO_ENABLED=0 GOCACHE="$WORK/gocache"
mkdir -p "$GOPATH/src/k8s.io"
ln -sfn "$SRC_DIR" "$GOPATH/src/k8s.io/kubernetes"
cd "$GOPATH/src/k8s.io/kubernetes"
echo "== building (about 5 minutes on 2 cores)"
# KUBE_GIT_VERSION keeps the version scripts from needing a git checkout.
export KUBE_GIT_VERSION="v1.20.2" KUBE_GIT_TREE_STATE=clean KUBE_GIT_COMMIT=debian
make WHAT="cmd/kube-apiserver cmd/kube-controller-manager" KUBE_BUILD_PLATFORMS=linux/amd64 GOFLAGS=-mod=vendor
OUT="$GOPATH/src/k8s.io/kubernetes/_output/local/bin/linux/amd64"
[[ -x "$OUT/kube-apiserver" ]] || OUT="$GOPATH/src/k8s.io/kubernetes/_output/bin"
install -m 0755 "$OUT/kube-apiserver" "$OUT/kube-controller-manager" "$BIN/"
touch "$STAMP"
echo "kube binaries built in $BIN"
