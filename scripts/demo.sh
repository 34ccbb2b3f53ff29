#!/usr/bin/env bash
# `npm run demo`: builds the addon if needed, then runs the demo.
set -euo pipefail
cd "$(dirname "$0")/.."
addon=$(ls sst-local-state.*.node 2>/dev/null | head -n 1 || true)
if [ -z "$addon" ] || [ -n "$(find src Cargo.toml Cargo.lock -newer "$addon" | head -n 1)" ]; then
  echo "demo: compiling the native addon first (cargo, debug build): about 5 minutes on 2 cores the" >&2
  echo "      first time, seconds after that. Installing the published package needs no compiler." >&2
fi
build_log=$(mktemp)
trap 'rm -f "$build_log"' EXIT
if ! bash scripts/build.sh >"$build_log" 2>&1; then
  cat "$build_log" >&2
  exit 1
fi
node scripts/demo.mjs "$@"
