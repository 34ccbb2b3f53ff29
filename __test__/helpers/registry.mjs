// A local npm registry holding a release of this package, for the tests of
// the publish and install paths: verdaccio (scripts/registry.sh, on
// 127.0.0.1, no uplinks), the release packed by scripts/pack.mjs --all and
// published by scripts/publish.sh (the commands release.yml runs).
//
// Binaries: a platform given one gets it; the others carry a stand-in file,
// so that the registry holds all eight names as it will after a release.
// The registry is stopped by cleanup() (and by its watchdog once this
// process is gone).
import { spawnSync } from 'node:child_process'
import { cpSync, existsSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

import { BASE_ENV, assertOk, onCleanup, tempDir } from './common.mjs'
import { REPO_ROOT } from './sst.mjs'

/** The platform packages (npm/<platform>). */
export const PLATFORMS = readdirSync(join(REPO_ROOT, 'npm')).sort()

const started = []
onCleanup(() => {
  for (const root of started.splice(0)) spawnSync('bash', [join(REPO_ROOT, 'scripts', 'registry.sh'), 'stop', root])
})

/** `cmd args` in `env` (sync, 5 min at most): { status, stdout, stderr }. */
export function run(cmd, args, cwd, env) {
  const res = spawnSync(cmd, args, { cwd, env, encoding: 'utf8', timeout: 300_000 })
  if (res.error) throw res.error
  return res
}

/**
 * Installs (once) and starts a registry. Returns { root, url, env }: `env`
 * is the user's environment whose npm user config names the registry and
 * the credentials to publish.
 */
export function startRegistry() {
  const env = { ...BASE_ENV, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' }
  const script = join(REPO_ROOT, 'scripts', 'registry.sh')
  assertOk(run('bash', [script, 'install'], REPO_ROOT, env), 'registry.sh install')
  const root = tempDir('sls-registry-')
  const res = assertOk(run('bash', [script, 'start', root], REPO_ROOT, { ...env, REGISTRY_WATCH_PID: String(process.pid) }), 'registry.sh start')
  started.push(root)
  env.NPM_CONFIG_USERCONFIG = join(root, 'npmrc')
  return { root, url: res.stdout.trim(), env }
}

/**
 * Packs the release from `root` (a checkout, or a copy with another
 * version): `binaries` maps a platform to its binary; the others get a
 * stand-in. Returns the out dir.
 */
export function packRelease(root, binaries, env) {
  const dir = tempDir('sls-reg-binaries-')
  for (const platform of PLATFORMS) {
    const file = join(dir, `sst-local-state.${platform}.node`)
    if (binaries[platform]) cpSync(binaries[platform], file)
    else writeFileSync(file, `stand-in: ${platform} is not built on this machine\n`)
  }
  const out = tempDir('sls-reg-dist-')
  assertOk(run(process.execPath, [join(root, 'scripts', 'pack.mjs'), '--all', '--binaries', dir, '--out', out], root, env), 'pack.mjs --all')
  return out
}

/** scripts/publish.sh of `root` on the packed `dist` (`extra`: --dry-run). */
export function publish(root, dist, env, ...extra) {
  return run('bash', [join(root, 'scripts', 'publish.sh'), dist, ...extra], root, env)
}

/**
 * The linux-x64-gnu binary to publish: the release build when there is one
 * (.tmp/release/), else the debug addon at the root, stripped (27 MB
 * instead of 160). Null when neither is there.
 */
export function linuxX64Binary() {
  const release = join(REPO_ROOT, '.tmp', 'release', 'sst-local-state.linux-x64-gnu.node')
  if (existsSync(release)) return release
  const debug = join(REPO_ROOT, 'sst-local-state.linux-x64-gnu.node')
  if (!existsSync(debug)) return null
  const stripped = join(tempDir('sls-reg-addon-'), 'sst-local-state.linux-x64-gnu.node')
  const res = spawnSync('strip', ['--strip-unneeded', '-o', stripped, debug])
  if (res.status !== 0) cpSync(debug, stripped)
  return stripped
}
