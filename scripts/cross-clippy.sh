#!/usr/bin/env bash
# What this Linux machine can check of the targets it cannot build:
#
#   bash scripts/cross-clippy.sh [<target>...]
#       default: x86_64-pc-windows-msvc aarch64-apple-darwin
#
# 1. The dependency trees of all four Windows and macOS targets (cargo tree):
#    on Windows no openssl-sys at all (it would need a system OpenSSL: the
#    probe's TLS is native-tls, i.e. SChannel, there), on macOS and Linux
#    OpenSSL vendored.
# 2. `cargo clippy --all-targets -- -D warnings` for each <target> (rustup
#    target added when missing): every Rust crate of the target's real
#    dependency tree, this crate's cfg(windows)/cfg(target_os = "macos")
#    code and its tests, type-checked and linted for that target. STUBBED:
#    the C code of the -sys crates (libgit2, zlib, OpenSSL) is not compiled;
#    their build scripts run with scripts/stub-cc.sh as the target's C
#    compiler and archiver, because the MSVC toolchain and Windows SDK, and
#    the macOS SDK, are not available here. Nothing is linked (clippy never
#    links). build.rs's +crt-static guard for msvc runs for real.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_BUILD_TARGET="${CARGO_BUILD_TARGET:-$(rustc -vV | sed -n 's/^host: //p')}"
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(x86_64-pc-windows-msvc aarch64-apple-darwin)
say() { echo "cross-clippy: $*"; }

# the crates (name, and version) in the normal dependency tree of <target>
tree() { cargo tree --target "$1" -e normal --prefix none --no-dedupe -f '{p} {f}' 2>/dev/null | sort -u; }
fail=0
for t in x86_64-pc-windows-msvc aarch64-pc-windows-msvc x86_64-apple-darwin aarch64-apple-darwin; do
  deps=$(tree "$t")
  case "$t" in
    *-windows-*)
      if grep -q '^openssl-sys ' <<<"$deps"; then
        say "$t: openssl-sys is in the dependency tree (a Windows build would need a system OpenSSL)"
        fail=1
      fi
      grep -q '^schannel ' <<<"$deps" || { say "$t: no schannel (native-tls) for the probe's TLS"; fail=1; }
      grep -q '^windows-sys .*Win32_System_JobObjects' <<<"$deps" || { say "$t: windows-sys without Win32_System_JobObjects"; fail=1; } ;;
    *)
      grep -q '^openssl-sys .*vendored' <<<"$deps" || { say "$t: openssl-sys is not vendored"; fail=1; } ;;
  esac
done
[ "$fail" -eq 0 ] || exit 1
say "dependency trees: Windows without openssl-sys (SChannel through native-tls, windows-sys Job Objects), macOS with vendored OpenSSL"

stub="$PWD/scripts/stub-cc.sh"
for t in "${targets[@]}"; do
  rustup target list --installed 2>/dev/null | grep -qx "$t" || rustup target add "$t"
  u=${t//-/_}
  say "cargo clippy --target $t --all-targets -- -D warnings (C code stubbed: scripts/stub-cc.sh)"
  env "CC_$u=$stub" "CXX_$u=$stub" "AR_$u=$stub" "RANLIB_$u=$stub" \
    cargo clippy --quiet --target "$t" --all-targets -- -D warnings
done
say "clippy clean for ${targets[*]}"
