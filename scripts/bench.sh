#!/usr/bin/env bash
# `npm run bench`: one command, doing its own set-up.
#   bash scripts/bench.sh            full run, rewrites BENCHMARKS.md
#   bash scripts/bench.sh --quick    ~1 minute, prints the table only
# Set-up: npm dependencies (the real `sst`, bun, napi CLI), the release addon
# (a no-op when up to date), python3 or /usr/bin/time for wall/CPU time and
# peak RSS, strace (optional) for the profile of prepare, and nginx + fcgiwrap
# for the local smart-HTTP git server (Debian packages, installed if missing).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x node_modules/.bin/napi ] || [ ! -e node_modules/sst/package.json ]; then
  npm ci --no-audit --no-fund
fi

echo "[bench] building the release addon (bash scripts/build.sh --release)" >&2
bash scripts/build.sh --release >&2

# Measuring processes needs python3 (bench/rusage.py) or GNU time; the
# profile of prepare uses strace. Install what is missing (Debian packages).
missing=()
if ! command -v python3 >/dev/null && [ ! -x /usr/bin/time ]; then missing+=(time); fi
if ! command -v strace >/dev/null; then missing+=(strace); fi
if [ "${#missing[@]}" -gt 0 ] && command -v apt-get >/dev/null; then
  echo "[bench] installing ${missing[*]} (apt-get)" >&2
  sudo=()
  if [ "$(id -u)" -ne 0 ]; then sudo=(sudo); fi
  { "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >&2 ||
    echo "[bench] could not install ${missing[*]}; continuing (strace is optional)" >&2
fi
bash scripts/git-server.sh install

# Measure a snapshot of the release build: `npm test` (or anyone) may
# rebuild the addon in debug mode in this checkout while the benchmark runs.
host=$(rustc -vV | sed -n 's/^host: //p')
so=target/$host/release/libsst_local_state.so
node_file=$(ls sst-local-state.*.node | head -n 1)
snap=$(mktemp -d "${TMPDIR:-/tmp}/sst-local-state-bench-pkg-XXXXXX")
cp cli.js index.js index.mjs load.cjs binding.cjs package.json "$snap/"
if [ -f "$so" ]; then cp "$so" "$snap/$node_file"; else cp "$node_file" "$snap/"; fi

rc=0
SST_LOCAL_STATE_BENCH_PKG=$snap node bench/run.mjs "$@" || rc=$?
rm -rf "$snap"
exit "$rc"
