// prune with the real SST CLI: the update records that `sst deploy` leaves
// (one per run; deploy fails here without pulumi, after writing its record)
// are pruned to the newest N by SST's own ids, which the test checks against
// the records' timeStarted; nothing else in the config dir changes. And
// pruneStage(), the same from JS, on a config dir laid out as SST lays it out.
import assert from 'node:assert/strict'
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { after, describe, test } from 'node:test'

import { REPO_ROOT, makeSstProject, runSst } from './helpers/sst.mjs'
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

describe('pruneStage', () => {
  const { pruneStage } = createRequire(import.meta.url)(join(REPO_ROOT, 'index.js'))
  // five runs of demo-app/dev, newest first: SST's update ids ascend in byte order
  const IDS = ['fe5de5ce04b491921eb30ff0', 'fe5de5ce04b491921eb30ff1', 'fe5de5ce0aaaaaaaaaaaaaaa', 'fe5de5cf00000000000000aa', 'ff00000000000000000000bb']
  const KINDS = ['update', 'snapshot', 'eventlog']
  const record = (kind, id, stage = 'dev', app = 'demo-app') => join('state', kind, app, stage, `${id}.json`)

  /** A project and its config dir with the runs' records (the oldest run failed: no snapshot, no eventlog) and files prune must leave alone. */
  function fixture() {
    const dir = tempDir('sls-prune-js-')
    writeFileSync(join(dir, 'sst.config.ts'), 'export default $config({ app() { return { name: "demo-app", home: "local" } }, async run() {} })\n')
    const configDir = join(dir, '.cfg', 'sst')
    const write = (rel, content) => {
      mkdirSync(dirname(join(configDir, rel)), { recursive: true })
      writeFileSync(join(configDir, rel), content)
    }
    IDS.forEach((id, i) => {
      for (const kind of i < 4 ? KINDS : ['update']) write(record(kind, id), JSON.stringify({ id, kind }))
      write(record('update', id, 'prod'), '{}')
      write(record('update', id, 'dev', 'other-app'), '{}')
    })
    write(join('state', 'update', 'demo-app', 'dev', 'notes.json'), 'mine')
    write(join('state', 'app', 'demo-app', 'dev.json'), '{"version":3,"checkpoint":{}}')
    return { dir, configDir, write }
  }

  test('keeps the newest `keep` runs and the one holding SST\'s lock, removes exactly the other runs\' records', async () => {
    const { dir, configDir, write } = fixture()
    write(join('state', 'lock', 'demo-app', 'dev.json'), JSON.stringify({ created: '2026-01-01T00:00:00Z', updateID: IDS[4], command: 'deploy' }))
    const before = snapshot(configDir)
    const r = await pruneStage({ stage: 'dev', cwd: dir, configDir, keep: 2 })
    assert.equal(r.dryRun, false)
    assert.deepEqual(r.kept, [IDS[0], IDS[1], IDS[4]])
    assert.equal(r.lockedUpdateId, IDS[4])
    assert.equal(r.configDir, configDir)
    const after_ = snapshot(configDir)
    for (const [k, v] of Object.entries(after_)) assert.equal(before[k], v, `${k} changed`)
    const gone = Object.keys(before).filter((k) => !(k in after_)).sort()
    const expected = [...KINDS.map((kind) => record(kind, IDS[2])), ...KINDS.map((kind) => record(kind, IDS[3]))].sort()
    assert.deepEqual(gone, expected)
    assert.deepEqual(r.removed.map((f) => f.path).sort(), expected.map((rel) => join(configDir, rel)).sort())
    for (const f of r.removed) {
      assert.ok(KINDS.includes(f.kind) && f.path.includes(`/state/${f.kind}/`), f.path)
      assert.equal(f.bytes, Buffer.from(before[join('state', f.kind, 'demo-app', 'dev', `${f.updateId}.json`)], 'base64').length)
    }
    assert.equal(r.bytes, r.removed.reduce((sum, f) => sum + f.bytes, 0))
  })

  test('dryRun reports the same files and removes nothing', async () => {
    const { dir, configDir } = fixture()
    const before = snapshot(configDir)
    const dry = await pruneStage({ stage: 'dev', cwd: dir, configDir, keep: 1, dryRun: true })
    assert.equal(dry.dryRun, true)
    assert.deepEqual(dry.kept, [IDS[0]])
    assert.equal(dry.removed.length, 3 * 3 + 1)
    assert.deepEqual(snapshot(configDir), before)
    const done = await pruneStage({ stage: 'dev', cwd: dir, configDir, keep: 1 })
    assert.deepEqual(done.removed, dry.removed)
    assert.deepEqual(readdirSync(join(configDir, 'state', 'update', 'demo-app', 'dev')).sort(), [`${IDS[0]}.json`, 'notes.json'])
  })

  test('an unknown option, or a keep that is not a whole number, is INVALID_OPTION; nothing removed', async () => {
    const { dir, configDir } = fixture()
    const before = snapshot(configDir)
    await assert.rejects(pruneStage({ stage: 'dev', cwd: dir, configDir, keep: 1, dryrun: true }), { code: 'INVALID_OPTION', message: /unknown option dryrun \(did you mean dryRun\?\)/ })
    for (const keep of [-1, 1.5, 2 ** 32, Number.NaN]) {
      await assert.rejects(pruneStage({ stage: 'dev', cwd: dir, configDir, keep }), { code: 'INVALID_OPTION', message: /options\.keep/ }, String(keep))
    }
    await assert.rejects(pruneStage({ stage: 'dev', cwd: dir, configDir }), { code: 'INVALID_OPTION', message: /keep/ })
    assert.deepEqual(snapshot(configDir), before)
  })
})
