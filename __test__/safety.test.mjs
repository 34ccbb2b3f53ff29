// Data safety with several processes at once and kills half-way, over the
// real smart-HTTP git server (nginx + git-http-backend), through the CLI as
// a pipeline step runs it: different stages committing at once, same-stage
// races (one winner, a rescue branch of its own for each loser), a rescue
// push the server refuses, the user's own commit made during a commit,
// SIGKILL at random points of prepare and commit, concurrent prepares into
// one config dir, and symlinked state folders.
// Runs under `node --test` and `bun test`.
import { test, describe, after } from 'node:test'
import assert from 'node:assert/strict'
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, symlinkSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'

import { SLOW, assertOk, cleanup, cli, cliAsync, git, gitOk, revParse, tempDir } from './helpers/common.mjs'
import { STATE, checkpoint, ciClone, configCheckpoint, deploy, prepare, seededRepo, showBlob } from './helpers/state-repo.mjs'

after(cleanup)

const commitArgs = (stage, configDir, extra = []) => ['commit', '--stage', stage, '--config-dir', configDir, '--branch', 'main', '--json', ...extra]

/** Every file below `dir` whose name is one of our temporary files. */
function ourTempFiles(dir) {
  const found = []
  const walk = (d) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const path = join(d, entry.name)
      if (entry.isDirectory()) walk(path)
      else if (/sst-local-state-.*\.tmp$/.test(entry.name)) found.push(path)
    }
  }
  walk(dir)
  return found
}

/** Waits (at most 20 s) until `git fsck` of the server repo passes: a push whose client was killed may still be running on the server. */
async function settled(repo) {
  let fsck
  for (let i = 0; i < 100; i++) {
    fsck = git(['--git-dir', repo.path, 'fsck', '--no-progress', '--no-dangling'])
    if (fsck.status === 0) return
    await new Promise((r) => setTimeout(r, 200))
  }
  assert.fail(`the server repository is broken:\n${fsck.stdout}${fsck.stderr}`)
}

/** A pre-receive hook; `body` is shell run once per pushed ref with $old $new $ref set. */
function hook(repo, body) {
  const path = join(repo.path, 'hooks', 'pre-receive')
  mkdirSync(dirname(path), { recursive: true })
  writeFileSync(path, `#!/bin/sh\nwhile read old new ref; do\n${body}\ndone\nexit 0\n`)
  chmodSync(path, 0o755)
}

describe('several pipelines at once over HTTP', () => {
  test('six stages committing at once all land; nothing is a conflict', SLOW, async () => {
    const repo = await seededRepo('six-stages')
    const stages = ['s1', 's2', 's3', 's4', 's5', 's6']
    const runs = stages.map((stage) => {
      const dir = ciClone(repo.open)
      const configDir = join(tempDir('sls-cfg-'), 'sst')
      assertOk(cli(['prepare', '--stage', stage, '--config-dir', configDir], dir), `prepare ${stage}`)
      const file = join(configDir, 'state', 'app', 'demo-app', `${stage}.json`)
      mkdirSync(dirname(file), { recursive: true })
      writeFileSync(file, checkpoint(3, stage))
      const passphrase = join(configDir, 'state', 'passphrase', 'demo-app', `${stage}.json`)
      mkdirSync(dirname(passphrase), { recursive: true })
      writeFileSync(passphrase, Buffer.alloc(32, stage.charCodeAt(1)).toString('base64'))
      return { stage, dir, configDir, bytes: readFileSync(file) }
    })
    // (new stages' passphrases in plain text: this test is about the races)
    const plain = { SST_LOCAL_STATE_PLAINTEXT_PASSPHRASE: '1' }
    const results = await Promise.all(runs.map((r) => cliAsync(commitArgs(r.stage, r.configDir), r.dir, plain)))
    for (const [i, res] of results.entries()) {
      assert.equal(res.status, 0, `${stages[i]}: exit ${res.status}\n${res.stdout}\n${res.stderr}`)
      assert.equal(res.json.pushed, true)
    }
    for (const r of runs) assert.deepEqual(showBlob(repo.path, 'main', `infra/state/app/${r.stage}.json`), r.bytes, r.stage)
    // one state commit per stage on main, no rescue branch
    const subjects = gitOk(['--git-dir', repo.path, 'log', '--format=%s', 'main']).split('\n')
    assert.equal(subjects.filter((s) => s.startsWith('chore(sst-state)')).length, stages.length)
    assert.equal(gitOk(['--git-dir', repo.path, 'branch', '--list', 'sst-local-state/*']), '')
  })

  test('five runs of one stage at once: one winner, every loser on a rescue branch of its own with its own bytes', SLOW, async () => {
    const repo = await seededRepo('same-stage-five')
    const runs = [0, 1, 2, 3, 4].map((i) => {
      const dir = ciClone(repo.open)
      const configDir = prepare(dir)
      return { dir, configDir, bytes: deploy(configDir, 2 + i, `run${i}`) }
    })
    const results = await Promise.all(runs.map((r) => cliAsync(commitArgs('dev', r.configDir), r.dir)))
    const winners = results.filter((r) => r.status === 0)
    assert.equal(winners.length, 1, results.map((r) => `${r.status} ${r.stdout}`).join('\n'))
    const winner = results.findIndex((r) => r.status === 0)
    assert.deepEqual(showBlob(repo.path, 'main'), runs[winner].bytes)
    const rescues = new Set()
    for (const [i, res] of results.entries()) {
      if (i === winner) continue
      assert.equal(res.status, 4, res.stdout)
      assert.equal(res.json.error.code, 'STATE_CONFLICT')
      const branch = res.json.error.rescueBranch
      assert.ok(branch, res.json.error.message)
      rescues.add(branch)
      assert.deepEqual(showBlob(repo.path, `refs/heads/${branch}`), runs[i].bytes, `${branch} holds another run's state`)
      // the loser's state is untouched in its config dir too
      assert.deepEqual(readFileSync(configCheckpoint(runs[i].configDir)), runs[i].bytes)
    }
    assert.equal(rescues.size, results.length - 1, 'two losers share a rescue branch')
  })

  test('a rescue push the server refuses fails loudly: no rescueBranch, the state kept on a local branch', SLOW, async () => {
    const repo = await seededRepo('rescue-refused')
    const dir = ciClone(repo.open)
    const configDir = prepare(dir)
    const ours = deploy(configDir, 2, 'ours')
    // another pipeline's state is on main already; the server refuses rescue branches
    const other = ciClone(repo.open)
    const otherCfg = prepare(other)
    deploy(otherCfg, 4, 'theirs')
    assertOk(cli(commitArgs('dev', otherCfg), other), 'the other pipeline')
    hook(repo, `case "$ref" in refs/heads/sst-local-state/*) echo "rescue branches are not allowed here" >&2; exit 1;; esac`)

    const res = await cliAsync(commitArgs('dev', configDir), dir)
    assert.equal(res.status, 4, res.stdout + res.stderr)
    assert.equal(res.json.error.code, 'STATE_CONFLICT')
    assert.equal(res.json.error.rescueBranch, undefined, 'a rescue branch is claimed though its push failed')
    assert.match(res.json.error.message, /FAILED/)
    assert.match(res.json.error.message, /only on this machine/)
    const local = /RESCUE BRANCH (\S+) FAILED/.exec(res.json.error.message)?.[1]
    assert.ok(local, res.json.error.message)
    assert.deepEqual(showBlob(join(dir, '.git'), `refs/heads/${local}`), ours)
    assert.deepEqual(readFileSync(configCheckpoint(configDir)), ours)
  })
})

describe("the user's own work", () => {
  test('a commit the user makes while commit runs stays on the branch (HEAD is compare-and-swapped)', SLOW, async () => {
    const repo = await seededRepo('user-commit-during-run')
    const dir = join(tempDir('sls-dev-'), 'work')
    gitOk(['clone', '-q', repo.open, dir]) // a developer's checkout: branch main attached
    const configDir = prepare(dir)
    const ours = deploy(configDir, 2, 'deployed')
    // while our push is being received, the user commits in the checkout
    const once = join(repo.path, 'user-commit-once')
    writeFileSync(once, '')
    hook(
      repo,
      `if [ "$ref" = refs/heads/main ] && [ -f '${once}' ]; then
  rm -f '${once}'
  env -i PATH="$PATH" HOME="$HOME" GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null git -C '${dir}' -c user.name=User -c user.email=user@example.com commit -q --allow-empty -m "the user's own commit" || exit 1
fi`,
    )
    const res = await cliAsync(commitArgs('dev', configDir), dir)
    assert.equal(res.status, 0, res.stdout + res.stderr)
    assert.ok(!existsSync(once), 'the hook did not run')
    assert.equal(res.json.pushed, true)
    assert.deepEqual(showBlob(repo.path, 'main'), ours)
    const subject = gitOk(['log', '-1', '--format=%s', 'main'], dir)
    assert.equal(subject, "the user's own commit", 'the user\'s commit was moved off the branch')
    assert.equal(res.json.headUpdated, false)
    assert.ok(
      res.json.warnings.some((w) => w.code === 'HEAD_MOVED' && /HEAD moved while this run committed/.test(w.message)),
      JSON.stringify(res.json.warnings),
    )
  })
})

describe('SIGKILL half-way', () => {
  test('killed prepares never leave a torn or mixed file; killed commits never a torn remote nor a stray file', SLOW, async () => {
    const repo = await seededRepo('kills')
    const dir = ciClone(repo.open)
    // a checkpoint of a few MB makes the write window wide
    const big = checkpoint(20000, 'big')
    const configDir = prepare(dir)
    writeFileSync(configCheckpoint(configDir), big)
    assertOk(cli(commitArgs('dev', configDir), dir), 'first commit')

    // prepare into a fresh config dir, killed at random points
    const fresh = join(tempDir('sls-kill-cfg-'), 'sst')
    const timed = Date.now()
    assertOk(await cliAsync(['prepare', '--stage', 'dev', '--config-dir', join(tempDir('sls-probe-'), 'sst')], dir), 'probe prepare')
    const prepareMs = Date.now() - timed
    for (let i = 0; i < 12; i++) {
      const res = await cliAsync(['prepare', '--stage', 'dev', '--config-dir', fresh, '--json'], dir, {}, { killAfterMs: Math.floor(Math.random() * prepareMs * 1.2) })
      const file = configCheckpoint(fresh)
      if (existsSync(file)) assert.equal(readFileSync(file, 'utf8'), big, `round ${i}: torn checkpoint (${res.signal ?? res.status})`)
      assert.equal(res.signal === null ? res.status : 0, 0, res.stdout + res.stderr)
    }
    assertOk(cli(['prepare', '--stage', 'dev', '--config-dir', fresh], dir), 'prepare after the kills')
    assert.equal(readFileSync(configCheckpoint(fresh), 'utf8'), big)
    assert.deepEqual(ourTempFiles(fresh), [], 'a later prepare leaves no temp file of a killed one')

    // commits killed at random points, each with a new deploy
    const t0 = Date.now()
    deploy(configDir, 3, 'probe')
    assertOk(await cliAsync(commitArgs('dev', configDir), dir), 'probe commit')
    const commitMs = Date.now() - t0
    let last
    for (let i = 0; i < 12; i++) {
      last = deploy(configDir, 4 + i, `kill${i}`)
      const res = await cliAsync(commitArgs('dev', configDir), dir, {}, { killAfterMs: Math.floor(Math.random() * commitMs * 1.2) })
      if (res.signal === null) assert.equal(res.status, 0, res.stdout + res.stderr)
      // the server may still be finishing the killed run's push: let it
      // settle; then it holds a whole checkpoint, ours or an earlier one
      await settled(repo)
      JSON.parse(showBlob(repo.path, 'main').toString())
      // nothing of ours lies in the worktree for `git add -A` to pick up
      const untracked = gitOk(['status', '--porcelain', '--untracked-files=all'], dir)
      assert.ok(!/sst-local-state-.*\.tmp/.test(untracked), untracked)
      assert.deepEqual(readFileSync(configCheckpoint(configDir)), last, 'the config dir lost the deploy')
    }
    const final = assertOk(await cliAsync(commitArgs('dev', configDir), dir), 'commit after the kills')
    assert.deepEqual(showBlob(repo.path, 'main'), last)
    // never an empty commit: every state commit on main changes the state
    for (const rev of gitOk(['--git-dir', repo.path, 'rev-list', 'main']).split('\n').slice(0, -1)) {
      const changed = gitOk(['--git-dir', repo.path, 'diff-tree', '--no-commit-id', '--name-only', '-r', rev])
      assert.notEqual(changed, '', `${rev} is an empty commit`)
    }
    assert.equal(final.json.pushed || final.json.committed === false, true)
  })
})

describe('one config dir, several prepares at once', () => {
  test('two checkouts prepared at once by four processes never mix their files', SLOW, async () => {
    const repo = await seededRepo('shared-config-dir')
    const a = ciClone(repo.open)
    const b = ciClone(repo.open)
    // checkout b holds another state: its own checkpoint and passphrase
    writeFileSync(join(b, STATE), checkpoint(9000, 'b'))
    writeFileSync(join(b, 'infra/state/passphrase/dev.json'), Buffer.alloc(32, 7).toString('base64'))
    gitOk(['-c', 'user.name=T', '-c', 'user.email=t@example.com', 'commit', '-qam', 'b state'], b)
    writeFileSync(join(a, STATE), checkpoint(9000, 'a'))
    gitOk(['-c', 'user.name=T', '-c', 'user.email=t@example.com', 'commit', '-qam', 'a state'], a)
    const sets = [a, b].map((d) => [readFileSync(join(d, STATE)), readFileSync(join(d, 'infra/state/passphrase/dev.json'))])
    const shared = join(tempDir('sls-shared-'), 'sst')
    for (let round = 0; round < 6; round++) {
      const results = await Promise.all(
        [a, b, a, b].map((d) => cliAsync(['prepare', '--stage', 'dev', '--config-dir', shared, '--force', '--json'], d)),
      )
      for (const res of results) assert.equal(res.status, 0, res.stdout + res.stderr)
      const now = [readFileSync(configCheckpoint(shared)), readFileSync(join(shared, 'state/passphrase/demo-app/dev.json'))]
      assert.ok(
        sets.some(([c, p]) => c.equals(now[0]) && p.equals(now[1])),
        `round ${round}: one checkout's checkpoint with the other's passphrase`,
      )
    }
  })
})

describe('symlinks', () => {
  test('a state folder that links outside the checkout: STATE_SYMLINK from prepare and commit, nothing written there', SLOW, async () => {
    const repo = await seededRepo('symlinked-state')
    const dir = ciClone(repo.open)
    const configDir = prepare(dir)
    deploy(configDir, 2, 'x')
    const outside = join(tempDir('sls-outside-'), 'state')
    renameSync(join(dir, 'infra/state'), outside)
    symlinkSync(outside, join(dir, 'infra/state'))
    const before = readFileSync(join(outside, 'app/dev.json'))
    const main = revParse(repo.path)
    const res = cli(commitArgs('dev', configDir), dir)
    assert.equal(res.status, 1, res.stdout)
    assert.equal(res.json.error.code, 'STATE_SYMLINK')
    assert.deepEqual(readFileSync(join(outside, 'app/dev.json')), before)
    assert.equal(revParse(repo.path), main)
    const prep = cli(['prepare', '--stage', 'dev', '--config-dir', join(tempDir('sls-cfg-'), 'sst'), '--json'], dir)
    assert.equal(prep.json.error.code, 'STATE_SYMLINK')
  })
})
