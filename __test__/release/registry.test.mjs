// The publish path against a real registry: the release's packages, packed
// by scripts/pack.mjs --all and published by scripts/publish.sh (the commands
// release.yml runs), go to a local verdaccio (scripts/registry.sh, on
// 127.0.0.1, no uplinks; started by helpers/registry.mjs); fresh projects
// then install `sst-local-state` from it with npm, pnpm and bun, each package
// manager choosing the platform package itself, as they will from npmjs.org.
//
// Binaries: the four Linux release builds in .tmp/release/ (scripts/
// release-test.sh builds them). darwin and win32 cannot be built here: their
// packages carry a stand-in file, so that the registry holds all eight names
// as it will after a release; the tests check that none is ever installed here.
//
// Run by scripts/release-test.sh (npm test, Linux x64); skipped where a
// binary is missing.
import { test, describe, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

import { BUN_BIN, REPO_ROOT } from '../helpers/sst.mjs'
import { SLOW, assertOk, cleanup, tempDir } from '../helpers/common.mjs'
import { PLATFORMS, packRelease, publish, run as runIn, startRegistry } from '../helpers/registry.mjs'

const PKG = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8'))
const VERSION = PKG.version
const BUILT = ['linux-x64-gnu', 'linux-arm64-gnu', 'linux-x64-musl', 'linux-arm64-musl']
const binary = (platform) => join(REPO_ROOT, '.tmp', 'release', `sst-local-state.${platform}.node`)
const missing = BUILT.filter((p) => !existsSync(binary(p)))
const onLinuxX64 = process.platform === 'linux' && process.arch === 'x64'
const opts = {
  ...SLOW,
  skip: !onLinuxX64 ? 'the binaries built here are Linux ones; installing picks linux-x64-gnu on Linux x64' : missing.length ? `missing release builds (bash scripts/release-test.sh): ${missing.join(', ')}` : false,
}
const PNPM = join(REPO_ROOT, 'node_modules', '.bin', 'pnpm')

let registry // { root, url }
let dist // pack.mjs --all output of this version
/** The user's environment, npm's user config = the registry and its publishing credentials. */
let ENV

after(cleanup)

const run = (cmd, args, cwd, env = {}) => runIn(cmd, args, cwd, { ...ENV, ...env })

/** The packages `npm view` reports for `spec` (JSON), or null for a 404. */
function view(spec, ...fields) {
  const res = run('npm', ['view', '--json', spec, ...fields], REPO_ROOT)
  if (res.status !== 0 && /E404|404 Not Found|is not in this registry/.test(res.stdout + res.stderr)) return null
  return JSON.parse(assertOk(res, `npm view ${spec}`).stdout)
}

/** The release packed from `root` (a checkout, or a copy with another version), with the stand-ins; the out dir. */
const pack = (root) => packRelease(root, Object.fromEntries(BUILT.map((p) => [p, binary(p)])), ENV)

/** A fresh project whose .npmrc names the local registry (npm, pnpm and bun read it). */
function project() {
  const dir = join(tempDir('sls-reg-app-'), 'app')
  mkdirSync(dir)
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify({ name: 'app', private: true, version: '1.0.0' })}\n`)
  writeFileSync(join(dir, '.npmrc'), `registry=${registry.url}\n`)
  return dir
}

/** The sst-local-state-* folders directly in `dir`. */
const platformDirs = (dir) => (existsSync(dir) ? readdirSync(dir).filter((d) => d.startsWith('sst-local-state-')).sort() : [])

before(() => {
  if (opts.skip) return
  registry = startRegistry()
  assert.match(registry.url, /^http:\/\/127\.0\.0\.1:\d+\/$/)
  ENV = registry.env
  dist = pack(REPO_ROOT)
})

describe('publish (scripts/publish.sh) to a local registry', () => {
  test('publishes the eight platform packages, then the root, under dist-tag latest', opts, () => {
    const res = assertOk(publish(REPO_ROOT, dist, ENV), 'publish.sh')
    assert.match(res.stdout, new RegExp(`sst-local-state ${VERSION.replace(/\./g, '\\.')} and its 8 platform packages under dist-tag latest`))
    const published = [...res.stdout.matchAll(/^\+ (sst-local-state[\w-]*)@/gm)].map((m) => m[1])
    assert.deepEqual(published, [...PLATFORMS.map((p) => `sst-local-state-${p}`), 'sst-local-state'], 'the root package last')
    const root = view(`sst-local-state@${VERSION}`)
    assert.deepEqual(Object.keys(root.optionalDependencies).sort(), PLATFORMS.map((p) => `sst-local-state-${p}`))
    assert.equal(root['dist-tags'].latest, VERSION)
    for (const platform of PLATFORMS) {
      const meta = JSON.parse(readFileSync(join(REPO_ROOT, 'npm', platform, 'package.json'), 'utf8'))
      const got = view(`sst-local-state-${platform}@${VERSION}`)
      assert.deepEqual([got.os, got.cpu, got.libc], [meta.os, meta.cpu, meta.libc], platform)
    }
  })

  test('publishing the same version again skips every package and changes nothing', opts, () => {
    const before = view('sst-local-state', 'time')
    const res = assertOk(publish(REPO_ROOT, dist, ENV), 'publish.sh again')
    const skipped = [...res.stdout.matchAll(/^publish: (sst-local-state[\w-]*)@[^ ]+ is already on the registry: skipped$/gm)].map((m) => m[1])
    assert.equal(skipped.length, 9, res.stdout)
    assert.doesNotMatch(res.stdout, /^\+ /m)
    assert.deepEqual(view('sst-local-state', 'time'), before)
  })

  test('a prerelease goes under dist-tag next, never latest; its dry run uploads nothing', opts, () => {
    // a copy of the checkout's package files at version <VERSION>-rc.1
    const pre = `${VERSION.replace(/-.*$/, '')}-rc.1`
    const copy = tempDir('sls-reg-pre-')
    for (const f of [...PKG.files, 'package.json', 'README.md', 'CHANGELOG.md', 'LICENSE', 'npm', 'scripts/pack.mjs', 'scripts/publish.sh']) {
      if (existsSync(join(REPO_ROOT, f))) cpSync(join(REPO_ROOT, f), join(copy, f), { recursive: true })
    }
    for (const file of [join(copy, 'package.json'), ...PLATFORMS.map((p) => join(copy, 'npm', p, 'package.json'))]) {
      writeFileSync(file, readFileSync(file, 'utf8').replace(`"version": "${VERSION}"`, `"version": "${pre}"`))
    }
    const out = pack(copy)
    const dry = assertOk(publish(copy, out, ENV, '--dry-run'), 'publish.sh --dry-run')
    assert.match(dry.stdout + dry.stderr, /under dist-tag next \(dry run\)/)
    assert.match(dry.stderr, new RegExp(`\\(dry-run\\)`))
    assert.equal(view(`sst-local-state@${pre}`), null, 'the dry run published nothing')

    assertOk(publish(copy, out, ENV), 'publish.sh prerelease')
    assert.deepEqual(view('sst-local-state', 'dist-tags'), { latest: VERSION, next: pre })
    assert.deepEqual(view(`sst-local-state-linux-x64-gnu`, 'dist-tags'), { latest: VERSION, next: pre })
    // what a user installs is still the release
    const dir = project()
    assertOk(run('npm', ['install', 'sst-local-state'], dir), 'npm install')
    assert.equal(JSON.parse(readFileSync(join(dir, 'node_modules', 'sst-local-state', 'package.json'), 'utf8')).version, VERSION)
    rmSync(copy, { recursive: true, force: true })
  })
})

test("the release workflow's test job on this platform (scripts/smoke-installed.mjs): npm picks linux-x64-gnu among the nine tarballs", opts, () => {
  const res = assertOk(run(process.execPath, [join(REPO_ROOT, 'scripts', 'smoke-installed.mjs'), dist], REPO_ROOT), 'smoke-installed')
  assert.match(res.stdout, new RegExp(`^smoke-installed: sst-local-state-linux-x64-gnu ${VERSION.replace(/\./g, '\\.')} on linux-x64: .*prepareStage \\(.*app:written.*\\) ok`, 'm'))
  // asked for another libc, it picks that package (and so fails to load it here: not glibc)
  const musl = run(process.execPath, [join(REPO_ROOT, 'scripts', 'smoke-installed.mjs'), dist, '--libc', 'musl'], REPO_ROOT)
  assert.notEqual(musl.status, 0)
  assert.match(musl.stderr, /npx sst-local-state --version failed/)
})

describe('installed from the registry', () => {
  test('npm picks linux-x64-gnu; npx runs the CLI; npm ci reinstalls from the lockfile that install wrote', opts, () => {
    const dir = project()
    assertOk(run('npm', ['install', 'sst-local-state'], dir), 'npm install')
    assert.deepEqual(platformDirs(join(dir, 'node_modules')), ['sst-local-state-linux-x64-gnu'])
    assert.deepEqual(readFileSync(join(dir, 'node_modules', 'sst-local-state-linux-x64-gnu', 'sst-local-state.linux-x64-gnu.node')), readFileSync(binary('linux-x64-gnu')))
    const lock = JSON.parse(readFileSync(join(dir, 'package-lock.json'), 'utf8'))
    const locked = Object.keys(lock.packages).filter((k) => k.startsWith('node_modules/sst-local-state-')).sort()
    assert.deepEqual(locked, PLATFORMS.map((p) => `node_modules/sst-local-state-${p}`), 'every platform package is in the lockfile')
    // npm sometimes leaves `resolved` out of an entry (seen once on a fresh clone here, not
    // reproduced): none may point anywhere but the local registry
    for (const k of locked) {
      const { resolved } = lock.packages[k]
      assert.ok(resolved === undefined || resolved.startsWith(registry.url), `${k}: ${resolved}`)
    }
    const check = () => {
      assert.equal(assertOk(run('npx', ['sst-local-state', '--version'], dir), 'npx').stdout.trim(), `sst-local-state ${VERSION}`)
      const cfg = assertOk(run(process.execPath, ['-p', "require('sst-local-state').resolveConfigDir({ env: { XDG_CONFIG_HOME: '/x' } })"], dir), 'require')
      assert.equal(cfg.stdout.trim(), '/x/sst')
    }
    check()
    rmSync(join(dir, 'node_modules'), { recursive: true })
    assertOk(run('npm', ['ci'], dir), 'npm ci')
    assert.deepEqual(platformDirs(join(dir, 'node_modules')), ['sst-local-state-linux-x64-gnu'])
    check()
  })

  test('npm picks by cpu and libc: --cpu=arm64 gets linux-arm64-gnu, --libc=musl linux-x64-musl', opts, () => {
    for (const [flags, platform] of [[['--cpu=arm64'], 'linux-arm64-gnu'], [['--libc=musl'], 'linux-x64-musl'], [['--cpu=arm64', '--libc=musl'], 'linux-arm64-musl']]) {
      const dir = project()
      assertOk(run('npm', ['install', ...flags, 'sst-local-state'], dir), `npm install ${flags.join(' ')}`)
      assert.deepEqual(platformDirs(join(dir, 'node_modules')), [`sst-local-state-${platform}`], flags.join(' '))
      assert.deepEqual(readFileSync(join(dir, 'node_modules', `sst-local-state-${platform}`, `sst-local-state.${platform}.node`)), readFileSync(binary(platform)))
    }
  })

  test('pnpm picks linux-x64-gnu, and the CLI runs', opts, () => {
    const dir = project()
    assertOk(run(PNPM, ['add', 'sst-local-state'], dir), 'pnpm add')
    const store = readdirSync(join(dir, 'node_modules', '.pnpm')).filter((d) => d.startsWith('sst-local-state'))
    assert.deepEqual(store.sort(), [`sst-local-state-linux-x64-gnu@${VERSION}`, `sst-local-state@${VERSION}`])
    const res = assertOk(run(join(dir, 'node_modules', '.bin', 'sst-local-state'), ['--version'], dir), 'the bin')
    assert.equal(res.stdout.trim(), `sst-local-state ${VERSION}`)
  })

  test('bun picks linux-x64-gnu; bunx runs the CLI', opts, () => {
    const dir = project()
    assertOk(run(BUN_BIN, ['add', 'sst-local-state'], dir), 'bun add')
    assert.deepEqual(platformDirs(join(dir, 'node_modules')), ['sst-local-state-linux-x64-gnu'])
    const res = assertOk(run(BUN_BIN, ['x', 'sst-local-state', '--version'], dir), 'bunx')
    assert.equal(res.stdout.trim(), `sst-local-state ${VERSION}`)
  })
})
