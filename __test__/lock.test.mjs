// The stage lock on the git remote, over the real smart-HTTP git server
// (nginx + git-http-backend), through the CLI as pipeline steps run it:
// of N concurrent `lock` processes exactly one wins and the others exit 3
// LOCK_HELD naming the holder; unlock by a non-holder is refused and
// `--force` breaks anyone's lock; of two concurrent breakers of an expired
// lock exactly one wins; a waiter with --lock-timeout gets the lock once
// the holder releases it; `locks` lists holder and age. And the JS API.
// Runs under `node --test` and `bun test`.
import { test, describe, after } from 'node:test'
import assert from 'node:assert/strict'

import { SLOW, assertOk, cleanup, cli, cliAsync, git, gitOk } from './helpers/common.mjs'
import { ciClone, seededRepo } from './helpers/state-repo.mjs'

after(cleanup)

const LOCK = 'refs/heads/sst-local-state/lock/demo-app/dev'
const stageArgs = ['--stage', 'dev', '--json']
const lockArgs = (extra = []) => ['lock', ...stageArgs, ...extra]

/** The commit the server's lock ref points at (null: no lock). */
function lockOnServer(repo, ref = LOCK) {
  const res = git(['--git-dir', repo.path, 'rev-parse', '--verify', '-q', ref])
  return res.status === 0 ? res.stdout.trim() : null
}

describe('lock over HTTP', () => {
  test('six concurrent lock processes: exactly one wins, the others exit 3 LOCK_HELD naming it', SLOW, async () => {
    const repo = await seededRepo('lock-six')
    const dirs = [0, 1, 2, 3, 4, 5].map(() => ciClone(repo.open))
    for (let round = 0; round < 3; round++) {
      const results = await Promise.all(dirs.map((dir) => cliAsync(lockArgs(), dir)))
      const winners = results.filter((r) => r.status === 0)
      assert.equal(winners.length, 1, results.map((r) => `${r.status} ${r.stdout}${r.stderr}`).join('\n'))
      const winner = winners[0].json
      assert.equal(winner.lockRef, LOCK)
      assert.equal(lockOnServer(repo), winner.commit)
      for (const res of results.filter((r) => r.status !== 0)) {
        assert.equal(res.status, 3, res.stdout + res.stderr)
        assert.equal(res.json.error.code, 'LOCK_HELD')
        assert.equal(res.json.error.lockRef, LOCK)
        assert.match(res.json.error.message, new RegExp(`pid ${winner.holder.pid}\\b`))
        assert.match(res.json.error.message, /taken \S+ ago/)
      }
      // the lock commit records the holder
      const message = gitOk(['--git-dir', repo.path, 'log', '-1', '--format=%B', LOCK])
      assert.match(message, /^sst-local-state lock: demo-app\/dev \[skip ci\]/)
      assert.match(message, new RegExp(`^Lock-Pid: ${winner.holder.pid}$`, 'm'))
      assert.match(message, /^Lock-Expires: \S+Z$/m)
      const winnerDir = dirs[results.findIndex((r) => r.status === 0)]
      assertOk(cli(['unlock', ...stageArgs], winnerDir), 'unlock by the holder')
      assert.equal(lockOnServer(repo), null)
    }
  })

  test('unlock by a non-holder is refused; --force deletes it and says whose it was; locks lists it', SLOW, async () => {
    const repo = await seededRepo('lock-force')
    const holder = ciClone(repo.open)
    const other = ciClone(repo.open)
    const taken = assertOk(cli(lockArgs(), holder, { GITHUB_ACTIONS: 'true', GITHUB_REPOSITORY: 'o/r', GITHUB_RUN_ID: '4242' }), 'lock').json
    assert.equal(taken.holder.runUrl, 'https://github.com/o/r/actions/runs/4242')

    const listed = assertOk(cli(['locks', '--json'], other), 'locks').json.locks
    assert.equal(listed.length, 1)
    assert.equal(listed[0].lockRef, LOCK)
    assert.equal(listed[0].commit, taken.commit)
    assert.equal(listed[0].holder.runId, '4242')
    assert.equal(listed[0].expired, false)
    const human = assertOk(cli(['locks'], other), 'locks').stdout
    assert.match(human, /github-actions run 4242/)
    assert.match(human, /actions\/runs\/4242/)

    const refused = cli(['unlock', ...stageArgs], other)
    assert.equal(refused.status, 3, refused.stdout + refused.stderr)
    assert.equal(refused.json.error.code, 'LOCK_NOT_HELD')
    assert.match(refused.json.error.message, /github-actions run 4242/)
    assert.equal(lockOnServer(repo), taken.commit)

    const held = cli(lockArgs(), other)
    assert.equal(held.status, 3)
    assert.match(held.json.error.message, /actions\/runs\/4242/)
    assert.equal(held.json.error.runUrl, 'https://github.com/o/r/actions/runs/4242')

    const forced = assertOk(cli(['unlock', '--force', ...stageArgs], other), 'unlock --force').json
    assert.equal(forced.released, true)
    assert.equal(forced.was.commit, taken.commit)
    assert.equal(forced.was.holder.runId, '4242')
    assert.equal(lockOnServer(repo), null)
    // the former holder's unlock finds nothing to release
    const late = assertOk(cli(['unlock', ...stageArgs], holder), 'late unlock').json
    assert.equal(late.released, false)
    assert.equal(assertOk(cli(['locks', '--json'], other), 'locks').json.locks.length, 0)
  })

  test('an expired lock: of two concurrent breakers exactly one wins', SLOW, async () => {
    const repo = await seededRepo('lock-expired')
    const dirs = [0, 1, 2].map(() => ciClone(repo.open))
    for (let round = 0; round < 4; round++) {
      const stale = assertOk(cli(lockArgs(['--lock-ttl', '1s']), dirs[0]), 'stale lock').json
      await new Promise((r) => setTimeout(r, 2100))
      const results = await Promise.all([dirs[1], dirs[2]].map((dir) => cliAsync(lockArgs(), dir)))
      const winners = results.filter((r) => r.status === 0)
      assert.equal(winners.length, 1, results.map((r) => `${r.status} ${r.stdout}${r.stderr}`).join('\n'))
      assert.equal(winners[0].json.broke.commit, stale.commit)
      assert.equal(lockOnServer(repo), winners[0].json.commit)
      const loser = results.find((r) => r.status !== 0)
      assert.equal(loser.status, 3, loser.stdout + loser.stderr)
      assert.equal(loser.json.error.code, 'LOCK_HELD')
      assert.match(loser.json.error.message, new RegExp(`pid ${winners[0].json.holder.pid}\\b`))
      const winnerDir = [dirs[1], dirs[2]][results.indexOf(winners[0])]
      assertOk(cli(['unlock', ...stageArgs], winnerDir), 'unlock')
      // the stale holder does not hold it any more: nothing to release
      assert.equal(assertOk(cli(['unlock', ...stageArgs], dirs[0]), 'stale unlock').json.released, false)
    }
  })

  test('a waiter with --lock-timeout 20s gets the lock once the holder unlocks', SLOW, async () => {
    const repo = await seededRepo('lock-wait')
    const holder = ciClone(repo.open)
    const waiter = ciClone(repo.open)
    assertOk(cli(lockArgs(), holder), 'lock')
    const started = Date.now()
    const waiting = cliAsync(['lock', '--stage', 'dev', '--lock-timeout', '20s'], waiter)
    await new Promise((r) => setTimeout(r, 2500))
    assertOk(cli(['unlock', ...stageArgs], holder), 'unlock')
    const res = await waiting
    assertOk(res, 'waiting lock')
    assert.ok(Date.now() - started >= 2500)
    assert.match(res.stderr, /waiting for the lock of demo-app\/dev: held by \S+@\S+ \(pid \d+/)
    assert.match(res.stdout, /^locked demo-app\/dev on origin/m)
    assert.match(res.stdout, /after waiting \d+ s/)
    // a second lock in the same checkout is re-entrant
    const again = assertOk(cli(lockArgs(), waiter), 'lock again').json
    assert.equal(again.alreadyHeld, true)
    // a timeout that runs out is LOCK_HELD after waiting
    const other = ciClone(repo.open)
    const late = cli(lockArgs(['--lock-timeout', '1s']), other)
    assert.equal(late.status, 3)
    assert.match(late.json.error.message, /waited 1s/)
  })

  test('options: the prefix from env; bad values are INVALID_OPTION or a usage error', SLOW, async () => {
    const repo = await seededRepo('lock-prefix')
    const dir = ciClone(repo.open)
    const env = { SST_LOCAL_STATE_LOCK_PREFIX: 'refs/heads/locks' }
    assertOk(cli(lockArgs(), dir, env), 'lock with prefix')
    assert.ok(lockOnServer(repo, 'refs/heads/locks/demo-app/dev'))
    assert.equal(lockOnServer(repo), null)
    assert.equal(assertOk(cli(['locks', '--json'], dir, env), 'locks').json.locks.length, 1)
    assertOk(cli(['unlock', ...stageArgs], dir, env), 'unlock')
    const bad = cli(lockArgs(['--lock-ref-prefix', 'heads/x']), dir)
    assert.equal(bad.status, 1)
    assert.equal(bad.json.error.code, 'INVALID_OPTION')
    const badTtl = cli(lockArgs(['--lock-ttl', 'soon']), dir)
    assert.equal(badTtl.status, 2)
  })
})

describe('path remote', () => {
  test('git receive-pack compares and swaps: of six lockers exactly one wins', SLOW, async () => {
    const repo = await seededRepo('lock-path')
    const dirs = [0, 1, 2, 3, 4, 5].map(() => ciClone(`file://${repo.path}`))
    const results = await Promise.all(dirs.map((dir) => cliAsync(lockArgs(), dir)))
    assert.equal(results.filter((r) => r.status === 0).length, 1, results.map((r) => r.stdout).join('\n'))
    for (const res of results.filter((r) => r.status !== 0)) assert.equal(res.json.error.code, 'LOCK_HELD')
  })

  test('without git a lock is refused (GIT_NOT_FOUND), never taken unsafely', SLOW, async () => {
    const repo = await seededRepo('lock-no-git')
    const dir = ciClone(repo.open)
    const res = cli(lockArgs(), dir, { SST_LOCAL_STATE_GIT: 'none' })
    assert.equal(res.status, 1)
    assert.equal(res.json.error.code, 'GIT_NOT_FOUND')
    assert.match(res.json.error.message, /force-with-lease/)
    assert.equal(lockOnServer(repo), null)
  })
})

describe('JS API', () => {
  test('lockStage, listLocks, unlockStage', SLOW, async () => {
    const { lockStage, listLocks, unlockStage } = await import('../index.mjs')
    const repo = await seededRepo('lock-js')
    const dir = ciClone(repo.open)
    const other = ciClone(repo.open)
    const taken = await lockStage({ stage: 'dev', cwd: dir, lockTtl: '10m', command: 'deploy.mjs' })
    assert.equal(taken.lockRef, LOCK)
    assert.equal(taken.holder.command, 'deploy.mjs')
    assert.equal(lockOnServer(repo), taken.commit)
    await assert.rejects(lockStage({ stage: 'dev', cwd: other }), (e) => e.code === 'LOCK_HELD' && e.lockRef === LOCK)
    await assert.rejects(unlockStage({ stage: 'dev', cwd: other }), (e) => e.code === 'LOCK_NOT_HELD')
    const locks = await listLocks({ cwd: other })
    assert.deepEqual(
      locks.map((l) => [l.lockRef, l.commit, l.holder.command]),
      [[LOCK, taken.commit, 'deploy.mjs']],
    )
    const released = await unlockStage({ stage: 'dev', cwd: dir })
    assert.equal(released.released, true)
    assert.equal(lockOnServer(repo), null)
    await assert.rejects(lockStage({ stage: 'dev', cwd: dir, lockTimeout: 'soon' }), (e) => e.code === 'INVALID_OPTION')
    await assert.rejects(lockStage({ stage: 'dev', cwd: dir, lockTtl: '1h', bogus: 1 }), (e) => e.code === 'INVALID_OPTION')
  })
})
