#!/usr/bin/env bash
# `npm run demo`: builds the addon if needed, then runs the demo.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh >/dev/null
exec node scripts/demo.mjs "$@"
