// Shared by the commit, safety and transport tests: the local smart-HTTP
// git server, a seeded state repository, CI-style clones, the CLI's prepare
// and commit, and "other pipelines" that move the branch. Builds on
// common.mjs (temp dirs, isolated env, cli, git); its cached server and seed
// are reset by common.mjs's cleanup(), which each test file runs `after`.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { chmodSync, cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'

import { assertOk, cli, git, gitOk, onCleanup, revParse, tempDir } from './common.mjs'
import { startGitServer } from './git-server.mjs'
import { EXAMPLE_DIR } from './sst.mjs'

export const STATE = 'infra/state/app/dev.json'
export const SUBJECT = /^chore\(sst-state\): demo-app\/dev .*\[skip ci\]$/

let server
let seedDir

// bun runs every test file in one process, sharing this module: the next
// file starts a new server and seeds a new repo.
onCleanup(() => {
  server?.stop()
  server = undefined
  seedDir = undefined
})

/** One git server for the whole file, started by the first test needing it. */
export async function gitServer() {
  server ??= await startGitServer()
  return server
}

/** `git show <rev>:<path>` in a bare repo, as bytes (null when absent). */
export function showBlob(bare, rev, path = STATE) {
  const res = git(['--git-dir', bare, 'show', `${rev}:${path}`], { buffer: true })
  return res.status === 0 ? res.stdout : null
}

export function commitCli(dir, configDir, extra = [], env = {}) {
  return cli(['commit', '--stage', 'dev', '--config-dir', configDir, ...extra], dir, env)
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
 * A `hook` (pre-receive or post-receive) in the server's repo that, once, on
 * the first push with a command line (`<old> <new> <ref>`) matching the
 * extended regex `line`, holds that push until resume(): the pushing process
 * waits there while the test runs other processes against the server.
 * pre-receive runs after git checked the push's leases and before the
 * server's transaction (no ref is locked yet); post-receive after the refs
 * were updated, before the pusher goes on. Gives up after 60 s.
 * `reached(running)`: resolves once a push is held (rejects when `running`,
 * the pusher's promise, settles first).
 */
export function pauseOnce(repo, hook, line) {
  const path = join(repo.path, 'hooks', hook)
  const marker = join(repo.path, 'pause-once')
  const held = join(repo.path, 'pause-held')
  const go = join(repo.path, 'pause-go')
  mkdirSync(dirname(path), { recursive: true })
  writeFileSync(
    path,
    `#!/bin/sh
input=$(cat)
if [ -f '${marker}' ] && printf '%s\n' "$input" | grep -Eq '${line}'; then
  rm -f '${marker}'
  : >'${held}'
  i=0
  while [ ! -f '${go}' ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
fi
exit 0
`,
  )
  chmodSync(path, 0o755)
  writeFileSync(marker, '')
  return {
    async reached(running) {
      let settled = false
      running.then(() => (settled = true), () => (settled = true))
      const end = Date.now() + 60_000
      while (!existsSync(held)) {
        if (settled) throw new Error(`the ${hook} hook held no push: the process ended first`)
        if (Date.now() > end) throw new Error(`the ${hook} hook held no push within 60 s`)
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
    },
    resume() {
      writeFileSync(go, '')
    },
  }
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

