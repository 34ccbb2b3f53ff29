#!/usr/bin/env bash
# The JS tests under Node 18: scripts/node-version.sh 18 (kept under this name).
exec bash "$(dirname "$0")/node-version.sh" 18 "$@"
