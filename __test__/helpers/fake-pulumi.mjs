// A stand-in for the pulumi CLI, so that the real `sst` CLI (4.17.1) runs
// `sst deploy` and `sst remove` to the end without a cloud: SST runs pulumi
// (SST_PULUMI_PATH for up/destroy, <configDir>/bin/pulumi for `stack init`
// of a new stage) with PULUMI_BACKEND_URL=file://<workdir>, reads the
// checkpoint pulumi leaves in <workdir>/.pulumi/stacks/<app>/<stage>.json
// and the event log, then does its own part for real: it pushes the state to
// its local home, writes the update record, prunes with `state.retention`
// and purges with `state.purge` (pkg/project/run.go). This script plays the
// engine only: `up` leaves a checkpoint with the stack resource and
// `FAKE_PULUMI_RESOURCES` buckets, `destroy` one with no resources, both
// with a summary event; `stack init` an empty stack.
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

const SCRIPT = `#!/bin/sh
cmd=$1; shift
stack=""; eventlog=""
if [ "$cmd" = stack ] && [ "$1" = init ]; then cmd=init; stack=$2; shift 2; fi
while [ $# -gt 0 ]; do
  case "$1" in
    --stack) stack=$2; shift;;
    --event-log) eventlog=$2; shift;;
  esac
  shift
done
app=$(echo "$stack" | cut -d/ -f2); stage=$(echo "$stack" | cut -d/ -f3)
dir="\${PULUMI_BACKEND_URL#file://}/.pulumi/stacks/$app"
mkdir -p "$dir"
urn() { printf '{"urn":"urn:pulumi:%s::%s::%s::%s","custom":%s,"type":"%s"}' "$stage" "$app" "$1" "$2" "$3" "$1"; }
case "$cmd" in
  up)
    res="$(urn pulumi:pulumi:Stack "$app-$stage" false)"
    i=1
    while [ "$i" -le "\${FAKE_PULUMI_RESOURCES:-0}" ]; do res="$res,$(urn sst:aws:Bucket "b$i" true)"; i=$((i + 1)); done
    ;;
  destroy|init) res="";;
  *) exit 0;;
esac
printf '{"version":3,"checkpoint":{"stack":"%s","latest":{"manifest":{"time":"2024-01-01T00:00:00Z","magic":"m","version":"v3.0.0"},"resources":[%s]}}}' "$stack" "$res" >"$dir/$stage.json"
[ -n "$eventlog" ] && printf '{"sequence":0,"timestamp":0,"summaryEvent":{"maybeCorrupt":false,"durationSeconds":0,"resourceChanges":{},"PolicyPacks":{}}}\\n' >>"$eventlog"
exit 0
`

/**
 * Installs the fake pulumi for SST's config dir `configDir` (as
 * <configDir>/bin/pulumi, where SST looks for it) and returns the variables
 * that make SST use it for every command.
 */
export function fakePulumi(configDir) {
  const bin = join(configDir, 'bin')
  mkdirSync(bin, { recursive: true })
  const path = join(bin, 'pulumi')
  writeFileSync(path, SCRIPT)
  chmodSync(path, 0o755)
  return { SST_PULUMI_PATH: path }
}
