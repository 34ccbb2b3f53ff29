// The package as a user gets it: the release build packed by scripts/pack.mjs
// (root package + the linux-x64-gnu platform package), installed with npm,
// pnpm or bun into a fresh project, with no Rust toolchain on PATH (nothing is
// compiled on install), then used the way the README shows: npx/bunx, the CLI
// end to end, require() and import from Node and Bun, TypeScript (strict),
// bundled deploy scripts (esbuild, bun build), and `await import(...)` inside
// sst.config.ts evaluated by the real `sst` CLI.
//
// Needs the release build: `bash scripts/release-build.sh` (npm test runs it
// first). Linux x64 only: the release binary here is linux-x64-gnu.
// Runs under `node --test` and `bun test`.
import { test, describe, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { accessSync, constants, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { delimiter, dirname, isAbsolute, join } from 'node:path'

import { BUN_BIN, REPO_ROOT, makeSstProject, runSst } from './helpers/sst.mjs'
import { BASE_ENV, SLOW, assertOk, cleanup, gitOk, removeAtCleanup, revParse, spawnAsync, tempDir } from './helpers/common.mjs'
import { deploy, gitServer, seed, seededRepo, showBlob } from './helpers/state-repo.mjs'
import { startTlsProxy } from './helpers/tls-proxy.mjs'

after(cleanup)

const PLATFORM = 'linux-x64-gnu'
const RELEASE_BINARY = join(REPO_ROOT, '.tmp', 'release', `sst-local-state.${PLATFORM}.node`)
const VERSION = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')).version
const BIN = (name) => join(REPO_ROOT, 'node_modules', '.bin', name)
const onLinuxX64 = process.platform === 'linux' && process.arch === 'x64'
const opts = { ...SLOW, skip: onLinuxX64 ? false : 'the release binary built here is linux-x64-gnu' }

/** The Rust toolchain's programs: none of them may be on the user's PATH. */
const RUST_TOOLS = /^(cargo|rustc|rustup|rustdoc|rustfmt|clippy-driver|rust-analyzer|rust-gdb|rust-lldb)$|^cargo-/

/**
 * bun's directory, then one directory of symlinks to every program on this
 * PATH (the first of each name, as a lookup finds it) but the Rust
 * toolchain's. Leaving out the directories that hold cargo would leave out
 * all else there too: Debian's cargo package puts it in /usr/bin, beside sh.
 */
function pathWithoutRust(path = process.env.PATH ?? '') {
  const dir = removeAtCleanup(mkdtempSync(join(tmpdir(), 'sls-path-')))
  for (const from of path.split(delimiter)) {
    if (!from || !isAbsolute(from) || !existsSync(from)) continue
    for (const name of readdirSync(from)) {
      const target = join(from, name)
      if (RUST_TOOLS.test(name) || existsSync(join(dir, name))) continue
      try {
        accessSync(target, constants.X_OK)
        if (!statSync(target).isFile()) continue
        symlinkSync(target, join(dir, name))
      } catch {
        // not an executable file (or a dangling link): not a program
      }
    }
  }
  return [dirname(BUN_BIN), dir].join(delimiter)
}
const PATH = onLinuxX64 ? pathWithoutRust() : process.env.PATH
/** The user's environment: isolated from git/SST config, no Rust toolchain. */
const ENV = { ...BASE_ENV, PATH, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' }

/** Runs `cmd` in the user's environment; returns { status, stdout, stderr }. */
function run(cmd, args, cwd, env = {}) {
  const res = spawnSync(cmd, args, { cwd, env: { ...ENV, ...env }, encoding: 'utf8', timeout: 300_000 })
  if (res.error) throw res.error
  return res
}

let packed // { root, tarballs }

/** Installs the packed packages into `dir` with `pm` (npm, pnpm or bun). */
function install(pm, dir) {
  const tarballs = packed.tarballs
  const res =
    pm === 'npm'
      ? run('npm', ['install', '--no-audit', '--no-fund', ...tarballs], dir)
      : pm === 'pnpm'
        ? run(BIN('pnpm'), ['add', ...tarballs], dir)
        : run(BUN_BIN, ['add', ...tarballs], dir)
  assertOk(res, `${pm} install`)
  assert.ok(existsSync(join(dir, 'node_modules', 'sst-local-state', 'binding.cjs')), `${pm} installed the package`)
  return res
}

/** A fresh project (examples/basic + the state repository of the seed) with the package installed by `pm`. */
function project(pm) {
  const dir = join(tempDir(`sls-installed-${pm}-`), 'app')
  cpSync(seed(), dir, { recursive: true })
  install(pm, dir)
  return dir
}

before(() => {
  if (!onLinuxX64) return
  assert.ok(existsSync(RELEASE_BINARY), `${RELEASE_BINARY} is missing: run bash scripts/release-build.sh (npm test does)`)
  // nothing can compile here: no cargo or rustc on this PATH; the programs
  // the tests run are all there, wherever cargo lives
  for (const tool of ['cargo', 'rustc']) assert.equal(run('sh', ['-c', `command -v ${tool} || echo none`], REPO_ROOT).stdout.trim(), 'none')
  for (const tool of ['sh', 'bash', 'git', 'npm', 'npx', 'node', 'tar', 'readelf', 'openssl']) {
    assert.notEqual(run('sh', ['-c', `command -v ${tool} || echo none`], REPO_ROOT).stdout.trim(), 'none', tool)
  }
  // this platform's binary only (.tmp/release/ also holds the other Linux
  // builds of scripts/release-test.sh, whose packages npm would refuse here)
  const binaries = tempDir('sls-binaries-')
  cpSync(RELEASE_BINARY, join(binaries, `sst-local-state.${PLATFORM}.node`))
  const out = tempDir('sls-pack-')
  const res = assertOk(run(process.execPath, [join(REPO_ROOT, 'scripts', 'pack.mjs'), '--binaries', binaries, '--out', out, '--json'], REPO_ROOT), 'pack')
  packed = JSON.parse(res.stdout)
})

test('the PATH without Rust keeps the other programs of a directory that holds cargo (Debian: /usr/bin/cargo beside sh)', opts, () => {
  const bin = tempDir('sls-usr-bin-')
  writeFileSync(join(bin, 'cargo'), '#!/bin/sh\necho cargo\n', { mode: 0o755 })
  writeFileSync(join(bin, 'rustc'), '#!/bin/sh\necho rustc\n', { mode: 0o755 })
  writeFileSync(join(bin, 'only-here'), '#!/bin/sh\necho only-here\n', { mode: 0o755 })
  const path = pathWithoutRust(`${bin}${delimiter}${process.env.PATH}`)
  const res = spawnSync('sh', ['-c', 'command -v cargo || echo no-cargo; command -v rustc || echo no-rustc; only-here'], { env: { ...ENV, PATH: path }, encoding: 'utf8' })
  assert.equal(res.error, undefined)
  assert.equal(res.stdout, 'no-cargo\nno-rustc\nonly-here\n')
})

describe('the packed packages', () => {
  test('the release binary is portable: glibc <= 2.17, no shared libz/libssl/libcrypto, <= 8 MB; the check rejects a build that is not', opts, () => {
    const ok = run('bash', [join(REPO_ROOT, 'scripts', 'release-check.sh'), RELEASE_BINARY], REPO_ROOT)
    assert.equal(ok.status, 0, ok.stderr)
    assert.match(ok.stdout, /is portable \(linux-x64-gnu, Advanced Micro Devices X86-64\): glibc <= 2\.(1[0-7]|[0-9]) needed/)
    // the debug build links the build machine's newer glibc and is far over 8 MB
    const debug = join(REPO_ROOT, `sst-local-state.${PLATFORM}.node`)
    const bad = run('bash', [join(REPO_ROOT, 'scripts', 'release-check.sh'), debug], REPO_ROOT)
    assert.equal(bad.status, 1)
    assert.match(bad.stderr, /over the limit of 8388608/)
    assert.match(bad.stderr, /needs glibc 2\.\d+, newer than 2\.17/)
  })

  test('the root package lists every platform package as an optional dependency at its version, and ships no binary', opts, () => {
    const listing = run('tar', ['tzf', packed.root], REPO_ROOT)
    assert.equal(listing.status, 0)
    const files = listing.stdout.trim().split('\n').sort()
    for (const f of ['index.js', 'index.mjs', 'index.d.ts', 'index.d.mts', 'load.cjs', 'binding.cjs', 'cli.js', 'package.json', 'README.md', 'LICENSE', 'docs/js-api.md', 'docs/troubleshooting.md']) {
      assert.ok(files.includes(`package/${f}`), `${f} in ${files.join(' ')}`)
    }
    assert.ok(!files.some((f) => f.endsWith('.node')), files.join(' '))
    const pkg = JSON.parse(run('tar', ['xzOf', packed.root, 'package/package.json'], REPO_ROOT).stdout)
    const targets = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')).napi.targets
    assert.equal(Object.keys(pkg.optionalDependencies).length, targets.length)
    for (const [name, version] of Object.entries(pkg.optionalDependencies)) {
      assert.match(name, /^sst-local-state-(linux|darwin|win32)-(x64|arm64)(-(gnu|musl|msvc))?$/)
      assert.equal(version, VERSION)
    }
    assert.equal(pkg.devDependencies, undefined)
    assert.equal(pkg.scripts, undefined)
  })
})

describe('installed with npm, no Rust toolchain', () => {
  let dir
  before(() => {
    if (onLinuxX64) dir = project('npm')
  })

  test('npx and bunx run the CLI', opts, () => {
    const npx = assertOk(run('npx', ['sst-local-state', '--version'], dir), 'npx')
    assert.equal(npx.stdout.trim(), `sst-local-state ${VERSION}`)
    const bunx = assertOk(run(BUN_BIN, ['x', 'sst-local-state', '--version'], dir), 'bunx')
    assert.equal(bunx.stdout.trim(), `sst-local-state ${VERSION}`)
    // the binary that answered is the platform package's, not a checkout's
    const which = assertOk(run(process.execPath, ['-p', "require.resolve('sst-local-state-linux-x64-gnu')"], dir), 'resolve')
    assert.ok(which.stdout.startsWith(join(dir, 'node_modules')), which.stdout)
  })

  test('from the tarballs, `npm ci` stops on the unpublished platform packages and `npm install` works (as the README says)', opts, () => {
    const ci = run('npm', ['ci', '--no-audit', '--no-fund'], dir)
    assert.notEqual(ci.status, 0)
    assert.match(ci.stderr, /Missing: sst-local-state-darwin-arm64@ from lock file/)
    assertOk(run('npm', ['install', '--no-audit', '--no-fund'], dir), 'npm install')
    assert.ok(existsSync(join(dir, 'node_modules', 'sst-local-state-linux-x64-gnu', 'package.json')))
  })

  test('`npx sst-local-state prepare` restores the stage end to end', opts, () => {
    const configDir = join(tempDir('sls-installed-cfg-'), 'sst')
    const res = assertOk(run('npx', ['sst-local-state', 'prepare', '--stage', 'dev', '--config-dir', configDir, '--json'], dir), 'prepare')
    const report = JSON.parse(res.stdout)
    assert.equal(report.stage, 'dev')
    assert.deepEqual(
      readFileSync(join(configDir, 'state', 'app', 'demo-app', 'dev.json')),
      readFileSync(join(dir, 'infra', 'state', 'app', 'dev.json')),
    )
  })

  for (const runtime of ['node', 'bun']) {
    test(`require() from CommonJS and import from ESM under ${runtime}`, opts, () => {
      const exe = runtime === 'node' ? process.execPath : BUN_BIN
      const body = `const cfg = resolveConfigDir({ env: { XDG_CONFIG_HOME: '/x' } })
const configDir = process.argv.at(-1)
const report = await prepareStage({ stage: 'dev', configDir })
console.log(JSON.stringify({ cfg, files: report.files.length, kinds: [typeof prepareStage, typeof commitStage, typeof stageStatus, typeof runCli] }))`
      writeFileSync(join(dir, 'use.cjs'), `const { prepareStage, commitStage, stageStatus, resolveConfigDir, runCli } = require('sst-local-state')\n;(async () => {\n${body}\n})()\n`)
      writeFileSync(join(dir, 'use.mjs'), `import { prepareStage, commitStage, stageStatus, resolveConfigDir, runCli } from 'sst-local-state'\n${body}\n`)
      for (const file of ['use.cjs', 'use.mjs']) {
        const configDir = join(tempDir('sls-installed-cfg-'), 'sst')
        const res = assertOk(run(exe, [file, configDir], dir), `${runtime} ${file}`)
        const out = JSON.parse(res.stdout)
        assert.equal(out.cfg, '/x/sst')
        assert.ok(out.files >= 2, res.stdout)
        assert.deepEqual(out.kinds, ['function', 'function', 'function', 'function'])
        assert.ok(existsSync(join(configDir, 'state', 'app', 'demo-app', 'dev.json')), `${file}: state restored`)
      }
    })
  }

  test('TypeScript (strict, nodenext) accepts every export and option type, also in a sst.config.ts-shaped function and examples/deploy.ts, and rejects a wrong option', opts, () => {
    writeFileSync(
      join(dir, 'check.mts'),
      `import { commitStage, doctorStage, prepareStage, pruneStage, resolveConfigDir, runCli, showStage, stageStatus } from 'sst-local-state'
import type { CheckLevel, CommitOptions, CommitResult, DoctorOptions, DoctorResult, ErrorCode, FileKind, PrepareAction, PrepareOptions, PrepareResult, PruneOptions, PruneResult, ResolveConfigDirOptions, ShowOptions, ShowResult, StageOptions, StatusResult, SyncState, WarningInfo } from 'sst-local-state'

const prep: PrepareOptions = { stage: 'dev', cwd: '.', configDir: '/tmp/x', force: false, passphraseMode: 'env' }
const com: CommitOptions = { stage: 'dev', push: false, message: 'm' }
const st: StageOptions = { stage: 'dev' }
const rc: ResolveConfigDirOptions = { env: {} }
export async function all(): Promise<number> {
  const p: PrepareResult = await prepareStage(prep)
  const c: CommitResult = await commitStage(com)
  const s: StatusResult = await stageStatus(st)
  const w: WarningInfo[] = [...p.warnings, ...c.warnings]
  const dir: string = resolveConfigDir(rc)
  const code: number = await runCli(['--version'])
  // result kinds are string literal unions: plain strings compare and assign
  const kept: number = p.files.filter((f) => f.action === 'kept' && f.kind === 'app').length
  const actions: PrepareAction[] = ['written', 'kept']
  const kinds: FileKind[] = c.files.map((f) => f.kind).concat(['fallbackSecret'])
  const synced: SyncState[] = s.files.map((f) => f.state).filter((x) => x === 'in-sync')
  return w.length + dir.length + code + s.files.length + kept + actions.length + kinds.length + synced.length
}
export async function upkeep(): Promise<number> {
  const so: ShowOptions = { stage: 'dev', rev: 'HEAD~1', includeCheckpoint: true }
  const shown: ShowResult = await showStage(so)
  const types: string[] = shown.byType.map((t) => t.type)
  const po: PruneOptions = { stage: 'dev', keep: 3, dryRun: true }
  const pruned: PruneResult = await pruneStage(po)
  const kinds: Array<'update' | 'snapshot' | 'eventlog'> = pruned.removed.map((f) => f.kind)
  const d: DoctorResult = await doctorStage({ stage: 'dev' } satisfies DoctorOptions)
  const level: CheckLevel = 'error'
  const failed: Array<ErrorCode | undefined> = d.checks.filter((c) => c.level === level).map((c) => c.code)
  return shown.resources + (shown.checkpointJson?.length ?? 0) + types.length + kinds.length + failed.length + d.errors + (await doctorStage()).warnings
}
export function isConflict(err: unknown): boolean {
  const code: ErrorCode | undefined = (err as { code?: ErrorCode }).code
  return code === 'STATE_CONFLICT'
}
// sst.config.ts: no top-level import; a dynamic import inside app()
export const config = {
  async app(input?: { stage?: string }) {
    const { prepareStage } = await import('sst-local-state')
    await prepareStage({ stage: input?.stage ?? 'dev', cwd: '.' })
    return { name: 'demo-app', home: 'local' as const }
  },
}
`,
    )
    writeFileSync(
      join(dir, 'check.cts'),
      `import sls = require('sst-local-state')
export const run = (): Promise<sls.PrepareResult> => sls.prepareStage({ stage: 'dev' })
`,
    )
    // the README's bun deploy script, as a user copies it
    cpSync(join(REPO_ROOT, 'examples', 'deploy.ts'), join(dir, 'deploy.mts'))
    const tsconfig = { compilerOptions: { strict: true, noEmit: true, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', types: [], skipLibCheck: false }, files: ['check.mts', 'check.cts', 'deploy.mts'] }
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify(tsconfig))
    const ok = run(process.execPath, [BIN('tsc'), '-p', 'tsconfig.json'], dir)
    assert.equal(ok.status, 0, ok.stdout + ok.stderr)
    // the types are real: a misspelled option is an error
    writeFileSync(join(dir, 'wrong.mts'), `import { prepareStage, pruneStage } from 'sst-local-state'\nexport const p = prepareStage({ stagee: 'dev' })\nexport const q = pruneStage({ stage: 'dev', kep: 1 })\nexport const r = prepareStage({ stage: 'dev', passphraseMode: 'aes' })\n`)
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ ...tsconfig, files: ['wrong.mts'] }))
    const bad = run(process.execPath, [BIN('tsc'), '-p', 'tsconfig.json'], dir)
    assert.notEqual(bad.status, 0)
    assert.match(bad.stdout, /stagee/)
    assert.match(bad.stdout, /kep/)
    assert.match(bad.stdout, /"aes"/) // passphraseMode is 'age' | 'env' | 'plain'
  })

  for (const bundler of ['esbuild', 'bun build']) {
    test(`a deploy script bundled with ${bundler} runs from the project, and says what to mark external where the package is not installed`, opts, () => {
      writeFileSync(
        join(dir, 'deploy.mjs'),
        `import { prepareStage } from 'sst-local-state'\nconst report = await prepareStage({ stage: 'dev', configDir: process.argv.at(-1) })\nconsole.log('restored', report.files.length)\n`,
      )
      const out = join(dir, 'dist', bundler === 'esbuild' ? 'deploy-esbuild.mjs' : 'deploy-bun.mjs')
      const build =
        bundler === 'esbuild'
          ? run(BIN('esbuild'), ['deploy.mjs', '--bundle', '--platform=node', '--format=esm', `--outfile=${out}`, '--log-level=warning'], dir)
          : run(BUN_BIN, ['build', 'deploy.mjs', '--target=node', `--outfile=${out}`], dir)
      assert.equal(build.status, 0, build.stdout + build.stderr)
      assert.doesNotMatch(build.stderr, /\.node|warning/i) // nothing the bundler could not handle
      const bundle = readFileSync(out, 'utf8')
      assert.doesNotMatch(bundle, /sst-local-state\.linux-x64-gnu\.node/) // the loader stayed out of the bundle
      const configDir = join(tempDir('sls-installed-cfg-'), 'sst')
      const ran = assertOk(run(process.execPath, [out, configDir], dir), `bundle (${bundler})`)
      assert.match(ran.stdout, /^restored [1-9]/)
      // the same bundle where no node_modules can be reached
      const away = join(tempDir('sls-bundle-away-'), 'deploy.mjs')
      cpSync(out, away)
      const lost = run(process.execPath, [away, configDir], dirname(away))
      assert.notEqual(lost.status, 0)
      assert.match(lost.stderr, /sst-local-state was bundled into .*deploy\.mjs/)
      assert.match(lost.stderr, /--external:sst-local-state/)
      assert.match(lost.stderr, /bun build --external sst-local-state/)
    })
  }

  test('commit with no git CLI (the built-in libgit2 and OpenSSL) over HTTPS: the certificate is checked, then the state is pushed', opts, async () => {
    const srv = await gitServer()
    const repo = await seededRepo('installed-tls')
    const proxy = await startTlsProxy(srv.port)
    try {
      const checkout = join(tempDir('sls-installed-tls-'), 'app')
      gitOk(['clone', '-q', repo.open, checkout])
      gitOk(['remote', 'set-url', 'origin', `${proxy.url}/open/${repo.name}.git`], checkout)
      install('npm', checkout)
      const configDir = join(tempDir('sls-installed-cfg-'), 'sst')
      const npx = (args, env) => spawnAsync('npx', ['sst-local-state', ...args], { cwd: checkout, env: { ...ENV, SST_LOCAL_STATE_GIT: 'none', ...env } })
      const prepared = await npx(['prepare', '--stage', 'dev', '--config-dir', configDir])
      assert.equal(prepared.status, 0, prepared.stderr)
      const ours = deploy(configDir, 3, 'installed-tls')
      const before = revParse(repo.path)
      const args = ['commit', '--stage', 'dev', '--config-dir', configDir, '--branch', 'main', '--json']
      const untrusted = await npx(args, {})
      assert.equal(untrusted.status, 1, untrusted.stdout + untrusted.stderr)
      assert.match(JSON.parse(untrusted.stdout).error.message, /certificate/i)
      assert.equal(revParse(repo.path), before)
      const trusted = await npx(args, { SSL_CERT_FILE: proxy.certFile })
      assert.equal(trusted.status, 0, trusted.stdout + trusted.stderr)
      assert.equal(JSON.parse(trusted.stdout).pushed, true)
      assert.deepEqual(showBlob(repo.path, 'main'), ours)
    } finally {
      await proxy.stop()
    }
  })

  test('without the platform package, loading fails with an error that names the package to install', opts, () => {
    const pkg = join(dir, 'node_modules', `sst-local-state-${PLATFORM}`)
    const aside = `${pkg}.aside`
    renameSync(pkg, aside)
    try {
      for (const [exe, args] of [
        [process.execPath, ['-e', "try { require('sst-local-state') } catch (e) { console.error(e.code + ': ' + e.message); process.exit(3) }"]],
        [BUN_BIN, ['-e', "try { require('sst-local-state') } catch (e) { console.error(e.code + ': ' + e.message); process.exit(3) }"]],
        ['npx', ['sst-local-state', '--version']],
      ]) {
        const res = run(exe, args, dir)
        assert.notEqual(res.status, 0, `${exe} ${args.join(' ')}`)
        assert.match(res.stderr, new RegExp(`no native binary for this platform \\(${PLATFORM}, `))
        assert.match(res.stderr, new RegExp(`npm i sst-local-state-${PLATFORM}@${VERSION.replace(/\./g, '\\.')}`))
        if (exe === 'npx') {
          // the CLI's one-line error, not a stack trace
          assert.match(res.stderr, /^error\[BINDING_NOT_FOUND\]: /m)
          assert.doesNotMatch(res.stderr, /\n\s+at /)
        }
      }
      assert.match(run(process.execPath, ['-e', "try { require('sst-local-state') } catch (e) { console.error(e.code) }"], dir).stderr, /^BINDING_NOT_FOUND/)
    } finally {
      renameSync(aside, pkg)
    }
  })

  test('a truncated binary in the platform package is BINDING_NOT_FOUND naming it, not a crash (SIGBUS)', opts, () => {
    const addon = join(dir, 'node_modules', `sst-local-state-${PLATFORM}`, `sst-local-state.${PLATFORM}.node`)
    const whole = readFileSync(addon)
    writeFileSync(addon, whole.subarray(0, whole.length >> 1))
    try {
      for (const [exe, args] of [
        [process.execPath, ['-e', "try { require('sst-local-state') } catch (e) { console.error(e.code + ': ' + e.message); process.exit(3) }"]],
        ['npx', ['sst-local-state', '--version']],
      ]) {
        const res = run(exe, args, dir)
        assert.equal(res.signal, null, `${exe}: killed by a signal`)
        assert.notEqual(res.status, 0, `${exe} ${args.join(' ')}`)
        assert.match(res.stderr, new RegExp(`BINDING_NOT_FOUND\\]?: .*sst-local-state-${PLATFORM}/sst-local-state\\.${PLATFORM}\\.node is incomplete`))
      }
    } finally {
      writeFileSync(addon, whole)
    }
  })
})

// The form SST prescribes, literally: `await import("sst-local-state")` inside
// app(). SST bundles the config with esbuild into .sst/platform/ and runs the
// bundle with node; the state only the repository holds must reach SST. The
// config is examples/sst.config.ts as the README shows it, for this app's name.
const EXAMPLE_CONFIG = readFileSync(join(REPO_ROOT, 'examples', 'sst.config.ts'), 'utf8')
const CONFIG = EXAMPLE_CONFIG.replace('name: "myapp"', 'name: "demo-app"')

describe('await import("sst-local-state") in sst.config.ts, evaluated by the real sst CLI', () => {
  for (const pm of ['npm', 'pnpm', 'bun']) {
    test(`installed with ${pm}: a fresh config dir gets the repository's secret`, opts, async () => {
      assert.notEqual(CONFIG, EXAMPLE_CONFIG)
      assert.match(CONFIG, /^\s+const \{ prepareStage \} = await import\("sst-local-state"\);$/m)
      const app = await makeSstProject()
      removeAtCleanup(app.dir)
      const sst = (home, args) => runSst([...args, '--stage', 'dev'], { cwd: app.dir, configHome: home, env: { PATH: `${dirname(BUN_BIN)}${delimiter}${PATH}` } })
      // the repository holds a secret made on another machine
      const homeA = tempDir('sls-home-a-')
      assertOk(sst(homeA, ['secret', 'set', 'RepoOnly', 'from-the-repository']), 'secret set on A')
      for (const kind of ['passphrase', 'secret']) {
        mkdirSync(join(app.dir, 'infra', 'state', kind), { recursive: true })
        cpSync(join(homeA, 'sst', 'state', kind, 'demo-app', 'dev.json'), join(app.dir, 'infra', 'state', kind, 'dev.json'))
      }
      writeFileSync(join(app.dir, 'sst.config.ts'), CONFIG)
      writeFileSync(join(app.dir, '.gitignore'), 'node_modules\n.sst\n')
      install(pm, app.dir)
      gitOk(['init', '-q', '-b', 'main'], app.dir)
      gitOk(['add', '-A'], app.dir)
      gitOk(['-c', 'user.name=T', '-c', 'user.email=t@example.com', 'commit', '-q', '-m', 'state'], app.dir)
      // machine B: nothing in its config dir until the config's own prepareStage() runs
      const homeB = tempDir('sls-home-b-')
      assert.ok(!existsSync(join(homeB, 'sst')))
      const list = assertOk(sst(homeB, ['secret', 'list']), 'secret list')
      assert.ok(list.stdout.split('\n').includes('RepoOnly=from-the-repository'), list.stdout + list.stderr)
      assert.deepEqual(
        readFileSync(join(homeB, 'sst', 'state', 'secret', 'demo-app', 'dev.json')),
        readFileSync(join(app.dir, 'infra', 'state', 'secret', 'dev.json')),
      )
    })
  }
})
