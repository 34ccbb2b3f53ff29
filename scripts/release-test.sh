#!/usr/bin/env bash
# The release's other targets, as far as this Linux x64 machine can build,
# load and check them (npm test runs it after the linux-x64-gnu release build):
#
#   1. release builds (scripts/release-build.sh, the release workflow's own
#      path) of linux-arm64-gnu (glibc <= 2.17), linux-x64-musl and
#      linux-arm64-musl (musl's libc only), each checked by release-check.sh;
#   2. the Rust test suite built for x86_64-unknown-linux-musl with zig
#      (cargo-zigbuild) and run here (static test binaries);
#   3. Windows and macOS: the dependency trees, and clippy with the real
#      dependency tree (C code stubbed), by scripts/cross-clippy.sh;
#   4. __test__/release/*.test.mjs: linux-arm64-gnu loaded by arm64 Node
#      under qemu-user (--version, prepareStage, commitStage pushing to the
#      local git server), and the publish path against a local registry
#      (verdaccio) installed by npm, pnpm and bun.
# Prints the time each step took. Cold (nothing built): about 25 minutes on
# 2 cores; warm: about 3.
#
#   bash scripts/release-test.sh                 steps 1 to 4
#   bash scripts/release-test.sh --no-build      steps 3 and 4
#   bash scripts/release-test.sh --build-only    steps 1 to 3 (npm test runs them
#                                                in the background, beside the JS tests)
#   bash scripts/release-test.sh --tests-only    step 4
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
  echo "release-test.sh: builds and runs the other targets from Linux x64 only" >&2
  exit 0
fi
export CARGO_BUILD_TARGET=x86_64-unknown-linux-gnu
times=()
step() { # name command...
  local name=$1 start=$SECONDS
  shift
  printf '\n==> %s\n' "$name"
  "$@"
  times+=("$(printf '%4ds  %s' $((SECONDS - start)) "$name")")
}

musl_tests() {
  # cargo-zigbuild and zig as release-build.sh installs them (pinned, PyPI)
  local zig zigbuild
  zig=$(bash scripts/pip-tool.sh ziglang "$(sed -n 's/^ZIG_VERSION=//p' scripts/release-build.sh)")
  zigbuild=$(bash scripts/pip-tool.sh cargo-zigbuild "$(sed -n 's/^CARGO_ZIGBUILD_VERSION=//p' scripts/release-build.sh)")
  rustup target list --installed | grep -qx x86_64-unknown-linux-musl || rustup target add x86_64-unknown-linux-musl
  PATH="$zigbuild/bin:$zig/ziglang:$PATH" cargo-zigbuild test --target x86_64-unknown-linux-musl
  # the test binaries ran here: static executables, no glibc
  local exe
  exe=$(find target/x86_64-unknown-linux-musl/debug/deps -maxdepth 1 -type f -executable -name 'sst_local_state-*' | head -n 1)
  readelf -d "$exe" | grep -q NEEDED && { echo "release-test: $exe is not static" >&2; return 1; }
  echo "release-test: the musl test binaries are static ($(basename "$exe"))"
}

mode=${1:-all}
case "$mode" in
  all | --no-build | --build-only | --tests-only) ;;
  *) echo "usage: release-test.sh [--no-build | --build-only | --tests-only]" >&2; exit 2 ;;
esac
if [ "$mode" = all ] || [ "$mode" = --build-only ]; then
  for target in aarch64-unknown-linux-gnu x86_64-unknown-linux-musl aarch64-unknown-linux-musl; do
    step "release build $target" bash scripts/release-build.sh --target "$target"
  done
  step "cargo test --target x86_64-unknown-linux-musl (cargo-zigbuild)" musl_tests
fi
if [ "$mode" != --tests-only ]; then
  step "Windows and macOS: dependency trees and clippy (scripts/cross-clippy.sh)" bash scripts/cross-clippy.sh
fi
if [ "$mode" != --build-only ]; then
  step "installed and published: node --test __test__/release/*.test.mjs" \
    node --test --test-concurrency=1 __test__/release/*.test.mjs
fi
printf '\n==> release-test.sh: time per step\n'
printf '%s\n' "${times[@]}"
