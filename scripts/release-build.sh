#!/usr/bin/env bash
# A release build of the addon, as published:
#
#   bash scripts/release-build.sh [--target <triple>] [--out <dir>] [napi build flags...]
#
# Default: x86_64-unknown-linux-gnu, linked against glibc 2.17 by napi-rs's
# cross toolchain (`--use-napi-cross`, downloaded once from the npm registry
# into ~/.napi-rs), into .tmp/release/, then checked by release-check.sh
# (glibc <= 2.17, no shared libz/libssl/libcrypto, <= 8 MB). The release
# workflow runs it for every target with that target's flags.
#
# OpenSSL, libgit2 and zlib are built in; on Linux, OpenSSL is configured
# without what the addon never uses (scripts/openssl-perl.sh). A target dir of
# its own (target/dist) keeps that OpenSSL apart from other builds' (cargo
# does not track the option that selects it).
set -euo pipefail
cd "$(dirname "$0")/.."
target=x86_64-unknown-linux-gnu
out=.tmp/release
extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --target) target=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    *) extra+=("$1"); shift ;;
  esac
done
if [ "$target" = x86_64-unknown-linux-gnu ] && [ ${#extra[@]} -eq 0 ]; then extra=(--use-napi-cross); fi
case "$target" in
  *-linux-*) if [ "$(uname -s)" = Linux ]; then export OPENSSL_SRC_PERL="$PWD/scripts/openssl-perl.sh"; fi ;;
esac
# With panic = "abort" (Cargo.toml) no unwind tables are needed either; only
# on Linux (Windows' x64 ABI, for one, requires them and rustc refuses).
case "$target" in
  *-linux-*) export RUSTFLAGS="${RUSTFLAGS:-} -C force-unwind-tables=no" ;;
esac
if [ ! -x node_modules/.bin/napi ]; then npm ci --no-audit --no-fund; fi
echo "release build of the native addon for $target: about 5 minutes from clean on 2 cores"
node_modules/.bin/napi build --platform --release --target "$target" --target-dir target/dist \
  --output-dir "$out" --no-js --dts .release.d.ts ${extra[@]+"${extra[@]}"}
rm -f "$out/.release.d.ts"
if [ "$target" = x86_64-unknown-linux-gnu ]; then
  bash scripts/release-check.sh "$out/sst-local-state.linux-x64-gnu.node"
fi
