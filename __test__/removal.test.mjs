// A stage removed by the real `sst` CLI (4.17.1), end to end through `run`:
// an app with `state: { purge: true, retention: 1 }` deploys three times
// (SST prunes the older update records each time: nothing breaks, each
// commit names the newest run), then `run -- sst remove` ends with SST's
// purge of the stage's checkpoint, secrets and passphrase and with the
// removal commit on the branch (`SST-Command: remove`, history keeps the
// files); the repository then has no such stage (in CI prepare says
// STAGE_UNKNOWN), and `rollback` brings it back, secrets readable by SST.
// SST runs its real code for state, pruning and purging; only the pulumi
// engine is a stand-in (helpers/fake-pulumi.mjs). Over the real smart-HTTP
// git server. Runs under `node --test` and `bun test`.
import { test, describe, after } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

import { SLOW, assertOk, cleanup, cli, gitOk, removeAtCleanup, revParse, tempDir } from './helpers/common.mjs'
import { fakePulumi } from './helpers/fake-pulumi.mjs'
import { gitServer, showBlob } from './helpers/state-repo.mjs'
import { SST_BIN, makeSstProject, runSst, sstEnv } from './helpers/sst.mjs'

after(cleanup)

const STAGE_FILES = ['infra/state/app/dev.json', 'infra/state/secret/dev.json', 'infra/state/passphrase/dev.age']

/** The variables the real SST needs, from sstEnv, without its HOME and git settings. */
function sstVariables(configHome, extra) {
  const all = sstEnv(configHome, extra)
  const keys = ['XDG_CONFIG_HOME', 'SST_SKIP_DEPENDENCY_CHECK', 'SST_TELEMETRY_DISABLED', 'SST_BUN_PATH', 'NO_COLOR', 'AWS_EC2_METADATA_DISABLED', 'TMPDIR', 'PATH', ...Object.keys(extra)]
  return Object.fromEntries(keys.map((k) => [k, all[k]]))
}

describe('sst remove with state.purge, through run', () => {
  test('three deploys with retention 1, then `run -- sst remove` commits the removal; rollback brings the stage back', SLOW, async () => {
    const srv = await gitServer()
    const repo = srv.newRepo('sst-remove')
    const project = await makeSstProject()
    removeAtCleanup(project.dir)
    const config = join(project.dir, 'sst.config.ts')
    writeFileSync(config, readFileSync(config, 'utf8').replace('home: "local",', 'home: "local",\n      state: { purge: true, retention: 1 },'))
    const keyFile = join(tempDir('sls-key-'), 'age-key.txt')
    assertOk(cli(['init', '--key-file', keyFile], project.dir), 'init')
    gitOk(['init', '-q', '-b', 'main'], project.dir)
    gitOk(['add', '-A'], project.dir)
    gitOk(['commit', '-q', '-m', 'initial'], project.dir)
    gitOk(['remote', 'add', 'origin', repo.open], project.dir)
    gitOk(['push', '-q', 'origin', 'main'], project.dir)

    const configHome = tempDir('sls-home-')
    const configDir = join(configHome, 'sst')
    const env = { ...sstVariables(configHome, fakePulumi(configDir)), SST_LOCAL_STATE_AGE_KEY_FILE: keyFile }
    const run = (sstArgs, extra = {}) => cli(['run', '--stage', 'dev', '--config-dir', configDir, '--', SST_BIN, ...sstArgs], project.dir, { ...env, ...extra })
    const updates = () => readdirSync(join(configDir, 'state', 'update', 'demo-app', 'dev'))
    const lastMessage = () => gitOk(['--git-dir', repo.path, 'log', '-1', '--format=%B', 'main'])

    assertOk(run(['secret', 'set', 'MySecret', 'kept-in-git', '--stage', 'dev']), 'run -- sst secret set')
    for (const resources of [1, 2, 3]) {
      const res = run(['deploy', '--stage', 'dev'], { FAKE_PULUMI_RESOURCES: String(resources) })
      assertOk(res, `run -- sst deploy (${resources})`)
      // retention 1: SST keeps the newest run's record only, and the commit names it
      const [record] = updates()
      assert.deepEqual(updates(), [record])
      const message = lastMessage()
      assert.match(message, new RegExp(`^SST-Update-Id: ${record.replace('.json', '')}$`, 'm'))
      assert.match(message, /^SST-Command: deploy$/m)
      assert.match(message, new RegExp(`^SST-Resources: .* -> ${resources + 1}$`, 'm'))
    }
    assertOk(cli(['prune', '--stage', 'dev', '--keep', '1', '--config-dir', configDir], project.dir, env), 'prune after SST pruned')
    const beforeRemoval = revParse(repo.path)
    for (const path of STAGE_FILES) assert.notEqual(showBlob(repo.path, 'main', path), null, path)

    const removed = run(['remove', '--stage', 'dev'])
    assertOk(removed, 'run -- sst remove')
    // SST purged the stage here (its real code), the fallback untouched
    for (const key of ['app', 'secret', 'passphrase']) assert.ok(!existsSync(join(configDir, 'state', key, 'demo-app', 'dev.json')), `SST left ${key}`)
    assert.ok(!existsSync(join(configDir, 'state', 'update', 'demo-app', 'dev')))
    // ... and the run ended with the removal commit
    const tip = revParse(repo.path)
    assert.notEqual(tip, beforeRemoval)
    for (const path of STAGE_FILES) {
      assert.equal(showBlob(repo.path, 'main', path), null, `${path} still on the branch`)
      assert.notEqual(showBlob(repo.path, beforeRemoval, path), null, `history lost ${path}`)
    }
    const message = lastMessage()
    assert.match(message, /^chore\(sst-state\): demo-app\/dev remove: stage removed by SST, 4 -> 0 resources \[skip ci\]$/m)
    assert.match(message, /^SST-Command: remove$/m)
    assert.match(message, /^Run-Exit-Code: 0$/m)
    const [entry] = assertOk(cli(['history', '--stage', 'dev', '--json', '--limit', '1'], project.dir, env), 'history').json.entries
    assert.equal(entry.commit, tip)
    assert.equal(entry.command, 'remove')
    assert.deepEqual(entry.files.sort(), ['app', 'passphrase', 'secret'])
    const status = assertOk(cli(['status', '--stage', 'dev', '--config-dir', configDir, '--json'], project.dir, env), 'status').json
    assert.equal(status.stageRemoved, false)
    assert.equal(status.clean, true, JSON.stringify(status.files))
    // the repository has no such stage any more: a new stage, refused in CI
    const ci = cli(['prepare', '--stage', 'dev', '--config-dir', configDir, '--json'], project.dir, { ...env, GITHUB_ACTIONS: 'true' })
    assert.equal(ci.json?.error?.code, 'STAGE_UNKNOWN', ci.stdout + ci.stderr)

    // rollback brings it back, and SST reads its secret again
    assertOk(cli(['rollback', '--stage', 'dev', '--to', beforeRemoval, '--json'], project.dir, env), 'rollback')
    for (const path of STAGE_FILES) assert.notEqual(showBlob(repo.path, 'main', path), null, `rollback did not restore ${path}`)
    assertOk(cli(['prepare', '--stage', 'dev', '--config-dir', configDir], project.dir, env), 'prepare')
    const list = runSst(['secret', 'list', '--stage', 'dev'], { cwd: project.dir, configHome })
    assert.equal(list.status, 0, `sst secret list failed (exit ${list.status})`)
    assert.ok(/^MySecret=kept-in-git$/m.test(list.stdout), 'SST does not read the restored secret')
  })
})
