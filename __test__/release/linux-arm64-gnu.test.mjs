// linux-arm64-gnu as published, loaded where it is built: the release build
// (bash scripts/release-build.sh --target aarch64-unknown-linux-gnu: napi-rs's
// glibc 2.17 cross toolchain) packed by scripts/pack.mjs, installed by npm
// with --cpu=arm64 into fresh projects, and run by arm64 Node under qemu-user
// (scripts/qemu-arm64.sh): `npx sst-local-state --version` and prepareStage
// (scripts/smoke-installed.mjs, as the release workflow's test jobs run it),
// then commitStage pushing to the local git server, through the git CLI and
// through the built-in libgit2.
//
// Run by scripts/release-test.sh (npm test, Linux x64), which builds the
// binary first; skipped where it is missing.
import { test, describe, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { delimiter, join } from 'node:path'

import { REPO_ROOT } from '../helpers/sst.mjs'
import { BASE_ENV, SLOW, assertOk, cleanup, gitOk, revParse, tempDir } from '../helpers/common.mjs'
import { checkpoint, seededRepo, showBlob } from '../helpers/state-repo.mjs'

after(cleanup)

const PLATFORM = 'linux-arm64-gnu'
const BINARY = join(REPO_ROOT, '.tmp', 'release', `sst-local-state.${PLATFORM}.node`)
const VERSION = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')).version
const onLinuxX64 = process.platform === 'linux' && process.arch === 'x64'
const opts = {
  ...SLOW,
  skip: !onLinuxX64 ? 'runs arm64 Node under qemu-user on Linux x64' : !existsSync(BINARY) ? `${BINARY} is missing: bash scripts/release-build.sh --target aarch64-unknown-linux-gnu` : false,
}

let dist // the packed tarballs
let bin // node (arm64, qemu), npx (under it), npm (the host's)
/** BASE_ENV with arm64 `node` and `npx` first on PATH. */
let ENV

function run(cmd, args, cwd, env = {}) {
  const res = spawnSync(cmd, args, { cwd, env: { ...ENV, ...env }, encoding: 'utf8', timeout: 600_000 })
  if (res.error) throw res.error
  return res
}

before(() => {
  if (opts.skip) return
  assertOk(spawnSync('bash', [join(REPO_ROOT, 'scripts', 'qemu-arm64.sh'), 'install'], { encoding: 'utf8' }), 'qemu-arm64.sh install')
  bin = tempDir('sls-arm64-bin-')
  assertOk(spawnSync('bash', [join(REPO_ROOT, 'scripts', 'qemu-arm64.sh'), 'bin', bin], { encoding: 'utf8' }), 'qemu-arm64.sh bin')
  ENV = { ...BASE_ENV, PATH: `${bin}${delimiter}${BASE_ENV.PATH}`, npm_config_update_notifier: 'false' }
  // only this platform's binary: the tarballs are the root and linux-arm64-gnu
  const binaries = tempDir('sls-arm64-binaries-')
  writeFileSync(join(binaries, `sst-local-state.${PLATFORM}.node`), readFileSync(BINARY))
  dist = tempDir('sls-arm64-dist-')
  assertOk(spawnSync(process.execPath, [join(REPO_ROOT, 'scripts', 'pack.mjs'), '--binaries', binaries, '--out', dist], { encoding: 'utf8' }), 'pack')
})

describe('linux-arm64-gnu under arm64 Node (qemu-user)', () => {
  test('the release binary is an arm64 glibc <= 2.17 build (release-check.sh), and the Node that loads it is arm64', opts, () => {
    const check = assertOk(run('bash', [join(REPO_ROOT, 'scripts', 'release-check.sh'), BINARY], REPO_ROOT), 'release-check')
    assert.match(check.stdout, /is portable \(linux-arm64-gnu, AArch64\): glibc <= 2\.(1[0-7]|[0-9]) needed/)
    assert.equal(assertOk(run('node', ['-p', 'process.arch + " " + process.platform'], REPO_ROOT), 'node').stdout.trim(), 'arm64 linux')
    // not the host's Node: a build for another CPU cannot be loaded by it
    const host = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(BINARY)})`], { encoding: 'utf8' })
    assert.notEqual(host.status, 0)
    assert.match(host.stderr, /wrong ELF class|cannot open shared object|invalid ELF header|Exec format/i)
  })

  test('npm --cpu=arm64 picks the arm64 package; npx sst-local-state --version and prepareStage run it (scripts/smoke-installed.mjs)', opts, () => {
    const res = assertOk(run(process.execPath, [join(REPO_ROOT, 'scripts', 'smoke-installed.mjs'), dist, '--cpu', 'arm64'], REPO_ROOT), 'smoke-installed')
    assert.match(res.stdout, new RegExp(`sst-local-state-${PLATFORM} ${VERSION.replace(/\./g, '\\.')} on linux-arm64: .*prepareStage \\(.*app:written.*\\) ok`))
  })

  test('commitStage pushes the state to the local git server, with the git CLI and with the built-in libgit2', opts, async () => {
    const repo = await seededRepo('arm64')
    const checkout = join(tempDir('sls-arm64-checkout-'), 'app')
    gitOk(['clone', '-q', repo.open, checkout])
    // the root tarball, its platform package offered through overrides, as
    // smoke-installed.mjs does: npm refuses a direct dependency for another
    // CPU even with --cpu, and picks optional ones by it
    const tgz = (name) => join(dist, `${name}-${VERSION}.tgz`)
    const pkgFile = join(checkout, 'package.json')
    const pkg = JSON.parse(readFileSync(pkgFile, 'utf8'))
    writeFileSync(pkgFile, JSON.stringify({ ...pkg, dependencies: { 'sst-local-state': `file:${tgz('sst-local-state')}` }, overrides: { [`sst-local-state-${PLATFORM}`]: `file:${tgz(`sst-local-state-${PLATFORM}`)}` } }))
    assertOk(run('npm', ['install', '--no-audit', '--no-fund', '--cpu=arm64'], checkout), 'npm install --cpu=arm64')
    assert.deepEqual(readdirSync(join(checkout, 'node_modules')).filter((d) => d.startsWith('sst-local-state-')), [`sst-local-state-${PLATFORM}`])
    writeFileSync(
      join(checkout, 'deploy.mjs'),
      `import { prepareStage, commitStage } from 'sst-local-state'
const [configDir, resources] = process.argv.slice(2)
const prepared = await prepareStage({ stage: 'dev', configDir })
const { writeFileSync } = await import('node:fs')
writeFileSync(prepared.files.find((f) => f.kind === 'app').configPath, process.env.CHECKPOINT)
const c = await commitStage({ stage: 'dev', configDir, branch: 'main' })
console.log(JSON.stringify({ arch: process.arch, pushed: c.pushed, commit: c.commit, resources: Number(resources) }))
`,
    )
    const gitUser = { GIT_AUTHOR_NAME: 'arm64', GIT_AUTHOR_EMAIL: 'a@example.com', GIT_COMMITTER_NAME: 'arm64', GIT_COMMITTER_EMAIL: 'a@example.com' }
    for (const [transport, env, resources] of [['git CLI', {}, 3], ['libgit2', { SST_LOCAL_STATE_GIT: 'none' }, 4]]) {
      const configDir = join(tempDir('sls-arm64-cfg-'), 'sst')
      const state = checkpoint(resources, `arm64-${resources}`)
      const before = revParse(repo.path)
      const res = run('node', ['deploy.mjs', configDir, String(resources)], checkout, { ...gitUser, ...env, CHECKPOINT: state })
      assert.equal(res.status, 0, `${transport}: ${res.stdout}${res.stderr}`)
      const out = JSON.parse(res.stdout)
      assert.equal(out.arch, 'arm64', transport)
      assert.equal(out.pushed, true, transport)
      const after = revParse(repo.path)
      assert.notEqual(after, before, transport)
      assert.equal(after, out.commit, transport)
      assert.equal(showBlob(repo.path, 'main').toString(), state, transport)
      gitOk(['pull', '-q', '--ff-only'], checkout)
    }
  })
})
