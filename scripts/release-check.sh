#!/usr/bin/env bash
# Checks that a Linux addon is portable, as its platform package promises
# (the platform is read from the name, sst-local-state.<platform>.node):
#   linux-*-gnu    needs glibc 2.17 or older
#   linux-*-musl   needs musl's libc and nothing else (no glibc symbol)
#   both           the platform's CPU; no shared libz, libssl or libcrypto
#                  (they are built in); at most 8 MB
#   bash scripts/release-check.sh <file.node>     exit 0 = portable
set -euo pipefail
file="${1:?usage: release-check.sh <file.node>}"
max_bytes=$((8 * 1024 * 1024))
max_glibc="2.17"
command -v readelf >/dev/null || { echo "release-check: readelf (binutils) is required" >&2; exit 1; }
platform=$(basename "$file" .node)
platform=${platform##*.}
case "$platform" in
  linux-x64-gnu | linux-x64-musl) machine="Advanced Micro Devices X86-64" ;;
  linux-arm64-gnu | linux-arm64-musl) machine="AArch64" ;;
  *) echo "release-check: $file: not a linux-{x64,arm64}-{gnu,musl} binary name" >&2; exit 2 ;;
esac
fail=0
size=$(wc -c <"$file")
if [ "$size" -gt "$max_bytes" ]; then
  echo "release-check: $file is $size bytes, over the limit of $max_bytes (8 MB)" >&2
  fail=1
fi
got=$(readelf -h "$file" | sed -n 's/^ *Machine: *//p')
if [ "$got" != "$machine" ]; then
  echo "release-check: $file is for $got, not $machine ($platform)" >&2
  fail=1
fi
needed=$(readelf -d "$file" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
for lib in $needed; do
  case "$lib" in
    libz.so* | libssl.so* | libcrypto.so*)
      echo "release-check: $file links the shared library $lib (it must be built in)" >&2
      fail=1 ;;
  esac
done
# The newest glibc symbol version the file needs (none at all for musl).
glibc=$(readelf -W --dyn-syms -V "$file" | grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/GLIBC_//' | sort -uV | tail -1 || true)
case "$platform" in
  *-gnu)
    if [ -z "$glibc" ]; then
      echo "release-check: $file needs no versioned glibc symbol: is it a glibc build at all?" >&2
      fail=1
    elif [ "$(printf '%s\n%s\n' "$glibc" "$max_glibc" | sort -V | tail -1)" != "$max_glibc" ]; then
      echo "release-check: $file needs glibc $glibc, newer than $max_glibc" >&2
      fail=1
    fi
    libc="glibc <= $glibc" ;;
  *-musl)
    if [ -n "$glibc" ]; then
      echo "release-check: $file needs glibc symbols (GLIBC_$glibc): not a musl build" >&2
      fail=1
    fi
    # musl's libc (ld-musl) answers to libc.so and libc.musl-<arch>.so.1 alike
    for lib in $needed; do
      case "$lib" in
        libc.so | libc.musl-*.so.1) ;;
        *) echo "release-check: $file needs $lib; a musl build may need musl's libc only" >&2; fail=1 ;;
      esac
    done
    [ -n "$needed" ] || { echo "release-check: $file needs no libc at all: is it a shared library?" >&2; fail=1; }
    libc="musl's libc only" ;;
esac
if [ "$fail" -ne 0 ]; then exit 1; fi
echo "release-check: $file is portable ($platform, $got): $libc needed, $((size / 1024)) KiB, no shared libz/libssl/libcrypto (needs: $(echo $needed | tr ' ' ','))"
