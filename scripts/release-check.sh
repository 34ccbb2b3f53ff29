#!/usr/bin/env bash
# Checks that a Linux addon is portable, as the linux-x64-gnu package
# promises: it needs glibc 2.17 or older, links no shared libz, libssl or
# libcrypto (they are built in), and is at most 8 MB.
#   bash scripts/release-check.sh <file.node>     exit 0 = portable
set -euo pipefail
file="${1:?usage: release-check.sh <file.node>}"
max_bytes=$((8 * 1024 * 1024))
max_glibc="2.17"
command -v readelf >/dev/null || { echo "release-check: readelf (binutils) is required" >&2; exit 1; }
fail=0
size=$(wc -c <"$file")
if [ "$size" -gt "$max_bytes" ]; then
  echo "release-check: $file is $size bytes, over the limit of $max_bytes (8 MB)" >&2
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
# The newest glibc symbol version the file needs.
glibc=$(readelf -W --dyn-syms -V "$file" | grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/GLIBC_//' | sort -uV | tail -1)
if [ -z "$glibc" ]; then
  echo "release-check: $file needs no versioned glibc symbol: is it a glibc build at all?" >&2
  fail=1
elif [ "$(printf '%s\n%s\n' "$glibc" "$max_glibc" | sort -V | tail -1)" != "$max_glibc" ]; then
  echo "release-check: $file needs glibc $glibc, newer than $max_glibc" >&2
  fail=1
fi
if [ "$fail" -ne 0 ]; then exit 1; fi
echo "release-check: $file is portable: glibc <= $glibc needed, $((size / 1024)) KiB, no shared libz/libssl/libcrypto (needs: $(echo $needed | tr ' ' ','))"
