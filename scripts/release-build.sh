#!/usr/bin/env bash
# The portable release build of the linux-x64-gnu addon, as published:
# optimized and stripped, linked against glibc 2.17 by napi-rs's cross
# toolchain (`--use-napi-cross`, downloaded once from the npm registry into
# ~/.napi-rs), OpenSSL, libgit2 and zlib built in. Writes
# .tmp/release/sst-local-state.linux-x64-gnu.node (or into $1) and checks it
# with scripts/release-check.sh. Other targets: .github/workflows/release.yml.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-.tmp/release}"
if [ ! -x node_modules/.bin/napi ]; then npm ci --no-audit --no-fund; fi
echo "release build of the native addon (linux-x64-gnu, glibc 2.17): about 4 minutes from clean on 2 cores"
node_modules/.bin/napi build --platform --release --use-napi-cross \
  --target x86_64-unknown-linux-gnu --output-dir "$out" --no-js --dts .release.d.ts
rm -f "$out/.release.d.ts"
bash scripts/release-check.sh "$out/sst-local-state.linux-x64-gnu.node"
