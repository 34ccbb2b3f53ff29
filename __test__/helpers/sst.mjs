// Run the real SST CLI (npm package `sst`) in isolation, for tests.
// Works under `node --test` and `bun test`.
//
//   const configHome = mkdtempSync(join(tmpdir(), 'cfg-'))
//   const project = await makeSstProject()            // copy of examples/basic
//   const res = runSst(['secret', 'list', '--stage', 'dev'], { cwd: project.dir, configHome })
//   res.status, res.stdout, res.stderr, res.ms
//   sstConfigDir(configHome)                            // -> `${configHome}/sst` on Linux
//   project.cleanup()
//
// Facts this relies on (SST 4.17.1, checked by __test__/sst-real.test.mjs):
// - Every project command first bundles sst.config.ts into .sst/platform and
//   evaluates it with bun; then SST "checks the platform": when
//   .sst/platform/version is missing or differs from the CLI version, or its
//   node_modules is missing, SST installs the platform itself (`bun install`
//   from the npm registry, about 2 s with bun's cache warm, 5 s cold).
// - `sst install --stage X` does just that install; nothing else needs it.
//   secret set/list/remove, state export, unlock and deploy (up to the point
//   where it needs the pulumi binary) work with any platform that passes the
//   check. So we install once per SST version into a cache under
//   <repo>/.tmp/sst-platform/<version>/ and give each project a copy of the
//   small files plus a symlink to the cached node_modules (~0.1 s).
// - SST's config dir is os.UserConfigDir()/sst: on Linux $XDG_CONFIG_HOME/sst.
//   (On macOS XDG is ignored and it is $HOME/Library/Application Support/sst;
//   use sstConfigDir() to learn the real one.)
import { spawnSync } from 'node:child_process'
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  realpathSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, delimiter, dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

/** Root of the sst-local-state repository. */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
/** The example SST app copied by makeSstProject(). */
export const EXAMPLE_DIR = join(REPO_ROOT, 'examples', 'basic')

const NODE_MODULES = join(REPO_ROOT, 'node_modules')
const sstArch = process.arch === 'ia32' ? 'x86' : process.arch

/** Absolute path of the real SST CLI binary (the npm package's platform binary). */
export const SST_BIN = join(
  NODE_MODULES,
  `sst-${process.platform}-${sstArch}`,
  'bin',
  process.platform === 'win32' ? 'sst.exe' : 'sst',
)
/** Absolute path of bun (npm package `bun`; its binary is `bun.exe` on every OS). */
export const BUN_BIN = join(NODE_MODULES, 'bun', 'bin', 'bun.exe')
/** Version of the installed `sst` npm package (and of SST_BIN). */
export const SST_VERSION = JSON.parse(readFileSync(join(NODE_MODULES, 'sst', 'package.json'), 'utf8')).version

/** Where the installed platform is cached (gitignored: /.tmp). */
export const SST_PLATFORM_CACHE = join(REPO_ROOT, '.tmp', 'sst-platform', SST_VERSION)

let sstTmp
/**
 * Private TMPDIR for SST: every run writes a log file `sst-<time>.log` into
 * os.TempDir() and never removes it. Created on first use, removed at exit.
 */
export function sstTmpDir() {
  if (!sstTmp || !existsSync(sstTmp)) {
    sstTmp = mkdtempSync(join(tmpdir(), 'sst-tmp-'))
    const dir = sstTmp
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }))
  }
  return sstTmp
}

/**
 * Environment for an isolated real SST whose config dir is under `configHome`.
 * Drops every inherited SST_*, XDG_* and CI variable; `extra` is applied last.
 * Also sets TMPDIR (see sstTmpDir) and AWS_EC2_METADATA_DISABLED.
 */
export function sstEnv(configHome, extra = {}) {
  if (!configHome) throw new Error('sstEnv: configHome is required (never touch the real ~/.config/sst)')
  const env = { ...process.env }
  // CI variables too: a prepareStage() in the config would take this run for
  // a CI run (new stages refused, another branch to push to)
  for (const key of Object.keys(env)) {
    if (/^(SST_|XDG_|GITHUB_|GITLAB_|CI$|CI_|TF_BUILD$|BUILD_|SYSTEM_|BITBUCKET_|BUILDKITE|CIRCLE)/.test(key)) delete env[key]
  }
  const pathKey = Object.keys(env).find((k) => k.toUpperCase() === 'PATH') ?? 'PATH'
  Object.assign(env, {
    XDG_CONFIG_HOME: resolve(configHome),
    SST_SKIP_DEPENDENCY_CHECK: '1',
    SST_TELEMETRY_DISABLED: '1',
    SST_BUN_PATH: BUN_BIN,
    NO_COLOR: '1',
    // SST's AWS SDK probes the EC2 metadata endpoint when a config uses the
    // aws provider and no credentials exist: never let a test do that.
    AWS_EC2_METADATA_DISABLED: 'true',
    TMPDIR: sstTmpDir(),
    [pathKey]: [dirname(BUN_BIN), env[pathKey]].filter(Boolean).join(delimiter),
  })
  return Object.assign(env, extra)
}

/**
 * Run the real SST CLI synchronously. Never throws for a nonzero exit or a
 * timeout: returns { status, signal, stdout, stderr, error, ms }.
 * `input` (string/Buffer) is written to stdin; otherwise stdin is empty.
 */
export function runSst(args, options = {}) {
  // SST 4.17.1 has a data race: `secret list` fetches the stage's and the
  // fallback passphrase in parallel goroutines that write one Go map
  // (provider.GetPassphrase), and now and then the Go runtime aborts with
  // "fatal error: concurrent map writes" (exit 2). That is SST's bug, not the
  // state it reads: run it again, a bounded number of times, on that exact
  // crash only.
  for (let attempt = 1; ; attempt++) {
    const res = runSstOnce(args, options)
    const raced = res.status === 2 && /fatal error: concurrent map writes/.test(res.stderr + res.stdout)
    if (!raced || attempt === 5) return res
  }
}

function runSstOnce(args, { cwd, configHome, env, input, timeout = 120_000 } = {}) {
  const started = Date.now()
  const res = spawnSync(SST_BIN, args, {
    cwd,
    env: sstEnv(configHome, env),
    input: input ?? '',
    encoding: 'utf8',
    timeout,
    killSignal: 'SIGKILL',
    maxBuffer: 1024 * 1024 * 1024,
    windowsHide: true,
  })
  return {
    status: res.status,
    signal: res.signal,
    stdout: res.stdout ?? '',
    stderr: res.stderr ?? '',
    error: res.error,
    ms: Date.now() - started,
  }
}

/** The config dir that SST reports (`config <dir>` line of `sst version --verbose`). */
export function sstConfigDir(configHome) {
  const res = runSst(['version', '--verbose'], { cwd: tmpdir(), configHome, timeout: 30_000 })
  const match = /^config\s+(.+?)\s*$/m.exec(res.stdout)
  if (res.status !== 0 || !match) {
    throw new Error(`sst version --verbose gave no config line (exit ${res.status}):\n${res.stdout}${res.stderr}`)
  }
  return match[1]
}

function copyExample(dest) {
  cpSync(EXAMPLE_DIR, dest, {
    recursive: true,
    // Skip whatever an `sst` run inside examples/basic may have left.
    filter: (src) => !['.sst', 'node_modules'].includes(basename(src)),
  })
}

function cacheReady(dir) {
  const platform = join(dir, '.sst', 'platform')
  try {
    return (
      existsSync(join(dir, 'READY')) &&
      existsSync(join(platform, 'node_modules')) &&
      readFileSync(join(platform, 'version'), 'utf8').trim() === SST_VERSION
    )
  } catch {
    return false
  }
}

let cacheChecked = false

/**
 * Make sure SST's platform for SST_VERSION is installed in SST_PLATFORM_CACHE
 * (a copy of examples/basic on which `sst install` ran). Safe when several
 * test processes call it at once: each builds in its own dir, then renames.
 * Returns the cache dir.
 */
export function ensureSstPlatformCache() {
  if (cacheChecked && cacheReady(SST_PLATFORM_CACHE)) return SST_PLATFORM_CACHE
  if (!cacheReady(SST_PLATFORM_CACHE)) {
    const parent = dirname(SST_PLATFORM_CACHE)
    mkdirSync(parent, { recursive: true })
    const build = mkdtempSync(join(parent, `.build-${SST_VERSION}-`))
    try {
      const project = join(build, 'project')
      copyExample(project)
      const res = runSst(['install', '--stage', 'cache'], {
        cwd: project,
        configHome: join(build, 'config'),
        timeout: 600_000,
      })
      if (res.status !== 0) {
        throw new Error(`sst install failed (exit ${res.status ?? res.signal}):\n${res.stdout}${res.stderr}`)
      }
      writeFileSync(join(project, 'READY'), `${SST_VERSION}\n`)
      if (existsSync(SST_PLATFORM_CACHE) && !cacheReady(SST_PLATFORM_CACHE)) {
        rmSync(SST_PLATFORM_CACHE, { recursive: true, force: true }) // broken leftover
      }
      try {
        renameSync(project, SST_PLATFORM_CACHE)
      } catch (err) {
        // Another process finished first: use its cache.
        if (!cacheReady(SST_PLATFORM_CACHE)) throw err
      }
    } finally {
      rmSync(build, { recursive: true, force: true })
    }
  }
  cacheChecked = true
  return SST_PLATFORM_CACHE
}

function replaceOnce(file, from, to) {
  const text = readFileSync(file, 'utf8')
  if (!text.includes(from)) throw new Error(`${file}: expected to find ${from}`)
  writeFileSync(file, text.replace(from, to))
}

/**
 * A fresh temp copy of examples/basic, ready for the real SST.
 *
 * platform:
 *  - 'installed' (default): .sst/platform = copy of the cached install's small
 *    files + symlink to its node_modules (first call per SST version runs
 *    `sst install`, ~2-5 s, needs the npm registry).
 *  - 'stub': only .sst/platform/version + an empty node_modules dir. Enough
 *    for SST 4.17.1 to skip its install with home "local" (config evaluation
 *    needs no package); relies on SST's internal check, so prefer 'installed'.
 *  - 'none': no .sst at all (SST would install the platform on first use).
 *
 * `name` and `home` are written into sst.config.ts (JSON-quoted, unvalidated,
 * so invalid names can be tested). Don't run SST on a non-"local" home here:
 * it wants cloud credentials and a provider install.
 */
export async function makeSstProject({ name = 'demo-app', home = 'local', platform = 'installed' } = {}) {
  // by its real path (macOS: /private/var/...), as the CLI sees its cwd
  const dir = realpathSync.native(mkdtempSync(join(tmpdir(), 'sst-project-')))
  const cleanup = () => rmSync(dir, { recursive: true, force: true })
  try {
    copyExample(dir)
    if (name !== 'demo-app') {
      replaceOnce(join(dir, 'sst.config.ts'), 'name: "demo-app"', `name: ${JSON.stringify(name)}`)
      const pkgFile = join(dir, 'package.json')
      const pkg = JSON.parse(readFileSync(pkgFile, 'utf8'))
      pkg.name = name
      writeFileSync(pkgFile, `${JSON.stringify(pkg, null, 2)}\n`)
    }
    if (home !== 'local') {
      replaceOnce(join(dir, 'sst.config.ts'), 'home: "local"', `home: ${JSON.stringify(home)}`)
    }

    const platformDir = join(dir, '.sst', 'platform')
    if (platform === 'installed') {
      const cache = ensureSstPlatformCache()
      const cachedPlatform = join(cache, '.sst', 'platform')
      mkdirSync(platformDir, { recursive: true })
      for (const entry of readdirSync(cachedPlatform)) {
        if (entry === 'node_modules') continue
        cpSync(join(cachedPlatform, entry), join(platformDir, entry), { recursive: true })
      }
      symlinkSync(join(cachedPlatform, 'node_modules'), join(platformDir, 'node_modules'), 'junction')
      const lock = join(cache, '.sst', 'provider-lock.json')
      if (existsSync(lock)) cpSync(lock, join(dir, '.sst', 'provider-lock.json'))
    } else if (platform === 'stub') {
      mkdirSync(join(platformDir, 'node_modules'), { recursive: true })
      writeFileSync(join(platformDir, 'version'), SST_VERSION)
    } else if (platform !== 'none') {
      throw new Error(`makeSstProject: unknown platform ${platform}`)
    }
  } catch (err) {
    cleanup()
    throw err
  }
  return { dir, name, home, cleanup }
}
