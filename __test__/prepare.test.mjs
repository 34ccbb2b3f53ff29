// prepareStage / `sst-local-state prepare` / status, end to end with the real
// SST CLI: secrets set by SST on machine A come back on machine B.
// Expensive setup runs inside tests (bun caps hooks at 5 s).
import { test, describe, after } from 'node:test'
import assert from 'node:assert/strict'
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync, existsSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { createRequire } from 'node:module'

import { makeSstProject, runSst } from './helpers/sst.mjs'
import { SLOW, assertOk, cleanup, cli, removeAtCleanup, snapshot, tempDir } from './helpers/common.mjs'

const require = createRequire(import.meta.url)
const { prepareStage, stageStatus } = require('../index.js')

after(cleanup)

/** The shared scenario: SST on machine A sets secrets; its files go to the repo layout. */
let scenario
async function machineA() {
  if (scenario) return scenario
  const project = await makeSstProject()
  removeAtCleanup(project.dir)
  const homeA = tempDir('sls-home-a-')
  assertOk(runSst(['secret', 'set', 'MySecret', 'value-from-a', '--stage', 'dev'], { cwd: project.dir, configHome: homeA }), 'secret set')
  assertOk(runSst(['secret', 'set', 'Shared', 'fallback-from-a', '--fallback', '--stage', 'dev'], { cwd: project.dir, configHome: homeA }), 'secret set --fallback')
  const cfgA = join(homeA, 'sst', 'state')
  const checkpoint = JSON.stringify({
    version: 3,
    checkpoint: {
      stack: 'organization/demo-app/dev',
      latest: {
        manifest: { time: '2024-01-01T00:00:00Z', magic: 'm', version: 'v3.100.0' },
        resources: [{ urn: 'urn:pulumi:dev::demo-app::pulumi:pulumi:Stack::demo-app-dev', custom: false, type: 'pulumi:pulumi:Stack' }],
      },
    },
  })
  mkdirSync(join(cfgA, 'app', 'demo-app'), { recursive: true })
  writeFileSync(join(cfgA, 'app', 'demo-app', 'dev.json'), checkpoint)
  // the repository layout, exactly what commit produces
  const state = join(project.dir, 'infra', 'state')
  for (const [key, file] of [['app', 'dev'], ['passphrase', 'dev'], ['secret', 'dev'], ['secret', '_fallback'], ['passphrase', '_fallback']]) {
    mkdirSync(join(state, key), { recursive: true })
    cpSync(join(cfgA, key, 'demo-app', `${file}.json`), join(state, key, `${file}.json`))
  }
  scenario = { project: project.dir, state, checkpoint }
  return scenario
}

describe('prepare with the real SST CLI', () => {
  test('secrets set on machine A are listed by SST on machine B after prepare', SLOW, async () => {
    const { project, checkpoint } = await machineA()
    const homeB = tempDir('sls-home-b-')
    const result = await prepareStage({ stage: 'dev', cwd: project, configDir: join(homeB, 'sst') })
    assert.equal(result.app, 'demo-app') // read from sst.config.ts
    assert.equal(result.firstDeploy, false)
    assert.deepEqual(result.files.map((f) => [f.kind, f.action]), [
      ['passphrase', 'written'], ['fallbackPassphrase', 'written'], ['secret', 'written'], ['fallbackSecret', 'written'], ['app', 'written'],
    ])
    assert.equal(result.checkpoint.resources, 1)

    const list = assertOk(runSst(['secret', 'list', '--stage', 'dev'], { cwd: project, configHome: homeB }), 'secret list', { stdout: false })
    assert.match(list.stdout, /^MySecret=value-from-a$/m)
    assert.match(list.stdout, /^Shared=fallback-from-a$/m)
    const fallback = assertOk(runSst(['secret', 'list', '--fallback', '--stage', 'dev'], { cwd: project, configHome: homeB }), 'secret list --fallback', { stdout: false })
    assert.match(fallback.stdout, /^Shared=fallback-from-a$/m)
    const exported = assertOk(runSst(['state', 'export', '--stage', 'dev'], { cwd: project, configHome: homeB }), 'state export')
    const printed = JSON.parse(exported.stdout)
    const expected = JSON.parse(checkpoint).checkpoint
    assert.equal(printed.stack, expected.stack)
    assert.deepEqual(printed.latest.resources.map((r) => r.urn), expected.latest.resources.map((r) => r.urn))
    // SST's files are private on B, unlike SST's own 0644
    assert.equal(statSync(join(homeB, 'sst', 'state', 'passphrase', 'demo-app', 'dev.json')).mode & 0o777, 0o600)

    const status = await stageStatus({ stage: 'dev', cwd: project, configDir: join(homeB, 'sst') })
    assert.equal(status.clean, true)
    assert.equal(status.files.length, 5, JSON.stringify(status.files))
    assert.ok(status.files.every((f) => f.state === 'in-sync'), JSON.stringify(status.files))
  })

  test('without prepare, SST on machine B has no secrets (the seed recipe loses them)', SLOW, async () => {
    const { project } = await machineA()
    const homeC = tempDir('sls-home-c-')
    const list = runSst(['secret', 'list', '--stage', 'dev'], { cwd: project, configHome: homeC })
    assert.doesNotMatch(list.stdout, /MySecret=/)
  })
})

describe('prepare errors: code from JS and CLI, nothing changed', () => {
  const breakages = [
    ['STATE_EMPTY', (s) => writeFileSync(join(s, 'app', 'dev.json'), '')],
    ['STATE_CORRUPT', (s) => writeFileSync(join(s, 'app', 'dev.json'), '{"version": 3, "checkpoint": ')],
    ['PASSPHRASE_INVALID', (s) => writeFileSync(join(s, 'passphrase', 'dev.json'), 'not-a-passphrase')],
    ['PASSPHRASE_MISSING', (s) => rmSync(join(s, 'passphrase', 'dev.json'))],
    ['SECRET_UNDECRYPTABLE', (s) => writeFileSync(join(s, 'secret', 'dev.json'), readFileSync(join(s, 'secret', '_fallback.json')))],
  ]
  for (const [code, breakIt] of breakages) {
    test(code, SLOW, async () => {
      const { project } = await machineA()
      const copy = tempDir('sls-bad-')
      cpSync(project, copy, { recursive: true, verbatimSymlinks: true })
      const configDir = join(tempDir('sls-home-'), 'sst')
      // a previous good prepare, then the repository breaks
      await prepareStage({ stage: 'dev', cwd: copy, configDir })
      breakIt(join(copy, 'infra', 'state'))
      const before = snapshot(configDir)
      await assert.rejects(prepareStage({ stage: 'dev', cwd: copy, configDir }), (err) => {
        assert.ok(err instanceof Error)
        assert.equal(err.code, code)
        assert.match(err.message, /infra\/state\//)
        assert.doesNotMatch(err.message, /value-from-a|fallback-from-a/)
        return true
      })
      const res = cli(['prepare', '--stage', 'dev', '--config-dir', configDir, '--json'], copy)
      assert.equal(res.status, 1)
      assert.equal(JSON.parse(res.stdout).error.code, code)
      const human = cli(['prepare', '--stage', 'dev', '--config-dir', configDir], copy)
      assert.equal(human.status, 1)
      assert.match(human.stderr, new RegExp(`^error\\[${code}\\]`))
      assert.deepEqual(snapshot(configDir), before)
    })
  }

  test('INVALID_STAGE, INVALID_APP and STAGE_REQUIRED, before any file is touched', SLOW, async () => {
    const { project } = await machineA()
    const configDir = join(tempDir('sls-home-'), 'sst')
    await assert.rejects(prepareStage({ stage: '../x', cwd: project, configDir }), { code: 'INVALID_STAGE', message: /options\.stage/ })
    await assert.rejects(prepareStage({ stage: 'dev', app: 'a/b', cwd: project, configDir }), { code: 'INVALID_APP' })
    await assert.rejects(prepareStage({ cwd: project, configDir }), { code: 'STAGE_REQUIRED' })
    const res = cli(['prepare', '--stage', '_fallback', '--config-dir', configDir, '--json'], project)
    assert.equal(res.status, 1)
    assert.equal(JSON.parse(res.stdout).error.code, 'INVALID_STAGE')
    assert.equal(existsSync(configDir), false)
  })
})

describe('unsaved state', () => {
  test('a local deploy is kept; once the repository moves too it is UNSAVED_STATE; --force backs it up byte for byte', SLOW, async () => {
    const { project } = await machineA()
    const configDir = join(tempDir('sls-home-'), 'sst')
    await prepareStage({ stage: 'dev', cwd: project, configDir })
    const local = join(configDir, 'state', 'app', 'demo-app', 'dev.json')
    const localBytes = '{"version":3,"checkpoint":{"stack":"organization/demo-app/dev","latest":{"resources":[]}}}'
    writeFileSync(local, localBytes)
    const st = await stageStatus({ stage: 'dev', cwd: project, configDir })
    assert.equal(st.files.find((f) => f.kind === 'app').state, 'changed-in-config-dir')
    // only the config dir moved (SST deployed here): kept, prepare succeeds
    const kept = await prepareStage({ stage: 'dev', cwd: project, configDir })
    assert.equal(kept.files.find((f) => f.kind === 'app').action, 'kept')
    assert.ok(kept.warnings.some((w) => w.code === 'UNSAVED' && w.message.includes('commit')), JSON.stringify(kept.warnings))
    const keptCli = cli(['prepare', '--stage', 'dev', '--config-dir', configDir], project)
    assert.equal(keptCli.status, 0, keptCli.stderr)
    assert.match(keptCli.stderr, /^warning\[UNSAVED\]: .*dev\.json changed since it was last synced/m)
    assert.equal(readFileSync(local, 'utf8'), localBytes)
    // the repository moves as well: a real divergence
    const repoState = join(project, 'infra', 'state', 'app', 'dev.json')
    const original = readFileSync(repoState)
    try {
    const theirs = JSON.parse(readFileSync(repoState, 'utf8'))
    theirs.checkpoint.latest.resources = theirs.checkpoint.latest.resources ?? []
    theirs.checkpoint.latest.resources.push({ urn: 'urn:pulumi:dev::demo-app::x:y:Z::moved-in-repo', type: 'x:y:Z' })
    writeFileSync(repoState, JSON.stringify(theirs))
    await assert.rejects(prepareStage({ stage: 'dev', cwd: project, configDir }), (err) => {
      assert.equal(err.code, 'UNSAVED_STATE')
      assert.ok(err.message.includes(local))
      assert.ok(err.message.includes('`force: true`'), err.message)
      assert.deepEqual(err.files, [local])
      return true
    })
    const refused = cli(['prepare', '--stage', 'dev', '--config-dir', configDir], project)
    assert.equal(refused.status, 4)
    assert.match(refused.stderr + refused.stdout, /--force/)
    const refusedJson = cli(['prepare', '--stage', 'dev', '--config-dir', configDir, '--json'], project)
    assert.deepEqual(JSON.parse(refusedJson.stdout).error.files, [local])
    assert.equal(readFileSync(local, 'utf8'), localBytes)

    const forced = cli(['prepare', '--stage', 'dev', '--config-dir', configDir, '--force'], project)
    assert.equal(forced.status, 0, forced.stderr)
    const backupDir = /backed up the replaced config-dir files to (.+)$/m.exec(forced.stdout)[1]
    assert.equal(readFileSync(join(backupDir, 'state', 'app', 'demo-app', 'dev.json'), 'utf8'), localBytes)
    assert.equal(readFileSync(local, 'utf8'), readFileSync(repoState, 'utf8'))
    } finally {
      writeFileSync(repoState, original) // machineA() is shared by the tests of this file
    }
  })
})

describe('CLI prepare output', () => {
  test('one line per file, the total time; --dry-run writes nothing; status --json', SLOW, async () => {
    const { project } = await machineA()
    const configDir = join(tempDir('sls-home-'), 'sst')
    const dry = assertOk(cli(['prepare', '--stage', 'dev', '--config-dir', configDir, '--dry-run'], project), 'dry run')
    assert.equal(dry.stdout.match(/^ {2}would write /gm).length, 5)
    assert.equal(existsSync(configDir), false)
    const real = assertOk(cli(['prepare', '--stage', 'dev', '--config-dir', configDir], project), 'prepare')
    assert.equal(real.stdout.match(/^ {2}written /gm).length, 5)
    assert.match(real.stdout, /^done in \d+ ms$/m)
    assert.doesNotMatch(real.stdout + real.stderr, /value-from-a/)
    const st = JSON.parse(assertOk(cli(['status', '--stage', 'dev', '--config-dir', configDir, '--json'], project), 'status').stdout)
    assert.equal(st.clean, true)
    assert.equal(st.repoCheckpoint.resources, 1)
    assert.equal(st.sstLock, null)
  })
})
