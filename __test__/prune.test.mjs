// prune with the real SST CLI: the update records that `sst deploy` leaves
// (one per run; deploy fails here without pulumi, after writing its record)
// are pruned to the newest N by SST's own ids, which the test checks against
// the records' timeStarted; nothing else in the config dir changes.
import assert from 'node:assert/strict'
import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'

import { makeSstProject, runSst } from './helpers/sst.mjs'
import { SLOW, assertOk, cleanup, cli, removeAtCleanup, snapshot, tempDir } from './helpers/common.mjs'

after(cleanup)

describe('prune', () => {
  test('keeps the newest N runs SST recorded, removes the rest, nothing else', SLOW, async () => {
    const project = await makeSstProject()
    removeAtCleanup(project.dir)
    const configHome = tempDir('sls-prune-home-')
    const configDir = join(configHome, 'sst')
    for (let i = 0; i < 3; i++) {
      const res = runSst(['deploy', '--stage', 'dev'], { cwd: project.dir, configHome })
      assert.equal(res.status, 1, 'deploy without pulumi fails after writing its update record')
      await new Promise((resolve) => setTimeout(resolve, 1100)) // distinct timeStarted seconds
    }
    const updates = join(configDir, 'state', 'update', 'demo-app', 'dev')
    const records = readdirSync(updates).map((f) => JSON.parse(readFileSync(join(updates, f), 'utf8')))
    assert.equal(records.length, 3)
    const newest = records.reduce((a, b) => (a.timeStarted >= b.timeStarted ? a : b))
    const before = snapshot(configDir)

    const dry = assertOk(cli(['prune', '--stage', 'dev', '--keep', '1', '--dry-run', '--config-dir', configDir, '--json'], project.dir), 'prune --dry-run')
    assert.equal(dry.json.removed.length, 2)
    assert.deepEqual(snapshot(configDir), before)

    const res = assertOk(cli(['prune', '--stage', 'dev', '--keep', '1', '--config-dir', configDir, '--json'], project.dir), 'prune')
    assert.deepEqual(res.json.kept, [newest.id])
    assert.deepEqual(readdirSync(updates), [`${newest.id}.json`])
    const after_ = snapshot(configDir)
    for (const [k, v] of Object.entries(after_)) assert.equal(before[k], v, k)
    assert.equal(Object.keys(before).length - Object.keys(after_).length, 2)

    const human = assertOk(cli(['prune', '--stage', 'dev', '--keep', '1', '--config-dir', configDir], project.dir), 'prune (human)')
    assert.match(human.stdout, /prune demo-app\/dev: kept 1 run\(s\), removed 0 run\(s\)/)
  })
})
