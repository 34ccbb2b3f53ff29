#!/usr/bin/env bash
# A pinned tool from PyPI, installed once into <repo>/.tmp/tools/ (gitignored):
#
#   bash scripts/pip-tool.sh <package> <version>
#       prints the install dir <repo>/.tmp/tools/<package>-<version>, after
#       `pip install --target` of the wheel (binary wheels only) when missing.
#
# Used for zig (package ziglang, its binary in <dir>/ziglang/zig) and
# cargo-zigbuild (<dir>/bin/cargo-zigbuild), which the musl release builds use.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
pkg=${1:?usage: pip-tool.sh <package> <version>}
version=${2:?usage: pip-tool.sh <package> <version>}
dir="$ROOT/.tmp/tools/$pkg-$version"
if [ ! -f "$dir/.installed" ]; then
  py=
  for p in python3 python; do
    if command -v "$p" >/dev/null && "$p" -m pip --version >/dev/null 2>&1; then py=$p; break; fi
  done
  [ -n "$py" ] || { echo "pip-tool.sh: python3 with pip is needed to install $pkg==$version" >&2; exit 1; }
  mkdir -p "$ROOT/.tmp/tools"
  tmp=$(mktemp -d "$dir.tmp.XXXXXX")
  if ! PIP_ROOT_USER_ACTION=ignore "$py" -m pip install --quiet --disable-pip-version-check --no-deps --no-compile \
    --only-binary=:all: --target "$tmp" "$pkg==$version" >&2; then
    rm -rf "$tmp"
    echo "pip-tool.sh: pip install $pkg==$version failed" >&2
    exit 1
  fi
  : >"$tmp/.installed"
  rm -rf "$dir"
  mv "$tmp" "$dir"
fi
echo "$dir"
