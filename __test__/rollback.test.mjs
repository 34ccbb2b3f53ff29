// rollback over the real smart-HTTP git server, through the CLI as a
// pipeline step runs it: a NEW commit on the branch whose stage files are
// the revision's blobs (history kept), under the stage lock (a held lock
// stops it with exit 3 LOCK_HELD, --lock-timeout waits for it; released
// with the push), refused when the passphrase differs (nothing pushed)
// unless --force, nothing committed when nothing changes; another run
// acting mid-rollback (held at a server hook while real processes break the
// lock or push to the branch): LOCK_LOST with nothing pushed, or rolled back
// again on the branch's new tip. And rollbackStage().
// Runs under `node --test` and `bun test`.
import { test, describe, after } from 'node:test'
import assert from 'node:assert/strict'

import { randomBytes } from 'node:crypto'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

import { SLOW, assertOk, cleanup, cli, cliAsync, git, gitOk, revParse, tempDir } from './helpers/common.mjs'
import { STATE, ciClone, commitCli, deploy, pauseOnce, prepare, seededRepo, showBlob } from './helpers/state-repo.mjs'

after(cleanup)

const LOCK = 'refs/heads/sst-local-state/lock/demo-app/dev'
const PASSPHRASE = 'infra/state/passphrase/dev.json'

function lockOnServer(repo) {
  const res = git(['--git-dir', repo.path, 'rev-parse', '--verify', '-q', LOCK])
  return res.status === 0 ? res.stdout.trim() : null
}

/** The blob id of `path` at `rev` in the server's repo (null when absent). */
function blobId(repo, rev, path = STATE) {
  const res = git(['--git-dir', repo.path, 'rev-parse', '--verify', '-q', `${rev}:${path}`])
  return res.status === 0 ? res.stdout.trim() : null
}

/** A server repo with two state commits: the seed (c1) and a deploy of 3 resources (c2); a full clone. */
async function twoStates(name) {
  const repo = await seededRepo(name)
  const c1 = revParse(repo.path)
  const dir = ciClone(repo.open, { shallow: false })
  gitOk(['checkout', '-q', '-B', 'main', 'origin/main'], dir)
  const configDir = prepare(dir)
  deploy(configDir, 3, 'two')
  assertOk(commitCli(dir, configDir), 'commit')
  const c2 = revParse(repo.path)
  assert.notEqual(c1, c2)
  return { repo, dir, c1, c2 }
}

const rollbackArgs = (to, extra = []) => ['rollback', '--stage', 'dev', '--to', to, '--json', ...extra]

describe('rollback over HTTP', () => {
  test('a new commit whose stage files are the revision\'s; history kept; the lock released; nothing to do the second time', SLOW, async () => {
    const { repo, dir, c1, c2 } = await twoStates('rollback-basic')
    const res = assertOk(cli(rollbackArgs(c1), dir), 'rollback')
    const r = res.json
    assert.equal(r.committed, true)
    assert.equal(r.to, c1)
    assert.equal(r.from, c2)
    assert.equal(r.lockReleased, true)
    assert.equal(r.lockRef, LOCK)
    const tip = revParse(repo.path)
    assert.equal(r.commit, tip)
    assert.equal(blobId(repo, tip, STATE), blobId(repo, c1, STATE))
    assert.equal(blobId(repo, tip, PASSPHRASE), blobId(repo, c1, PASSPHRASE))
    assert.notEqual(blobId(repo, tip, STATE), blobId(repo, c2, STATE))
    // history never rewritten: the tip's parent is c2, c1 an ancestor
    assert.equal(gitOk(['--git-dir', repo.path, 'rev-parse', `${tip}^`]).trim(), c2)
    assert.equal(git(['--git-dir', repo.path, 'merge-base', '--is-ancestor', c1, tip]).status, 0)
    const message = gitOk(['--git-dir', repo.path, 'log', '-1', '--format=%B', tip])
    assert.match(message, /^chore\(sst-state\): demo-app\/dev roll back to \w{12} \[skip ci\]/)
    assert.match(message, new RegExp(`^Rollback-To: ${c1}$`, 'm'))
    assert.match(message, new RegExp(`^Rollback-From: ${c2}$`, 'm'))
    assert.equal(lockOnServer(repo), null)
    assert.match(r.note, /sst refresh/)
    // history lists it as a rollback (the remote-tracking branch followed the push)
    const [entry] = assertOk(cli(['history', '--stage', 'dev', '--json', '--limit', '1', '--rev', 'origin/main'], dir), 'history').json.entries
    assert.equal(entry.commit, tip)
    assert.equal(entry.command, 'rollback')
    assert.deepEqual(entry.files, ['app'])
    // the human output says it plainly
    const again = assertOk(cli(['rollback', '--stage', 'dev', '--to', c1], dir), 'rollback again')
    assert.match(again.stdout, /nothing to roll back/)
    assert.equal(assertOk(cli(rollbackArgs(c1), dir), 'rollback --json').json.lockReleased, true)
    assert.match(again.stdout, /cloud resources change at the next deploy/)
    assert.match(again.stdout, /sst refresh/)
    assert.equal(revParse(repo.path), tip, 'no commit')
    assert.equal(lockOnServer(repo), null)
  })

  test('a held lock stops it (exit 3 LOCK_HELD, nothing pushed); --lock-timeout waits for its release', SLOW, async () => {
    const { repo, dir, c1, c2 } = await twoStates('rollback-lock')
    const holder = ciClone(repo.open)
    gitOk(['checkout', '-q', '-B', 'main', 'origin/main'], holder)
    assertOk(cli(['lock', '--stage', 'dev', '--json'], holder), 'lock')
    const held = cli(rollbackArgs(c1), dir)
    assert.equal(held.status, 3, held.stdout + held.stderr)
    assert.equal(held.json.error.code, 'LOCK_HELD')
    assert.equal(revParse(repo.path), c2)
    // a waiting rollback gets the lock once the holder releases it
    const waiting = cliAsync(rollbackArgs(c1, ['--lock-timeout', '60s']), dir)
    await new Promise((resolve) => setTimeout(resolve, 1500))
    assert.equal(revParse(repo.path), c2, 'still waiting')
    assertOk(cli(['unlock', '--stage', 'dev', '--json'], holder), 'unlock')
    const done = await waiting
    assert.equal(done.status, 0, done.stdout + done.stderr)
    assert.equal(done.json.committed, true)
    assert.equal(blobId(repo, 'main', STATE), blobId(repo, c1, STATE))
    assert.equal(lockOnServer(repo), null)
    // two concurrent rollbacks: both end, one after the other, the lock free at the end
    const both = await Promise.all([cliAsync(rollbackArgs(c2, ['--lock-timeout', '60s']), dir), cliAsync(rollbackArgs(c2, ['--lock-timeout', '60s', '--branch', 'main']), ciClone(repo.open, { shallow: false }))])
    for (const b of both) assert.equal(b.status, 0, b.stdout + b.stderr)
    assert.equal(both.filter((b) => b.json.committed).length, 1, 'the second found nothing to change')
    assert.equal(blobId(repo, 'main', STATE), blobId(repo, c2, STATE))
    assert.equal(lockOnServer(repo), null)
  })

  test('refused when the passphrase at the revision differs (nothing pushed); --force rolls it back', SLOW, async () => {
    const { repo, dir, c1 } = await twoStates('rollback-passphrase')
    const other = ciClone(repo.open, { shallow: false })
    gitOk(['checkout', '-q', '-B', 'main', 'origin/main'], other)
    writeFileSync(join(other, PASSPHRASE), randomBytes(32).toString('base64'))
    gitOk(['commit', '-q', '-am', 'a new passphrase'], other)
    gitOk(['push', '-q', 'origin', 'main'], other)
    const tip = revParse(repo.path)
    const refused = cli(rollbackArgs(c1), dir)
    assert.equal(refused.status, 1, refused.stdout + refused.stderr)
    assert.equal(refused.json.error.code, 'PASSPHRASE_CHANGED')
    assert.match(refused.json.error.message, /--force/)
    assert.equal(revParse(repo.path), tip, 'nothing pushed')
    assert.equal(lockOnServer(repo), null, 'the lock released')
    const forced = assertOk(cli(rollbackArgs(c1, ['--force']), dir), 'rollback --force').json
    assert.equal(forced.passphraseChanged, true)
    assert.equal(blobId(repo, 'main', PASSPHRASE), blobId(repo, c1, PASSPHRASE))
    assert.equal(blobId(repo, 'main', STATE), blobId(repo, c1, STATE))
  })
})

describe('rollback while another run acts, over HTTP, with real processes', () => {
  test('the lock broken by another run after the rollback took it: exit 4 LOCK_LOST, nothing pushed, the new lock untouched', SLOW, async () => {
    const { repo, dir, c1, c2 } = await twoStates('rollback-lock-lost')
    const other = ciClone(repo.open)
    // hold the push that takes our lock, once it landed
    const pause = pauseOnce(repo, 'post-receive', `^0{40} [0-9a-f]{40} ${LOCK}$`)
    const running = cliAsync(rollbackArgs(c1), dir)
    await pause.reached(running)
    const ours = lockOnServer(repo)
    assert.ok(ours, 'the rollback holds the lock')
    // another run breaks it and takes the stage
    assertOk(cli(['unlock', '--force', '--stage', 'dev', '--json'], other), 'unlock --force')
    const theirs = assertOk(cli(['lock', '--stage', 'dev', '--json'], other), 'lock').json
    assert.notEqual(theirs.commit, ours)
    pause.resume()
    const res = await running
    assert.equal(res.status, 4, res.stdout + res.stderr)
    assert.equal(res.json.error.code, 'LOCK_LOST')
    assert.equal(res.json.error.lockRef, LOCK)
    assert.match(res.json.error.message, /The rollback was NOT pushed/)
    assert.equal(revParse(repo.path), c2, 'the branch moved although the lock was lost')
    assert.equal(lockOnServer(repo), theirs.commit, "the other run's lock was touched")
  })

  test('another pipeline pushes to the branch while the rollback\'s push is received: rolled back again on the new tip, its commit kept, the lock released', SLOW, async () => {
    const { repo, dir, c1, c2 } = await twoStates('rollback-branch-moved')
    const other = join(tempDir('sls-other-'), 'other')
    gitOk(['clone', '-q', repo.open, other])
    mkdirSync(join(other, 'docs'), { recursive: true })
    writeFileSync(join(other, 'docs', 'other.md'), 'other pipeline\n')
    gitOk(['add', 'docs/other.md'], other)
    gitOk(['commit', '-q', '-m', 'other pipeline'], other)
    // hold the rollback's push after git checked its lease on main
    const pause = pauseOnce(repo, 'pre-receive', ' refs/heads/main$')
    const running = cliAsync(rollbackArgs(c1), dir)
    await pause.reached(running)
    gitOk(['push', '-q', 'origin', 'HEAD:main'], other)
    const moved = revParse(repo.path)
    assert.notEqual(moved, c2)
    pause.resume()
    const res = await running
    const r = assertOk(res, 'rollback').json
    assert.equal(r.attempts, 2)
    assert.equal(r.committed, true)
    assert.equal(r.from, moved, 'planned again on the new tip')
    assert.equal(r.lockReleased, true)
    const tip = revParse(repo.path)
    assert.equal(r.commit, tip)
    assert.equal(gitOk(['--git-dir', repo.path, 'rev-parse', `${tip}^`]), moved, 'built on the new tip')
    assert.equal(showBlob(repo.path, tip, 'docs/other.md').toString(), 'other pipeline\n')
    assert.equal(blobId(repo, tip, STATE), blobId(repo, c1, STATE))
    assert.equal(blobId(repo, tip, PASSPHRASE), blobId(repo, c1, PASSPHRASE))
    assert.match(gitOk(['--git-dir', repo.path, 'log', '-1', '--format=%B', tip]), new RegExp(`^Rollback-From: ${moved}$`, 'm'))
    assert.equal(lockOnServer(repo), null)
  })
})

describe('rollbackStage', () => {
  test('from JS: the same rollback; bad options and a held lock reject with their codes', SLOW, async () => {
    const { lockStage, rollbackStage, unlockStage } = await import('../index.mjs')
    const { repo, dir, c1, c2 } = await twoStates('rollback-js')
    await assert.rejects(rollbackStage({ stage: 'dev', cwd: dir, to: 'no-such-rev' }), (e) => e.code === 'INVALID_OPTION' && /options\.to/.test(e.message))
    await assert.rejects(rollbackStage({ stage: 'dev', cwd: dir, to: c1, lockTimeout: 'soon' }), (e) => e.code === 'INVALID_OPTION')
    const holder = ciClone(repo.open)
    await lockStage({ stage: 'dev', cwd: holder, command: 'deploy.mjs' })
    await assert.rejects(rollbackStage({ stage: 'dev', cwd: dir, to: c1 }), (e) => e.code === 'LOCK_HELD' && e.lockRef === LOCK)
    assert.equal(revParse(repo.path), c2, 'nothing pushed')
    await unlockStage({ stage: 'dev', cwd: holder })
    const r = await rollbackStage({ stage: 'dev', cwd: dir, to: c1 })
    assert.equal(r.committed, true)
    assert.equal(r.from, c2)
    assert.deepEqual(r.files.map((f) => [f.kind, f.change]), [['app', 'restored']])
    assert.equal(blobId(repo, 'main', STATE), blobId(repo, c1, STATE))
    assert.equal(lockOnServer(repo), null)
  })
})
