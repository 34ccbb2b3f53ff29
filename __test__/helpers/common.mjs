// The generic helpers of every JS test file: temp dirs removed by cleanup(),
// an environment isolated from the machine's git config and CI variables,
// the CLI and git as child processes (sync and async), assertOk, directory
// snapshots. Works under `node --test` and `bun test`.
//
// Nothing here registers test hooks: bun runs every test file in one
// process, sharing this module. Each test file calls `after(cleanup)`
// itself; cleanup() leaves the module ready for the next file.
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'

import { REPO_ROOT } from './sst.mjs'

/** Options for a test that runs real servers, git or SST (bun's default is 5 s). */
export const SLOW = { timeout: 600_000 }
/** The bin shim, run with node (or bun) as a pipeline step runs it. */
export const CLI = join(REPO_ROOT, 'cli.js')

// ------------------------------------------------------------ temp, cleanup --

const temps = []
const resets = []

/** A new directory under os.tmpdir(), removed by cleanup(). */
export function tempDir(prefix) {
  return removeAtCleanup(mkdtempSync(join(tmpdir(), prefix)))
}

/** Has cleanup() remove `dir` (made elsewhere, e.g. by makeSstProject()); returns it. */
export function removeAtCleanup(dir) {
  temps.push(dir)
  return dir
}

/**
 * Registers `reset`, run by every cleanup() before the temp dirs go: a helper
 * module's way to stop its servers and forget what it cached (once, at load).
 */
export function onCleanup(reset) {
  resets.push(reset)
}

/** Each test file's `after(cleanup)`: resets the helper modules, removes the temp dirs. */
export function cleanup() {
  for (const reset of resets) reset()
  for (const dir of temps.splice(0)) rmSync(dir, { recursive: true, force: true })
}

// ---------------------------------------------------------------- isolation --

// libgit2 and git read ~/.gitconfig and $XDG_CONFIG_HOME/git/config: an empty
// HOME and XDG dir keep the developer's and the machine's git config out.
export const HOME = mkdtempSync(join(tmpdir(), 'sls-test-home-'))
process.on('exit', () => rmSync(HOME, { recursive: true, force: true }))

/**
 * process.env without git, ssh-agent, SST, XDG and CI variables, with an
 * empty HOME, no system or global git config and no prompts.
 */
export const BASE_ENV = (() => {
  const env = { ...process.env }
  const drop =
    /^(GIT_|SSH_ASKPASS$|SSH_AUTH_SOCK$|SSH_AGENT_PID$|SST_|XDG_|GITHUB_|GITLAB_|CI$|CI_|TF_BUILD$|BUILD_|SYSTEM_|BITBUCKET_|BUILDKITE|CIRCLE|BRANCH$)/
  for (const key of Object.keys(env)) if (drop.test(key)) delete env[key]
  return Object.assign(env, {
    HOME,
    XDG_CONFIG_HOME: join(HOME, '.config'),
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_TERMINAL_PROMPT: '0',
  })
})()

/**
 * The CI variables of the machine the tests run on (GitHub's runner sets
 * CI=true and GITHUB_*) would make every in-process call behave as in CI
 * (new stages refused, CI branch variables read): the tests set the CI they
 * simulate themselves. Removed from this process's environment (Node passes
 * that to the addon; Bun does not, so scripts/test.sh also runs the test
 * runners without them).
 */
export const CI_VARS = /^(GITHUB_|GITLAB_|CI$|CI_|TF_BUILD$|BUILD_|SYSTEM_|BITBUCKET_|BUILDKITE|CIRCLE)/
for (const key of Object.keys(process.env)) if (CI_VARS.test(key)) delete process.env[key]

/** BASE_ENV with a fixed author and committer, for the test's own git commands. */
export const GIT_ENV = {
  ...BASE_ENV,
  GIT_AUTHOR_NAME: 'Test',
  GIT_AUTHOR_EMAIL: 'test@example.com',
  GIT_COMMITTER_NAME: 'Test',
  GIT_COMMITTER_EMAIL: 'test@example.com',
}

// ---------------------------------------------------------- child processes --

/**
 * Runs `cmd` without blocking this process (needed while a server runs in
 * it); stdin is empty. `timeout`: SIGKILL after that many ms.
 * Resolves to { status, signal, stdout, stderr }.
 */
export function spawnAsync(cmd, args, { cwd, env, timeout } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    child.on('error', reject)
    const timer = timeout === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), timeout)
    child.on('close', (status, signal) => {
      clearTimeout(timer)
      resolve({ status, signal, stdout, stderr })
    })
  })
}

/** `node <args>` (bun under `bun test`) in BASE_ENV + `env`: { status, signal, stdout, stderr }. */
export function node(args, cwd, env = {}, { runtime = process.execPath } = {}) {
  const res = spawnSync(runtime, args, { cwd, env: { ...BASE_ENV, ...env }, encoding: 'utf8' })
  if (res.error) throw res.error
  return { status: res.status, signal: res.signal, stdout: res.stdout, stderr: res.stderr }
}

/** With --json among the arguments: stdout parsed (undefined when it is not JSON: asserted by the caller). */
function withJson(args, res) {
  let json
  if (args.includes('--json')) {
    try {
      json = JSON.parse(res.stdout)
    } catch {
      // not JSON (killed, or a crash): the caller asserts
    }
  }
  return { ...res, json }
}

/**
 * Runs cli.js in BASE_ENV + `env`: { status, signal, stdout, stderr, json }.
 * `runtime`: the JS runtime to run it with (default: this one).
 */
export function cli(args, cwd, env = {}, { runtime } = {}) {
  return withJson(args, node([CLI, ...args], cwd, env, { runtime }))
}

/** cli() without blocking this process; `killAfterMs`: SIGKILL it then. */
export async function cliAsync(args, cwd, env = {}, { killAfterMs } = {}) {
  const res = await spawnAsync(process.execPath, [CLI, ...args], { cwd, env: { ...BASE_ENV, ...env }, timeout: killAfterMs })
  return withJson(args, res)
}

/**
 * Asserts exit status 0, showing the output otherwise; returns `res`.
 * `stdout: false` leaves stdout out of that message (it may hold secrets).
 */
export function assertOk(res, what, { stdout = true } = {}) {
  assert.equal(res.status, 0, `${what} failed (exit ${res.status}):\n${stdout ? `${res.stdout}\n` : ''}${res.stderr}`)
  return res
}

// ---------------------------------------------------------------------- git --

/**
 * git in GIT_ENV. `opts`: the working directory, or { cwd, env (added to
 * GIT_ENV), timeout (ms, default 120 s; then SIGKILL and `timedOut`), buffer
 * (stdout as bytes) }. Returns spawnSync's result plus `ms` and `timedOut`.
 */
export function git(args, opts = {}) {
  const { cwd, env = {}, timeout = 120_000, buffer = false } = typeof opts === 'string' ? { cwd: opts } : opts
  const started = Date.now()
  const res = spawnSync('git', args, {
    cwd,
    env: { ...GIT_ENV, ...env },
    encoding: buffer ? 'buffer' : 'utf8',
    timeout,
    killSignal: 'SIGKILL',
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  if (res.error && res.error.code !== 'ETIMEDOUT') throw res.error
  return { ...res, ms: Date.now() - started, timedOut: res.error?.code === 'ETIMEDOUT' }
}

/** git() that must succeed; its stdout without trailing white space (`git status --porcelain` starts with spaces). */
export function gitOk(args, opts) {
  const res = git(args, opts)
  assert.equal(res.status, 0, `git ${args.join(' ')} failed:\n${res.stderr}`)
  return res.stdout.replace(/\s+$/, '')
}

/** git() that must fail; its stderr. */
export function gitFails(args, opts) {
  const res = git(args, opts)
  assert.notEqual(res.status, 0, `git ${args.join(' ')} unexpectedly succeeded`)
  return res.stderr
}

/** git() without blocking this process (a server in it must answer); `timeout` default 20 s. */
export function gitAsync(args, { cwd, env = {}, timeout = 20_000 } = {}) {
  return spawnAsync('git', args, { cwd, env: { ...GIT_ENV, ...env }, timeout })
}

/** The commit `rev` names in a bare repo (or a `.git` dir), or with `bare: false` in a worktree. */
export function revParse(bareOrWork, rev = 'main', { bare = true } = {}) {
  return bare ? gitOk(['--git-dir', bareOrWork, 'rev-parse', rev]) : gitOk(['rev-parse', rev], bareOrWork)
}

let localRepos = 0
/** A new repo under `parent` with one commit on main: state.json holding `content`. */
export function localRepo(parent, content = 'hello') {
  const dir = join(parent, `local-${++localRepos}`)
  gitOk(['init', '-q', '-b', 'main', dir])
  writeFileSync(join(dir, 'state.json'), `${content}\n`)
  gitOk(['add', 'state.json'], dir)
  gitOk(['commit', '-q', '-m', content], dir)
  return dir
}

// ---------------------------------------------------------------- snapshots --

/** Every file below `dir` with its content, `.git` left out (for "nothing changed" checks). */
export function snapshot(dir) {
  const out = {}
  const walk = (d) => {
    if (!existsSync(d)) return
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name)
      if (e.name === '.git') continue
      if (e.isDirectory()) walk(p)
      else out[relative(dir, p)] = readFileSync(p).toString('base64')
    }
  }
  walk(dir)
  return out
}
