#!/usr/bin/env bash
# The local test servers as an unprivileged user, as on GitHub's runners
# (user `runner`, not root): git-server.sh (nginx + fcgiwrap) and
# ssh-server.sh (sshd) are started and stopped by the test files that
# exercise them, run as user `nobody` (group nogroup) with a HOME of its own.
#
#   bash scripts/unprivileged-test.sh [FILE...]
#       default: __test__/git-server.test.mjs __test__/ssh-harness.test.mjs
#
# As root (containers, this project's machines): setpriv drops to nobody.
# Not root: the files simply run as this user, who is unprivileged already.
# The packages must be installed first (git-server.sh / ssh-server.sh install).
set -euo pipefail
cd "$(dirname "$0")/.."
files=("$@")
[ ${#files[@]} -gt 0 ] || files=(__test__/git-server.test.mjs __test__/ssh-harness.test.mjs)
if [ "$(id -u)" -ne 0 ]; then
  exec node --test --test-concurrency=1 "${files[@]}"
fi
home=$(mktemp -d "${TMPDIR:-/tmp}/sls-nobody-XXXXXX")
trap 'rm -rf "$home"' EXIT
chown nobody:nogroup "$home"
# everything the files read must be readable by others (a checkout is)
setpriv --reuid=nobody --regid=nogroup --init-groups -- \
  env HOME="$home" TMPDIR="$home" PATH="$PATH" \
  sh -c 'echo "unprivileged-test: running as $(id -un) (uid $(id -u))"; [ "$(id -u)" -ne 0 ] && exec "$@"' sh \
  node --test --test-concurrency=1 "${files[@]}"
