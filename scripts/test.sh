#!/usr/bin/env bash
# The whole test suite (`npm test`): lint, Rust tests, the napi build, then
# the same JS test files under Node's test runner, under bun, and (Linux x64)
# under Node 18, the oldest Node the package supports.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

# napi builds with an explicit --target; give every cargo command the same
# one so they all share target/<host>/ instead of building everything twice.
CARGO_BUILD_TARGET="$(rustc -vV | sed -n 's/^host: //p')"
export CARGO_BUILD_TARGET

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
if [ "$(uname -s)-$(uname -m)" = "Linux-x86_64" ]; then
  step "release build (portable linux-x64-gnu), for __test__/installed.test.mjs"
  bash scripts/release-build.sh
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
step "node --test __test__/"
node --test --test-concurrency=1 __test__/
step "bun test __test__/"
node_modules/.bin/bun test --timeout 600000 __test__/
if [ "$(uname -s)-$(uname -m)" = "Linux-x86_64" ]; then
  step "node 18 (the oldest supported): node --test, one file at a time"
  bash scripts/node18.sh
fi
