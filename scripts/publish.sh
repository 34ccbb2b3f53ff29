#!/usr/bin/env bash
# Publishes a release's packages, as packed by `node scripts/pack.mjs --all
# --out <dir>`: the release workflow's publish (and dry-run) step, and what
# __test__/release/registry.test.mjs runs against a local registry.
#
#   bash scripts/publish.sh <dir> [--dry-run]
#
# - checks first: one tarball per package.json napi.targets platform, plus
#   the root package, all at package.json's version;
# - the dist-tag: `latest`, or `next` for a prerelease version (1.2.0-rc.1),
#   which must never become what `npm i sst-local-state` installs;
# - the platform packages first, the root package last (the root never
#   points at a platform package that is not there yet);
# - a package the registry already has at this version is skipped, so a
#   re-run after a partial publish finishes the job;
# - --dry-run: `npm publish --dry-run` (npm packs and checks, uploads nothing).
# The registry, credentials and provenance are npm's own configuration (the
# workflow: setup-node's .npmrc with NODE_AUTH_TOKEN, NPM_CONFIG_PROVENANCE).
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:?usage: publish.sh <dir> [--dry-run]}
dry=()
case "${2:-}" in
  "") ;;
  --dry-run) dry=(--dry-run) ;;
  *) echo "usage: publish.sh <dir> [--dry-run]" >&2; exit 2 ;;
esac
say() { echo "publish: $*"; }
fail() { echo "publish: error: $*" >&2; exit 1; }

version=$(node -p "require('./package.json').version")
targets=$(node -p "require('./package.json').napi.targets.length")
root="$dir/sst-local-state-$version.tgz"
[ -f "$root" ] || fail "$root was not written (node scripts/pack.mjs --all --out $dir)"
field() { tar -xzOf "$1" package/package.json | node -e "process.stdout.write(String(JSON.parse(require('fs').readFileSync(0, 'utf8'))['$2']))"; }
platform=()
for tgz in "$dir"/*.tgz; do
  [ "$tgz" = "$root" ] && continue
  [ "$(field "$tgz" version)" = "$version" ] || fail "$tgz is not version $version"
  platform+=("$tgz")
done
if [ "${#platform[@]}" -ne "$targets" ]; then
  fail "expected $targets platform tarballs in $dir, found ${#platform[@]}: ${platform[*]}"
fi
case "$version" in
  *-*) tag=next ;;
  *) tag=latest ;;
esac
say "sst-local-state $version and its ${#platform[@]} platform packages under dist-tag $tag${dry:+ (dry run)}"
for tgz in "${platform[@]}" "$root"; do
  name=$(field "$tgz" name)
  if [ -n "$(npm view "$name@$version" version 2>/dev/null)" ]; then
    say "$name@$version is already on the registry: skipped"
  else
    npm publish ${dry[@]+"${dry[@]}"} --access public --tag "$tag" "$tgz"
  fi
done
