// The way out of a STATE_CONFLICT, followed as a user would: two pipelines
// deploy the same stage, the second one's commit conflicts (exit 4). The
// worktree then holds the branch's state again (this run's is on the rescue
// branch named in the error, and in SST's config dir), and the error names
// both ways out as commands, which are run exactly as printed: keeping the
// branch's state (`prepare --force`: this run's files backed up first, the
// branch's restored) or keeping this run's (`rollback --to <rescue>`). Over
// the real smart-HTTP git server. Runs under `node --test` and `bun test`.
import { test, describe, after } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

import { SLOW, assertOk, cleanup, cli } from './helpers/common.mjs'
import { STATE, ciClone, commitCli, configCheckpoint, deploy, prepare, seededRepo, showBlob } from './helpers/state-repo.mjs'

after(cleanup)

/** Two pipelines prepared from the same tip; A's deploy lands, B's commit conflicts. */
async function conflict(name) {
  const repo = await seededRepo(name)
  const a = ciClone(repo.open)
  const b = ciClone(repo.open)
  const configA = prepare(a)
  const configB = prepare(b)
  const theirs = deploy(configA, 3, 'a')
  assertOk(commitCli(a, configA, ['--branch', 'main']), 'commit A')
  const ours = deploy(configB, 5, 'b')
  const res = commitCli(b, configB, ['--branch', 'main', '--json'])
  assert.equal(res.status, 4, res.stdout + res.stderr)
  assert.equal(res.json.error.code, 'STATE_CONFLICT')
  return { repo, b, configB, theirs, ours, error: res.json.error }
}

/** The command the message gives between backticks after `label`, as argv for cli() (its words need no quotes here). */
function command(message, label) {
  const match = new RegExp(`${label}: \`sst-local-state ([^\`]+)\``).exec(message)
  assert.ok(match, `no command after "${label}" in: ${message}`)
  return match[1].split(' ')
}

describe('after STATE_CONFLICT', () => {
  test('the worktree holds the branch\'s state again, and `prepare --force` as the message prints it backs this run\'s files up and restores the branch\'s', SLOW, async () => {
    const { repo, b, configB, theirs, ours, error } = await conflict('way-out-branch')
    assert.ok(error.rescueBranch, error.message)
    assert.match(error.message, new RegExp(`on branch ${error.rescueBranch} of origin`))
    // the worktree: the branch's checkpoint, not this run's (that one is on the rescue branch)
    assert.deepEqual(readFileSync(join(b, STATE)), showBlob(repo.path, 'main'))
    assert.deepEqual(readFileSync(join(b, STATE)), theirs)
    assert.deepEqual(showBlob(repo.path, error.rescueBranch), ours)
    // a plain prepare refuses: both sides changed since the sync (nothing overwritten)
    const refused = cli(['prepare', '--stage', 'dev', '--config-dir', configB], b)
    assert.equal(refused.status, 4, refused.stdout + refused.stderr)
    assert.match(refused.stderr, /UNSAVED_STATE/)
    assert.deepEqual(readFileSync(configCheckpoint(configB)), ours)

    const forced = assertOk(cli(command(error.message, "To keep origin/main's"), b), 'the message\'s prepare --force')
    assert.match(forced.stdout, /written +app/)
    const backupDir = /backed up the replaced config-dir files to (.+)$/m.exec(forced.stdout)?.[1]
    assert.ok(backupDir, forced.stdout)
    assert.deepEqual(readFileSync(join(backupDir, 'state', 'app', 'demo-app', 'dev.json')), ours, 'this run\'s checkpoint is backed up')
    assert.deepEqual(readFileSync(configCheckpoint(configB)), theirs, 'the branch\'s checkpoint is restored')
    const status = assertOk(cli(['status', '--stage', 'dev', '--config-dir', configB, '--json'], b), 'status').json
    assert.equal(status.clean, true, JSON.stringify(status.files))
  })

  test('`rollback --to <rescue>` as the message prints it puts this run\'s state on the branch', SLOW, async () => {
    const { repo, b, configB, ours, error } = await conflict('way-out-ours')
    const rolled = assertOk(cli([...command(error.message, "To keep this run's"), '--json'], b), 'the message\'s rollback').json
    assert.equal(rolled.committed, true)
    assert.deepEqual(showBlob(repo.path, 'main'), ours, 'the branch holds this run\'s checkpoint')
    assert.deepEqual(readFileSync(configCheckpoint(configB)), ours)
    // the next run starts from it: nothing left to save, nothing refused
    assert.ok(existsSync(configCheckpoint(configB)))
    const locked = assertOk(cli(['prepare', '--stage', 'dev', '--config-dir', configB, '--lock', '--branch', 'main', '--json'], b), 'prepare --lock').json
    assert.equal(locked.files.length, 5, JSON.stringify(locked.files))
    assert.ok(locked.files.every((f) => f.action !== 'written'), JSON.stringify(locked.files))
    const saved = assertOk(commitCli(b, configB, ['--branch', 'main', '--json']), 'commit').json
    assert.equal(saved.committed, false)
    assert.equal(saved.lockReleased, true)
  })
})
