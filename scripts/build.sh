#!/usr/bin/env bash
# Builds the native addon for this machine (debug unless --release) and
# regenerates binding.cjs (the loader) / index.d.ts. Cargo makes repeated builds no-ops.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x node_modules/.bin/napi ]; then npm ci --no-audit --no-fund; fi
# --no-const-enum: ErrorCode becomes a plain union of string literals
exec node_modules/.bin/napi build --platform --no-const-enum --js binding.cjs "$@"
