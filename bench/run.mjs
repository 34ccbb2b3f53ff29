// `npm run bench` (through scripts/bench.sh, which builds the release addon
// and installs what is missing first). See BENCHMARKS.md for the figures and
// how to read them.
//
//   node bench/run.mjs            full run (~5-10 min on 2 cores), writes BENCHMARKS.md
//   node bench/run.mjs --quick    ~1 min, prints the table, writes nothing
//   node bench/run.mjs --quick --write   ... and writes BENCHMARKS.md
//   --runs N   timed runs per figure (default 7, quick 3; plus one warm-up)
//   --keep     keep the temp dir (fixtures, checkouts) for inspection
//   --only history   only the history row (10,000 commits); prints it, writes nothing
//
// Everything runs in a temp dir under os.tmpdir(): generated checkpoints,
// passphrases and secrets, repositories of 1,000 / 20,000 / 50,000 tracked
// files in a local smart-HTTP git server (nginx + git-http-backend bound to
// 127.0.0.1), CI-style checkouts, and isolated SST config dirs. The real SST
// CLI (npm `sst`) and the seed scripts in ../shared/seed are the baselines.
import { createHash, randomBytes } from 'node:crypto'
import { execFileSync, spawnSync } from 'node:child_process'
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import { createRequire } from 'node:module'
import { cpus, loadavg, release, tmpdir, totalmem } from 'node:os'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

import { checkpoint, passphrase, prng, secrets, sstEncrypt } from './fixtures.mjs'
import { WRAPPER, rounds, runProcess, timeCall } from './measure.mjs'
import { APP, ciCheckout, fillRepo, git, resetCommitFixture } from './repos.mjs'
import { profilePrepare } from './profile.mjs'
import { renderReport } from './report.mjs'
import { historySection } from './history.mjs'
import { startGitServer } from '../__test__/helpers/git-server.mjs'
import { BUN_BIN, SST_VERSION, sstEnv } from '../__test__/helpers/sst.mjs'

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const SEED_DIR = resolve(process.env.SST_LOCAL_STATE_SEED_DIR ?? join(REPO_ROOT, '..', 'shared', 'seed'))
// The package under test: a snapshot of the release build made by
// scripts/bench.sh (immune to a debug rebuild of this checkout meanwhile),
// else this checkout itself.
const PKG_DIR = resolve(process.env.SST_LOCAL_STATE_BENCH_PKG ?? REPO_ROOT)
const CLI = join(PKG_DIR, 'cli.js')
const require = createRequire(import.meta.url)
const lib = require(join(PKG_DIR, 'index.js'))

// ------------------------------------------------------------------ options

const args = process.argv.slice(2)
const flag = (name) => args.includes(name)
const QUICK = flag('--quick')
const WRITE = !QUICK || flag('--write')
const KEEP = flag('--keep')
const runsArg = args.indexOf('--runs')
const RUNS = runsArg >= 0 ? Number(args[runsArg + 1]) : QUICK ? 3 : 7
const onlyArg = args.indexOf('--only')
const ONLY = onlyArg >= 0 ? args[onlyArg + 1] : undefined
if (onlyArg >= 0 && ONLY !== 'history') {
  console.error('--only takes: history')
  process.exit(2)
}
for (const a of args) {
  if (a.startsWith('--') && !['--quick', '--write', '--keep', '--runs', '--only'].includes(a)) {
    console.error(`unknown option ${a}\nusage: node bench/run.mjs [--quick] [--write] [--keep] [--runs N]`)
    process.exit(2)
  }
}
if (!Number.isInteger(RUNS) || RUNS < 1) {
  console.error('--runs takes a positive integer')
  process.exit(2)
}

// Checkpoint sizes (resources): ~0.26 MB, ~1.0 MB, ~14 MB, ~86 MB.
const STATE_SIZES = QUICK ? [355, 5000] : [100, 355, 5000, 30000]
const COMMIT_STATE_SIZES = QUICK ? [] : STATE_SIZES // commit by state size: full runs only
const ONE_MB = 355 // ~1.0 MB: the stage used wherever one state size is needed
const REPO_SIZES = QUICK ? [1000, 20000] : [1000, 20000, 50000]
const RESOLVE_CALLS = 20000 // in-process resolveConfigDir() calls per sample

const stageOf = (resources) => `r${resources}`
const started = Date.now()
const say = (msg) => process.stderr.write(`[bench ${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${msg}\n`)

// ------------------------------------------------------------------ helpers

function blobId(buf) {
  return createHash('sha1').update(`blob ${buf.length}\0`).update(buf).digest('hex')
}

function syncDisks() {
  spawnSync('sync', { stdio: 'ignore' })
}

function snapshotTree(dir) {
  const out = {}
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name)
      if (e.isDirectory()) walk(p)
      else out[relative(dir, p)] = readFileSync(p)
    }
  }
  if (existsSync(dir)) walk(dir)
  return out
}

function restoreTree(dir, snapshot) {
  rmSync(dir, { recursive: true, force: true })
  for (const [rel, bytes] of Object.entries(snapshot)) {
    mkdirSync(dirname(join(dir, rel)), { recursive: true })
    writeFileSync(join(dir, rel), bytes)
  }
}

const shq = (s) => `'${String(s).replace(/'/g, `'\\''`)}'`

function versionOf(cmd, argv) {
  try {
    return execFileSync(cmd, argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim().split('\n')[0]
  } catch {
    return 'unknown'
  }
}

function machineInfo() {
  let cpu = cpus()[0]?.model ?? 'unknown'
  try {
    const lscpu = execFileSync('lscpu', { encoding: 'utf8' })
    const m = /^Model name:\s*(.+)$/m.exec(lscpu)
    if (m) cpu = m[1].trim()
  } catch {
    // keep os.cpus()
  }
  let fs = 'unknown'
  try {
    fs = execFileSync('df', ['-T', tmpdir()], { encoding: 'utf8' }).trim().split('\n').pop().split(/\s+/)[1]
  } catch {
    // unknown
  }
  const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8'))
  let commit = 'unknown'
  try {
    commit = execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { cwd: REPO_ROOT, encoding: 'utf8' }).trim()
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src', 'Cargo.toml', 'Cargo.lock', 'index.js', 'index.mjs', 'load.cjs', 'binding.cjs', 'cli.js'], { cwd: REPO_ROOT, encoding: 'utf8' }).trim()
    if (dirty) commit += ' + uncommitted changes'
  } catch {
    // not a git checkout
  }
  // a debug build carries DWARF sections; the release profile strips symbols
  let build = 'release build'
  const addon = readdirSync(PKG_DIR).find((f) => f.endsWith('.node'))
  try {
    const sections = execFileSync('readelf', ['-S', '--wide', join(PKG_DIR, addon)], { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 })
    if (/\.debug_info/.test(sections)) build = 'DEBUG build (not representative)'
  } catch {
    if (addon && statSync(join(PKG_DIR, addon)).size > 60e6) build = 'probably a DEBUG build (not representative)'
  }
  return {
    build,
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    loadStart: loadavg().map((x) => x.toFixed(2)).join(' '),
    cpu,
    cores: cpus().length,
    memGiB: (totalmem() / 2 ** 30).toFixed(1),
    kernel: release(),
    tmpFs: fs,
    node: process.version,
    bun: versionOf(BUN_BIN, ['--version']),
    git: versionOf('git', ['--version']).replace(/^git version /, ''),
    sst: SST_VERSION,
    tool: `${pkg.version} (${commit}, ${build})`,
    rustc: versionOf('rustc', ['--version']),
  }
}

// ------------------------------------------------------------------ main

/** `--only history`: the history row alone, printed; nothing written. */
async function onlyHistory() {
  if (!WRAPPER) throw new Error('need python3 or /usr/bin/time (Debian package "time") to measure processes')
  const work = mkdtempSync(join(tmpdir(), 'sst-local-state-bench-'))
  const tmp = join(work, 'tmp')
  mkdirSync(tmp)
  try {
    const gitconfig = join(work, 'gitconfig')
    writeFileSync(gitconfig, '[user]\n\tname = Bench CI\n\temail = ci@example.com\n[init]\n\tdefaultBranch = main\n')
    const env = { ...process.env, GIT_CONFIG_GLOBAL: gitconfig, GIT_CONFIG_NOSYSTEM: '1', GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C', XDG_CONFIG_HOME: join(work, 'xdg') }
    for (const key of Object.keys(env)) if (/^(SST_LOCAL_STATE_|SST_STAGE$|GIT_DIR$|GIT_WORK_TREE$)/.test(key)) delete env[key]
    say(`history over 10,000 commits, ${RUNS} timed runs (+1 warm-up)`)
    const h = await historySection({ lib, cli: CLI, work, tmp, env, runs: RUNS })
    for (const [key, r] of Object.entries(h.results)) say(`  ${r.label}: median ${r.ms.median.toFixed(1)} ms (${r.ms.min.toFixed(1)}–${r.ms.max.toFixed(1)})${key.startsWith('inproc') ? '' : `, peak RSS ${Math.round(r.rssKb.max / 1024)} MiB`}`)
    const tag = `h${h.commits}`
    const ratio = (a, b, m) => (h.results[`${a}:${tag}`][m].median / h.results[`${b}:${tag}`][m].median).toFixed(2)
    say(`  ${h.entries} entries; wall time: process ÷ git log ${ratio('tool', 'git', 'ms')}x, in-process ÷ git log ${ratio('inproc', 'git', 'ms')}x; CPU time: ${ratio('tool', 'git', 'cpuMs')}x, ${ratio('inproc', 'git', 'cpuMs')}x`)
  } finally {
    if (KEEP) process.stderr.write(`kept ${work}\n`)
    else rmSync(work, { recursive: true, force: true })
  }
}

async function main() {
  if (ONLY === 'history') return onlyHistory()
  if (!WRAPPER) throw new Error('need python3 or /usr/bin/time (Debian package "time") to measure processes')
  for (const f of ['prepare_sst.sh', 'commit_local_stage.sh']) {
    if (!existsSync(join(SEED_DIR, f))) throw new Error(`seed script ${join(SEED_DIR, f)} not found (set SST_LOCAL_STATE_SEED_DIR)`)
  }
  const machine = { ...machineInfo(), wrapper: WRAPPER.kind === 'python' ? 'bench/rusage.py' : '/usr/bin/time' }
  say(`${QUICK ? 'quick' : 'full'} run, ${RUNS} timed runs per figure (+1 warm-up); ${machine.cpu}, ${machine.cores} cores; load average ${machine.loadStart}`)
  if (loadavg()[0] > 0.5 * machine.cores) say('warning: the machine is busy (load average above half the cores): figures will be noisy')
  if (machine.build !== 'release build') say(`warning: measuring a ${machine.build} (${PKG_DIR}); run through scripts/bench.sh`)

  const work = mkdtempSync(join(tmpdir(), 'sst-local-state-bench-'))
  const tmp = join(work, 'tmp')
  mkdirSync(tmp)
  let server
  let cleaned = false
  const cleanup = () => {
    if (cleaned) return
    cleaned = true
    try {
      server?.stop()
    } catch {
      // best effort
    }
    if (KEEP) process.stderr.write(`kept ${work}\n`)
    else rmSync(work, { recursive: true, force: true })
    say('stopped the git server, removed the temp dir')
  }
  process.once('exit', cleanup)
  for (const sig of ['SIGINT', 'SIGTERM']) {
    process.once(sig, () => {
      cleanup()
      process.exit(130)
    })
  }

  try {
    // ---------------------------------------------------------- environment
    const gitconfig = join(work, 'gitconfig')
    writeFileSync(gitconfig, '[user]\n\tname = Bench CI\n\temail = ci@example.com\n[advice]\n\tdetachedHead = false\n[init]\n\tdefaultBranch = main\n')
    const baseEnv = sstEnv(join(work, 'xdg-unused'), {
      GIT_CONFIG_GLOBAL: gitconfig,
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_TERMINAL_PROMPT: '0',
      GIT_AUTHOR_NAME: 'Bench CI',
      GIT_AUTHOR_EMAIL: 'ci@example.com',
      GIT_COMMITTER_NAME: 'Bench CI',
      GIT_COMMITTER_EMAIL: 'ci@example.com',
      LC_ALL: 'C',
    })
    // no CI variables: every run picks its branch from --branch / the seed's own logic
    for (const key of Object.keys(baseEnv)) {
      if (/^(CI|CONTINUOUS_INTEGRATION|BUILD_|SYSTEM_|TF_BUILD|AGENT_|GITHUB_|GITLAB_|CI_|BUILDKITE|CIRCLE|TRAVIS|BITBUCKET_|SST_LOCAL_STATE_|NAPI_RS_)/.test(key)) delete baseEnv[key]
    }
    // `bun` is the npm package's binary (node_modules/.bin/bun): first on PATH,
    // as in a CI job that ran `npm ci`; `bun sst` then runs the project's sst.
    baseEnv.PATH = [join(REPO_ROOT, 'node_modules', '.bin'), baseEnv.PATH].join(':')
    const envFor = (xdg) => ({ ...baseEnv, XDG_CONFIG_HOME: xdg })
    const gitEnv = { ...baseEnv }

    // ---------------------------------------------------------- fixtures
    say('generating checkpoints, passphrases and secrets')
    const rnd = prng(42)
    const fallbackPass = passphrase(rnd)
    const fallbackSecret = sstEncrypt(secrets(rnd, 3), fallbackPass, rnd)
    const stages = {}
    for (const n of [...new Set([...STATE_SIZES, ONE_MB])]) {
      const stage = stageOf(n)
      const pass = passphrase(rnd)
      const dir = join(work, 'fixtures', stage)
      mkdirSync(dir, { recursive: true })
      const app = Buffer.from(checkpoint({ app: APP, stage, resources: n, seed: n }))
      const deployed = Buffer.from(checkpoint({ app: APP, stage, resources: n, seed: n, revision: 1 }))
      writeFileSync(join(dir, 'app.json'), app)
      writeFileSync(join(dir, 'app-deployed.json'), deployed)
      stages[stage] = {
        stage,
        resources: n,
        bytes: app.length,
        deployedBytes: deployed.length,
        deployedBlob: blobId(deployed),
        appFile: join(dir, 'app.json'),
        deployedFile: join(dir, 'app-deployed.json'),
        pass,
        secret: sstEncrypt(secrets(rnd, 8), pass, rnd),
      }
    }
    const stateFilesFor = (stageNames) => {
      const files = {
        'infra/state/passphrase/_fallback.json': fallbackPass,
        'infra/state/secret/_fallback.json': fallbackSecret,
      }
      for (const s of stageNames) {
        const st = stages[s]
        files[`infra/state/app/${s}.json`] = readFileSync(st.appFile)
        files[`infra/state/passphrase/${s}.json`] = st.pass
        files[`infra/state/secret/${s}.json`] = st.secret
      }
      return files
    }

    say('starting the local smart-HTTP git server (127.0.0.1)')
    server = await startGitServer()

    const repos = {}
    const smallest = Math.min(...REPO_SIZES)
    for (const n of REPO_SIZES) {
      const stageNames = n === smallest ? Object.keys(stages) : [stageOf(ONE_MB)]
      say(`repository with ${n.toLocaleString('en-US')} tracked files (stages ${stageNames.join(', ')}): fast-import, CI-style checkout`)
      const remote = server.newRepo(`app-${n}`)
      let t = Date.now()
      const base = fillRepo(remote.path, { files: n, stateFiles: stateFilesFor(stageNames), tmp, env: gitEnv })
      const fillMs = Date.now() - t
      t = Date.now()
      const checkout = join(work, `checkout-${n}`)
      const { head, times } = ciCheckout(remote.path, checkout, { remoteUrl: remote.open, env: gitEnv, nodeModules: join(REPO_ROOT, 'node_modules') })
      say(`  fast-import + repack ${fillMs} ms, checkout ${Date.now() - t} ms (${Object.entries(times).map(([k, v]) => `${k} ${v} ms`).join(', ')})`)
      if (head !== base) throw new Error(`checkout of ${n} files is at ${head}, expected ${base}`)
      repos[n] = { files: n, bare: remote.path, url: remote.open, base, checkout, stages: stageNames }
    }

    // The seed's prepare core: prepare_sst.sh minus its two install lines
    // (`bun install --frozen-lockfile`, `bun sst install`), which every
    // method needs anyway. Generated here; the seed itself is untouched.
    const seedPrepare = readFileSync(join(SEED_DIR, 'prepare_sst.sh'), 'utf8').split('\n')
    const installLines = ['bun install --frozen-lockfile', 'bun sst install']
    const seedCore = seedPrepare.filter((l) => !installLines.includes(l.trim()))
    if (seedPrepare.length - seedCore.length !== 2) throw new Error('prepare_sst.sh no longer has exactly the two expected install lines')
    // Note: the seed script's last line, `[ ! -f ... ] && exit 1`, makes it
    // exit 1 when it succeeded (the test is false, so the list's status is
    // 1); its runs are judged by their result (the files in the config dir).
    const seedCoreFile = join(work, 'seed-prepare-core.sh')
    writeFileSync(seedCoreFile, seedCore.join('\n'))
    const seedCommitFile = join(SEED_DIR, 'commit_local_stage.sh')

    const results = { machine, quick: QUICK, runs: RUNS, oneMbStage: stageOf(ONE_MB), stages: {}, repos: {}, sections: {} }
    for (const st of Object.values(stages)) results.stages[st.stage] = { resources: st.resources, bytes: st.bytes }
    for (const r of Object.values(repos)) results.repos[r.files] = { files: r.files }

    // ---------------------------------------------------------- 1. resolveConfigDir
    say('resolveConfigDir(): in-process vs spawning `bun sst version --verbose`')
    {
      const xdg = join(work, 'xdg-resolve')
      mkdirSync(xdg)
      process.env.XDG_CONFIG_HOME = xdg
      const expected = lib.resolveConfigDir()
      if (expected !== join(xdg, 'sst')) throw new Error(`resolveConfigDir() gave ${expected}`)
      const cwd = repos[smallest].checkout
      const seedWay = `SST_CONFIG=$(bun sst version --verbose | grep config | awk '{split($0,a," "); print a[2]}'); printf '%s\\n' "$SST_CONFIG"`
      const check = (what) => (r) => {
        if (r.stdout.trim() !== expected) throw new Error(`${what} printed ${JSON.stringify(r.stdout)}, expected ${expected}`)
      }
      results.sections.resolve = await rounds(
        [
          {
            key: 'inproc',
            label: 'resolveConfigDir() in-process',
            run: async () => {
              const r = await timeCall(() => {
                let last
                for (let i = 0; i < RESOLVE_CALLS; i++) last = lib.resolveConfigDir()
                return last
              })
              if (r.value !== expected) throw new Error('resolveConfigDir changed its answer')
              return { ms: r.ms / RESOLVE_CALLS, cpuMs: r.cpuMs / RESOLVE_CALLS }
            },
          },
          { key: 'spawn', label: 'seed: `bun sst version --verbose` | grep | awk', run: () => runProcess(['bash', '-c', seedWay], { cwd, env: envFor(xdg), tmp }), verify: check('the seed pipeline') },
          { key: 'cli', label: '`sst-local-state config-dir` (whole process)', run: () => runProcess([CLI, 'config-dir'], { cwd, env: envFor(xdg), tmp }), verify: check('config-dir') },
          { key: 'node', label: '`node -e 0` (runtime baseline)', run: () => runProcess([process.execPath, '-e', '0'], { cwd, env: envFor(xdg), tmp }) },
        ],
        Math.max(RUNS, 5),
      )
      delete process.env.XDG_CONFIG_HOME
    }

    // ---------------------------------------------------------- 2. prepare
    const prepareMethods = (repo, stage, tag) => {
      const st = stages[stage]
      const xdg = join(work, `xdg-prepare-${tag}`)
      const configDir = join(xdg, 'sst')
      const cwd = repo.checkout
      const env = envFor(xdg)
      // where each state file goes (a dry run writes nothing)
      const plan = lib
        .prepareStage({ stage, cwd, configDir, dryRun: true })
        .then((r) => r.files.filter((f) => f.bytes > 0))
      const fresh = () => {
        rmSync(xdg, { recursive: true, force: true })
        mkdirSync(xdg)
        syncDisks()
      }
      const appTarget = join(configDir, 'state', 'app', APP, `${stage}.json`)
      const passTarget = join(configDir, 'state', 'passphrase', APP, `${stage}.json`)
      const checkApp = () => {
        if (statSync(appTarget).size !== st.bytes || !existsSync(passTarget)) throw new Error(`${appTarget}: not prepared`)
      }
      const checkAll = async () => {
        checkApp()
        for (const f of await plan) if (statSync(f.configPath).size !== f.bytes) throw new Error(`${f.configPath}: wrong size`)
      }
      let cpScript
      return [
        { key: `tool:${tag}`, label: 'sst-local-state prepare (whole process)', setup: fresh, run: () => runProcess([CLI, 'prepare', '--stage', stage, '--quiet'], { cwd, env, tmp }), verify: checkAll },
        {
          key: `inproc:${tag}`,
          label: 'prepareStage() in-process',
          setup: fresh,
          run: async () => {
            const r = await timeCall(() => lib.prepareStage({ stage, cwd, configDir }))
            if (r.value.files.filter((f) => f.action === 'written').length !== 5) throw new Error('prepareStage wrote fewer than 5 files')
            return r
          },
          verify: checkAll,
        },
        { key: `seed:${tag}`, label: "seed's prepare core (prepare_sst.sh minus installs)", setup: fresh, run: () => runProcess(['bash', seedCoreFile, stage], { cwd, env, tmp, okStatus: [0, 1] }), verify: checkApp },
        {
          key: `cp:${tag}`,
          label: 'plain mkdir + cp of the same files (floor)',
          setup: async () => {
            fresh()
            if (!cpScript) {
              const files = await plan
              const dirs = [...new Set(files.map((f) => dirname(f.configPath)))]
              cpScript = [`mkdir -p ${dirs.map(shq).join(' ')}`, ...files.map((f) => `cp ${shq(f.repoPath)} ${shq(f.configPath)}`)].join(' && ')
            }
          },
          run: () => runProcess(['sh', '-c', cpScript], { cwd, env, tmp }),
          verify: checkAll,
        },
      ]
    }

    say(`prepare by state size (${STATE_SIZES.map(stageOf).join(', ')}) in the ${smallest.toLocaleString('en-US')}-file checkout`)
    results.sections.prepareState = await rounds(
      STATE_SIZES.flatMap((n) => prepareMethods(repos[smallest], stageOf(n), stageOf(n))),
      RUNS,
      { onRound: (r) => say(`  prepare/state round ${r === 0 ? 'warm-up' : r} done`) },
    )
    say(`prepare by repository size (${REPO_SIZES.join(', ')} files), stage ${stageOf(ONE_MB)}`)
    results.sections.prepareRepo = await rounds(
      REPO_SIZES.flatMap((n) => prepareMethods(repos[n], stageOf(ONE_MB), `f${n}`)),
      RUNS,
      { onRound: (r) => say(`  prepare/repo round ${r === 0 ? 'warm-up' : r} done`) },
    )

    // ---------------------------------------------------------- 3. commit + push
    const commitMethods = async (repo, stage, tag) => {
      const st = stages[stage]
      const xdg = join(work, `xdg-commit-${tag}`)
      const configDir = join(xdg, 'sst')
      const cwd = repo.checkout
      const env = envFor(xdg)
      // The CI machine after the deploy: prepare restored the state, then SST
      // rewrote the checkpoint (~2% of resources updated) and left an update record.
      resetCommitFixture(cwd, repo.bare, repo.base, gitEnv)
      const prepared = await lib.prepareStage({ stage, cwd, configDir })
      const files = prepared.files.filter((f) => f.bytes > 0)
      const appFile = files.find((f) => f.kind === 'app')
      writeFileSync(appFile.configPath, readFileSync(st.deployedFile))
      const updateId = randomBytes(12).toString('hex')
      mkdirSync(join(configDir, 'state', 'update', APP, stage), { recursive: true })
      writeFileSync(join(configDir, 'state', 'update', APP, stage, `${updateId}.json`), JSON.stringify({ id: updateId, version: SST_VERSION, command: 'deploy', errors: null, timeStarted: '2025-11-01T10:00:00Z', timeCompleted: '2025-11-01T10:04:12Z' }))
      const toolDir = join(configDir, 'sst-local-state')
      const toolSnapshot = snapshotTree(toolDir)
      const setup = () => {
        resetCommitFixture(cwd, repo.bare, repo.base, gitEnv)
        restoreTree(toolDir, toolSnapshot)
        syncDisks()
      }
      const verify = () => {
        const tip = git(['rev-parse', 'main'], { cwd: repo.bare, env: gitEnv }).trim()
        if (tip === repo.base) throw new Error(`${tag}: nothing was pushed`)
        const blob = git(['rev-parse', `main:infra/state/app/${stage}.json`], { cwd: repo.bare, env: gitEnv }).trim()
        if (blob !== st.deployedBlob) throw new Error(`${tag}: the pushed checkpoint is ${blob}, expected ${st.deployedBlob}`)
        const parent = git(['rev-parse', 'main^'], { cwd: repo.bare, env: gitEnv }).trim()
        if (parent !== repo.base) throw new Error(`${tag}: the pushed commit's parent is ${parent}, expected ${repo.base}`)
      }
      const rel = (p) => relative(cwd, p)
      const minimal = [
        ...files.map((f) => `cp ${shq(f.configPath)} ${shq(rel(f.repoPath))}`),
        `git add -- ${files.map((f) => shq(rel(f.repoPath))).join(' ')}`,
        `git commit -q -m ${shq(`chore(sst-state): ${APP}/${stage} [skip ci]`)}`,
        'git push -q origin HEAD:main',
      ].join(' && ')
      return [
        {
          key: `tool:${tag}`,
          label: 'sst-local-state commit (whole process)',
          setup,
          run: () => runProcess([CLI, 'commit', '--stage', stage, '--branch', 'main', '--quiet'], { cwd, env, tmp }),
          verify,
          // one more run with --json: the tool's own step timer
          steps: () => {
            setup()
            const r = runProcess([CLI, 'commit', '--stage', stage, '--branch', 'main', '--json'], { cwd, env, tmp })
            verify()
            const report = JSON.parse(r.stdout)
            return { tag, wallMs: r.ms, durationMs: report.durationMs, steps: report.steps }
          },
        },
        { key: `seed:${tag}`, label: "seed's commit_local_stage.sh (git add .)", setup, run: () => runProcess(['bash', seedCommitFile, stage], { cwd, env, tmp }), verify },
        { key: `git:${tag}`, label: 'minimal git CLI (cp, git add <paths>, commit, push)', setup, run: () => runProcess(['sh', '-c', minimal], { cwd, env, tmp }), verify },
      ]
    }

    say(`commit + push by repository size (${REPO_SIZES.join(', ')} files), stage ${stageOf(ONE_MB)}`)
    {
      const methods = []
      for (const n of REPO_SIZES) methods.push(...(await commitMethods(repos[n], stageOf(ONE_MB), `f${n}`)))
      results.sections.commitRepo = await rounds(methods, RUNS, { onRound: (r) => say(`  commit/repo round ${r === 0 ? 'warm-up' : r} done`) })
      results.commitSteps = methods.filter((m) => m.steps).map((m) => m.steps())
    }
    results.sections.commitState = {}
    if (COMMIT_STATE_SIZES.length) {
      say(`commit + push by state size (${COMMIT_STATE_SIZES.map(stageOf).join(', ')}) in the ${smallest.toLocaleString('en-US')}-file repository`)
      const methods = []
      for (const n of COMMIT_STATE_SIZES) methods.push(...(await commitMethods(repos[smallest], stageOf(n), stageOf(n))))
      results.sections.commitState = await rounds(methods, RUNS, { onRound: (r) => say(`  commit/state round ${r === 0 ? 'warm-up' : r} done`) })
      results.commitSteps.push(...methods.filter((m) => m.steps && m.key !== `tool:${stageOf(ONE_MB)}`).map((m) => m.steps()))
    }

    // ---------------------------------------------------------- 3b. run: the stage lock around a command
    say(`run around a no-op command vs prepare + commit (${smallest.toLocaleString('en-US')}-file repository, stage ${stageOf(ONE_MB)})`)
    {
      const repo = repos[smallest]
      const stage = stageOf(ONE_MB)
      const xdg = join(work, 'xdg-run')
      const cwd = repo.checkout
      const env = envFor(xdg)
      const setup = () => {
        resetCommitFixture(cwd, repo.bare, repo.base, gitEnv)
        syncDisks()
      }
      const verify = () => {
        const locks = git(['for-each-ref', '--format=%(refname)', 'refs/heads/sst-local-state/lock/'], { cwd: repo.bare, env: gitEnv }).trim()
        if (locks) throw new Error(`run left a stage lock: ${locks}`)
      }
      const args = (command) => [command, '--stage', stage, '--branch', 'main', '--quiet']
      results.sections.run = await rounds(
        [
          {
            key: 'pc',
            label: '`prepare` + `commit` (two processes, nothing to save)',
            setup,
            run: () => runProcess(['sh', '-c', [args('prepare'), args('commit')].map((a) => [CLI, ...a].map(shq).join(' ')).join(' && ')], { cwd, env, tmp }),
            verify,
          },
          {
            key: 'run',
            label: '`run -- true` (lock, prepare, the command, commit, unlock)',
            setup,
            run: () => runProcess([CLI, ...args('run'), '--', 'true'], { cwd, env, tmp }),
            verify,
          },
        ],
        RUNS,
        { onRound: (r) => say(`  run round ${r === 0 ? 'warm-up' : r} done`) },
      )
    }

    // ---------------------------------------------------------- 4. where prepare's time goes
    const biggest = stageOf(Math.max(...STATE_SIZES))
    say(`profile of prepare (${biggest}) with strace`)
    {
      const xdg = join(work, 'xdg-profile')
      results.profile = profilePrepare({ cli: CLI, stage: biggest, cwd: repos[smallest].checkout, xdg, env: envFor(xdg), tmp, runs: QUICK ? 1 : 3, checkpointBytes: stages[biggest].bytes })
    }

    // ---------------------------------------------------------- 5. history
    say('history over 10,000 commits vs `git log --format=%H -- <paths>`')
    results.history = await historySection({ lib, cli: CLI, work, tmp, env: { ...gitEnv, XDG_CONFIG_HOME: join(work, 'xdg-history') }, runs: RUNS })

    results.elapsedS = Math.round((Date.now() - started) / 1000)
    results.machine.loadEnd = loadavg().map((x) => x.toFixed(2)).join(' ')
    const { markdown, table } = renderReport(results, { quick: QUICK })
    process.stdout.write(`${table}\n`)
    if (WRITE) {
      writeFileSync(join(REPO_ROOT, 'BENCHMARKS.md'), markdown)
      writeFileSync(join(REPO_ROOT, 'bench', 'results.json'), `${JSON.stringify(results, null, 2)}\n`)
      say('wrote BENCHMARKS.md and bench/results.json')
    } else {
      say('quick run: nothing written (add --write to write BENCHMARKS.md and bench/results.json)')
    }
  } finally {
    process.removeListener('exit', cleanup)
    cleanup()
  }
}

main().catch((err) => {
  console.error(err?.stack ?? String(err))
  process.exitCode = 1
})
