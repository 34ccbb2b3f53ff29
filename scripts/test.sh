#!/usr/bin/env bash
# The whole test suite (`npm test`): lint, Rust tests, the napi build, then
# the same JS test files under Node's test runner, under bun, and (Linux x64)
# under Node 18, 22 and 24; as root, the test servers as an unprivileged
# user; then (Linux x64) the release's other targets (scripts/release-test.sh):
# their builds, the musl unit tests and the cross-target clippy run in the
# background beside the JS tests (CPU-bound work beside mostly waiting work),
# their tests after them.
# Prints the time each step took.
set -euo pipefail
cd "$(dirname "$0")/.."

times=()
started=$SECONDS
last=$SECONDS
last_name=
step() {
  [ -z "$last_name" ] || times+=("$(printf '%5ds  %s' $((SECONDS - last)) "$last_name")")
  last=$SECONDS
  last_name=$*
  printf '\n==> %s\n' "$*"
}
report() {
  [ -z "$last_name" ] || times+=("$(printf '%5ds  %s' $((SECONDS - last)) "$last_name")")
  printf '\n==> time per step (%ds in all)\n' $((SECONDS - started))
  printf '%s\n' "${times[@]}"
}
# the release's other targets, built in the background (see below)
bg_pid=
bg_log=.tmp/release-test-build.log
stop_background() {
  if [ -n "$bg_pid" ]; then kill -- "-$bg_pid" 2>/dev/null || true; fi
}
trap 'stop_background; report' EXIT

# napi builds with an explicit --target; give every cargo command the same
# one so they all share target/<host>/ instead of building everything twice.
CARGO_BUILD_TARGET="$(rustc -vV | sed -n 's/^host: //p')"
export CARGO_BUILD_TARGET
linux_x64=0
[ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ] || linux_x64=1

# The JS test files, named one by one: since Node 21, `node --test <dir>`
# takes the folder for a glob pattern and finds nothing.
JS_TESTS=(__test__/*.test.mjs)

step "cargo fmt --check"
cargo fmt --check
step "cargo clippy --all-targets -- -D warnings"
cargo clippy --all-targets -- -D warnings
step "cargo test"
cargo test
step "napi build (debug)"
bash scripts/build.sh
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  step "generated bindings match the committed binding.cjs / index.d.ts"
  git diff --exit-code -- binding.cjs index.d.ts
fi
if [ "$linux_x64" -eq 1 ]; then
  step "release build (portable linux-x64-gnu), for __test__/installed.test.mjs"
  bash scripts/release-build.sh
  mkdir -p .tmp
  # a session of its own (setsid), so that a failing step stops it whole
  setsid bash scripts/release-test.sh --build-only >"$bg_log" 2>&1 &
  bg_pid=$!
  echo "the release's other targets build in the background (pid $bg_pid, log $bg_log)"
fi
step "actionlint (GitHub Actions workflows, with shellcheck)"
bash scripts/actionlint.sh --install
bash scripts/actionlint.sh
step "git server packages (nginx, fcgiwrap)"
bash scripts/git-server.sh install
bash scripts/ssh-server.sh install
# The tests simulate the CI they test; the CI variables of the machine that
# runs them (GitHub sets CI=true) would make the addon, called in-process,
# act as in CI (Bun does not pass process.env changes on to it).
for v in $(compgen -e); do
  case $v in GITHUB_* | GITLAB_* | CI | CI_* | TF_BUILD | BUILD_* | SYSTEM_* | BITBUCKET_* | BUILDKITE* | CIRCLE*) unset "$v" ;; esac
done
step "node --test ($(node --version)) __test__/*.test.mjs"
node --test --test-concurrency=1 "${JS_TESTS[@]}"
step "bun test __test__/*.test.mjs"
node_modules/.bin/bun test --timeout 600000 "${JS_TESTS[@]/#/./}"
if [ "$linux_x64" -eq 1 ]; then
  for major in 18 22 24; do
    step "node $major: node --test __test__/*.test.mjs"
    bash scripts/node-version.sh "$major" "${JS_TESTS[@]}"
  done
fi
if [ "$(id -u)" -eq 0 ]; then
  step "the test servers as an unprivileged user (scripts/unprivileged-test.sh)"
  bash scripts/unprivileged-test.sh
fi
if [ "$linux_x64" -eq 1 ]; then
  step "the release's other targets: builds, musl unit tests, cross clippy (background, scripts/release-test.sh --build-only)"
  status=0
  wait "$bg_pid" || status=$?
  bg_pid=
  cat "$bg_log"
  if [ "$status" -ne 0 ]; then
    echo "scripts/release-test.sh --build-only failed (exit $status)" >&2
    exit "$status"
  fi
  step "the release's other targets: installed and published (scripts/release-test.sh --tests-only)"
  bash scripts/release-test.sh --tests-only
fi
