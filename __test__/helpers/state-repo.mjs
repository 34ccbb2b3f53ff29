// Shared by the commit and safety tests: an isolated git environment, the
// local smart-HTTP git server, a seeded state repository, CI-style clones,
// the CLI, and "other pipelines" that move the branch.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'

import { startGitServer } from './git-server.mjs'
import { EXAMPLE_DIR, REPO_ROOT } from './sst.mjs'

export const SLOW = { timeout: 600_000 }
export const CLI = join(REPO_ROOT, 'cli.js')
export const STATE = 'infra/state/app/dev.json'
export const SUBJECT = /^chore\(sst-state\): demo-app\/dev .*\[skip ci\]$/

export const temps = []
let server

/**
 * Stops the server and removes the temp dirs: each test file calls
 * `after(cleanup)` (bun runs every file in one process, sharing this
 * module: the next file starts a new server and seeds a new repo).
 */
export function cleanup() {
  server?.stop()
  server = undefined
  seedDir = undefined
  for (const dir of temps.splice(0)) rmSync(dir, { recursive: true, force: true })
}

export function tempDir(prefix) {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  temps.push(dir)
  return dir
}

/** One git server for the whole file, started by the first test needing it. */
export async function gitServer() {
  server ??= await startGitServer()
  return server
}

// ---------------------------------------------------------------- isolation --

// libgit2 reads ~/.gitconfig and $XDG_CONFIG_HOME/git/config: an empty HOME
// and XDG dir keep the developer's and the machine's git config out.
export const HOME = mkdtempSync(join(tmpdir(), 'sls-commit-home-'))
process.on('exit', () => rmSync(HOME, { recursive: true, force: true }))
export const BASE_ENV = (() => {
  const env = { ...process.env }
  const drop = /^(GIT_|SSH_ASKPASS$|SSH_AUTH_SOCK$|SST_|XDG_|GITHUB_|GITLAB_|CI$|CI_|TF_BUILD$|BUILD_|SYSTEM_|BITBUCKET_|BUILDKITE|CIRCLE|BRANCH$)/
  for (const key of Object.keys(env)) if (drop.test(key)) delete env[key]
  return Object.assign(env, {
    HOME,
    XDG_CONFIG_HOME: join(HOME, '.config'),
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_TERMINAL_PROMPT: '0',
  })
})()
export const GIT_ENV = {
  ...BASE_ENV,
  GIT_AUTHOR_NAME: 'Test',
  GIT_AUTHOR_EMAIL: 'test@example.com',
  GIT_COMMITTER_NAME: 'Test',
  GIT_COMMITTER_EMAIL: 'test@example.com',
}

export function git(args, cwd, { buffer = false } = {}) {
  const res = spawnSync('git', args, { cwd, env: GIT_ENV, encoding: buffer ? 'buffer' : 'utf8' })
  if (res.error) throw res.error
  return res
}

export function gitOk(args, cwd) {
  const res = git(args, cwd)
  assert.equal(res.status, 0, `git ${args.join(' ')} failed:\n${res.stderr}`)
  return res.stdout.replace(/\s+$/, '') // keep leading spaces: `git status --porcelain` has them
}

/** `git show <rev>:<path>` in a bare repo, as bytes (null when absent). */
export function showBlob(bare, rev, path = STATE) {
  const res = git(['--git-dir', bare, 'show', `${rev}:${path}`], undefined, { buffer: true })
  return res.status === 0 ? res.stdout : null
}

export function revParse(bareOrWork, rev = 'main', { bare = true } = {}) {
  return bare ? gitOk(['--git-dir', bareOrWork, 'rev-parse', rev]) : gitOk(['rev-parse', rev], bareOrWork)
}

/** Runs cli.js; `json` parsed when --json was passed and stdout is JSON. */
export function cli(args, cwd, extraEnv = {}) {
  const res = spawnSync(process.execPath, [CLI, ...args], { cwd, env: { ...BASE_ENV, ...extraEnv }, encoding: 'utf8' })
  if (res.error) throw res.error
  let json
  if (args.includes('--json')) {
    try {
      json = JSON.parse(res.stdout)
    } catch {
      // asserted by the caller
    }
  }
  return { status: res.status, stdout: res.stdout, stderr: res.stderr, json }
}

export function commitCli(dir, configDir, extra = [], env = {}) {
  return cli(['commit', '--stage', 'dev', '--config-dir', configDir, ...extra], dir, env)
}

export function assertOk(res, what) {
  assert.equal(res.status, 0, `${what} failed (exit ${res.status}):\n${res.stdout}\n${res.stderr}`)
  return res
}

// -------------------------------------------------------------------- state --

export function checkpoint(resources, tag = 'x') {
  const list = [{ urn: 'urn:pulumi:dev::demo-app::pulumi:pulumi:Stack::demo-app-dev', custom: false, type: 'pulumi:pulumi:Stack' }]
  for (let i = 1; i < resources; i++) {
    list.push({ urn: `urn:pulumi:dev::demo-app::sst:aws:Bucket::${tag}${i}`, custom: true, type: 'sst:aws:Bucket', id: `${tag}-${i}` })
  }
  return JSON.stringify({ version: 3, checkpoint: { stack: 'organization/demo-app/dev', latest: { resources: list } } }, null, 2)
}

/** Where SST reads the stage's checkpoint in config dir `configDir`. */
export const configCheckpoint = (configDir) => join(configDir, 'state', 'app', 'demo-app', 'dev.json')

/** What "SST" leaves after a deploy: a new checkpoint in the config dir. Returns its bytes. */
export function deploy(configDir, resources, tag) {
  writeFileSync(configCheckpoint(configDir), checkpoint(resources, tag))
  return readFileSync(configCheckpoint(configDir))
}

let seedDir
/** A local repo: examples/basic + infra/state for dev (1 resource), one commit on main. */
export function seed() {
  if (seedDir) return seedDir
  const dir = tempDir('sls-seed-')
  cpSync(EXAMPLE_DIR, dir, { recursive: true, filter: (src) => !/[/\\](\.sst|node_modules)$/.test(src) })
  mkdirSync(join(dir, 'infra', 'state', 'passphrase'), { recursive: true })
  mkdirSync(join(dir, 'infra', 'state', 'app'), { recursive: true })
  writeFileSync(join(dir, 'infra', 'state', 'passphrase', 'dev.json'), randomBytes(32).toString('base64'))
  writeFileSync(join(dir, STATE), checkpoint(1))
  writeFileSync(join(dir, 'README.md'), '# demo\n')
  gitOk(['init', '-q', '-b', 'main'], dir)
  gitOk(['add', '-A'], dir)
  gitOk(['commit', '-q', '-m', 'initial'], dir)
  seedDir = dir
  return dir
}

/** A fresh server repo holding the seed on main. */
export async function seededRepo(name) {
  const srv = await gitServer()
  const repo = srv.newRepo(name)
  gitOk(['push', '-q', repo.open, 'main'], seed())
  return repo
}

/** A CI checkout: shallow clone, detached HEAD. `config` is passed as `git -c` (not persisted). */
export function ciClone(url, { config = [], shallow = true } = {}) {
  const dir = join(tempDir('sls-ci-'), 'checkout')
  gitOk([...config.flatMap((c) => ['-c', c]), 'clone', '-q', ...(shallow ? ['--depth', '1'] : []), url, dir])
  gitOk(['checkout', '-q', '--detach'], dir)
  return dir
}

/** `prepare` into a fresh config dir; returns the config dir. */
export function prepare(dir) {
  const configDir = join(tempDir('sls-cfg-'), 'sst')
  assertOk(cli(['prepare', '--stage', 'dev', '--config-dir', configDir], dir), 'prepare')
  assert.ok(existsSync(configCheckpoint(configDir)))
  return configDir
}

/** A commit by "another pipeline" on top of main, pushed to `ref` (refs/other/next); returns its id. */
export function otherPipeline(repo, path, content, ref = 'refs/other/next') {
  const dir = join(tempDir('sls-other-'), 'other')
  gitOk(['clone', '-q', repo.open, dir])
  mkdirSync(dirname(join(dir, path)), { recursive: true })
  writeFileSync(join(dir, path), content)
  gitOk(['add', path], dir)
  gitOk(['commit', '-q', '-m', `other pipeline: ${path}`], dir)
  gitOk(['push', '-q', repo.open, `HEAD:${ref}`], dir)
  return revParse(dir, 'HEAD', { bare: false })
}

/**
 * A pre-receive hook that, once (while `<repo>/race-once` exists), moves main
 * to refs/other/next: the ref moves between our fetch and our push, exactly
 * like a concurrent pipeline. (Ref updates are refused inside git's object
 * quarantine, hence `env -u GIT_QUARANTINE_PATH`; refs/other/next's objects
 * are already in the main object store.)
 */
export function raceOnce(repo) {
  const hook = join(repo.path, 'hooks', 'pre-receive')
  const marker = join(repo.path, 'race-once')
  mkdirSync(dirname(hook), { recursive: true })
  writeFileSync(
    hook,
    `#!/bin/sh
if [ -f '${marker}' ]; then
  rm -f '${marker}'
  env -u GIT_QUARANTINE_PATH git update-ref refs/heads/main "$(git rev-parse refs/other/next)" || exit 1
fi
cat >/dev/null
exit 0
`,
  )
  chmodSync(hook, 0o755)
  writeFileSync(marker, '')
  return marker
}

/**
 * After a commit built on a remote tip that is ahead of the checkout, the
 * checkout must not claim to undo the other pipeline's work: either HEAD
 * stayed (only our state file shows as modified) or HEAD moved to our commit
 * and the worktree and index hold the other pipeline's files too. Never an
 * index that stages the reverse of the other pipeline's commit.
 */
export function assertCheckoutConsistent(dir, report, tip) {
  const head = revParse(dir, 'HEAD', { bare: false })
  const staged = gitOk(['diff', '--cached', '--name-status'], dir)
  assert.equal(staged, '', `the index differs from HEAD (headUpdated ${report.headUpdated}):\n${staged}`)
  const status = gitOk(['status', '--porcelain'], dir)
  if (report.headUpdated) {
    assert.equal(head, tip)
    assert.equal(status, '')
    assert.equal(readFileSync(join(dir, 'README-other.md'), 'utf8'), 'other pipeline\n')
  } else {
    assert.notEqual(head, tip)
    assert.equal(status, ` M ${STATE}`)
  }
}

/** Paths changed by a commit. */
export function changedPaths(bare, rev) {
  return gitOk(['--git-dir', bare, 'diff-tree', '--no-commit-id', '--name-only', '-r', rev]).split('\n').filter(Boolean)
}

