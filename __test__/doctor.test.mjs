// doctor through the CLI with the real SST CLI: a lock that a crashed
// deploy leaves is an error (exit 1) naming `sst unlock`, and after the real
// `sst unlock` the same project passes (exit 0, warnings only); the
// installed sst package is the version this release is tested with. And
// doctorStage(), which resolves with the same checks also when one fails.
import assert from 'node:assert/strict'
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'

import { REPO_ROOT, SST_VERSION, makeSstProject, runSst } from './helpers/sst.mjs'
import { SLOW, assertOk, cleanup, cli, gitOk, removeAtCleanup, tempDir } from './helpers/common.mjs'

after(cleanup)

const byName = (json, name) => json.checks.filter((c) => c.name === name)

describe('doctor', () => {
  test("SST's lock of a crashed deploy fails it; the real `sst unlock` fixes it", SLOW, async () => {
    const project = await makeSstProject()
    removeAtCleanup(project.dir)
    symlinkSync(join(REPO_ROOT, 'node_modules'), join(project.dir, 'node_modules'))
    gitOk(['init', '-q', '-b', 'main'], project.dir)
    gitOk(['add', '-A'], project.dir)
    gitOk(['commit', '-q', '-m', 'app'], project.dir)
    const configHome = tempDir('sls-doctor-home-')
    const configDir = join(configHome, 'sst')
    const doctor = () => cli(['doctor', '--stage', 'dev', '--config-dir', configDir, '--json'], project.dir)

    const lockDir = join(configDir, 'state', 'lock', 'demo-app')
    mkdirSync(lockDir, { recursive: true })
    writeFileSync(join(lockDir, 'dev.json'), JSON.stringify({ created: '2024-01-01T00:00:00Z', updateID: 'x', runID: 'y', command: 'deploy', ignore: true }))
    const failing = doctor()
    assert.equal(failing.status, 1, failing.stdout + failing.stderr)
    const [lock] = byName(failing.json, 'crashed-deploy')
    assert.equal(lock.level, 'error')
    assert.match(lock.fix, /sst unlock --stage dev/)

    assertOk(runSst(['unlock', '--stage', 'dev'], { cwd: project.dir, configHome }), 'sst unlock')
    const passing = assertOk(doctor(), 'doctor after sst unlock')
    assert.equal(passing.json.errors, 0)
    assert.equal(byName(passing.json, 'crashed-deploy')[0].level, 'ok')
    assert.deepEqual(byName(passing.json, 'sst-version')[0], { name: 'sst-version', level: 'ok', message: `sst ${SST_VERSION} (tested)` })
    assert.equal(byName(passing.json, 'sst-config')[0].level, 'ok')
    assert.equal(byName(passing.json, 'config-dir')[0].level, 'ok')

    const human = cli(['doctor', '--stage', 'dev', '--config-dir', configDir], project.dir)
    assert.equal(human.status, 0)
    assert.match(human.stdout, /^ok\s+sst-config\s+/m)
    assert.match(human.stdout, /^warning\s+passphrase-mode .*\n\s+fix: run `sst-local-state init`/m)
    assert.match(human.stdout, /0 error\(s\), \d+ warning\(s\)\n$/)
  })
})

describe('doctor: the push remote', () => {
  test('a dry-run push: accepted on the open URL, AUTH_FAILED without credentials; never the token', SLOW, async () => {
    const { gitServer, seededRepo, ciClone } = await import('./helpers/state-repo.mjs')
    const repo = await seededRepo('doctor')
    const server = await gitServer()
    const configDir = join(tempDir('sls-doctor-cfg-'), 'sst')
    const run = (dir, env = {}) => cli(['doctor', '--stage', 'dev', '--config-dir', configDir, '--json'], dir, { SST_LOCAL_STATE_BRANCH: 'main', ...env })

    const open = ciClone(repo.open)
    const ok = run(open)
    const [push] = byName(ok.json, 'git-push')
    assert.equal(push.level, 'ok', JSON.stringify(push))
    assert.match(push.message, /a push to main is accepted \(dry run/)
    assert.equal(gitOk(['--git-dir', repo.path, 'rev-parse', 'main']), gitOk(['rev-parse', 'HEAD'], open), 'a dry run changes nothing')

    const locked = ciClone(repo.open)
    gitOk(['remote', 'set-url', 'origin', repo.basic], locked)
    const denied = run(locked)
    assert.equal(denied.status, 1)
    const [fail] = byName(denied.json, 'git-push')
    assert.equal(fail.code, 'AUTH_FAILED', JSON.stringify(fail))
    assert.match(fail.fix, /contents: write/)

    const withToken = run(locked, { SST_LOCAL_STATE_GIT_TOKEN: server.token })
    const [granted] = byName(withToken.json, 'git-push')
    assert.equal(granted.level, 'ok', JSON.stringify(granted))
    assert.match(granted.message, /SST_LOCAL_STATE_GIT_TOKEN/)
    assert.ok(!withToken.stdout.includes(server.token), 'the token is never printed')
  })
})

describe('doctorStage', () => {
  const { doctorStage } = createRequire(import.meta.url)(join(REPO_ROOT, 'index.js'))
  const levels = (r) => r.checks.filter((c) => c.name !== 'ci').map((c) => `${c.name} ${c.level}`)

  /**
   * A project in git (no remote) with dev's valid state committed (a checkpoint and its
   * passphrase, plain: allowed by package.json), and a config dir.
   */
  function project() {
    const dir = tempDir('sls-doctor-js-')
    writeFileSync(join(dir, 'sst.config.ts'), 'export default $config({ app() { return { name: "demo-app", home: "local" } }, async run() {} })\n')
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'demo', sstLocalState: { plaintextPassphrase: true } }))
    for (const sub of ['app', 'passphrase']) mkdirSync(join(dir, 'infra', 'state', sub), { recursive: true })
    const urns = ['urn:a', 'urn:b', 'urn:c']
    writeFileSync(join(dir, 'infra', 'state', 'app', 'dev.json'), JSON.stringify({ version: 3, checkpoint: { latest: { resources: urns.map((urn) => ({ urn, type: 't' })) } } }))
    writeFileSync(join(dir, 'infra', 'state', 'passphrase', 'dev.json'), Buffer.alloc(32, 7).toString('base64'))
    gitOk(['init', '-q', '-b', 'main'], dir)
    gitOk(['add', '-A'], dir)
    gitOk(['commit', '-q', '-m', 'state'], dir)
    return { dir, configDir: join(dir, '.cfg', 'sst') }
  }

  test("resolves with every check; SST's lock of a crashed deploy is an error check and counted, as the CLI (exit 1) reports it", async () => {
    const { dir, configDir } = project()
    const lock = join(configDir, 'state', 'lock', 'demo-app', 'dev.json')
    mkdirSync(join(lock, '..'), { recursive: true })
    writeFileSync(lock, JSON.stringify({ created: '2024-01-01T00:00:00Z', updateID: 'x', runID: 'y', command: 'deploy' }))
    const r = await doctorStage({ stage: 'dev', cwd: dir, configDir })
    assert.equal(r.stage, 'dev')
    assert.deepEqual(r.checks.map((c) => c.name), ['sst-config', 'config-dir', 'passphrase-mode', 'git', 'state-files', 'crashed-deploy', 'ci', 'sst-version'])
    const [crashed] = r.checks.filter((c) => c.name === 'crashed-deploy')
    assert.equal(crashed.level, 'error')
    assert.match(crashed.message, /deploy/)
    assert.match(crashed.fix, /sst unlock --stage dev/)
    const [state] = r.checks.filter((c) => c.name === 'state-files')
    assert.equal(state.level, 'ok')
    assert.match(state.message, /3 resources/)
    assert.equal(state.fix, undefined)
    assert.ok(r.errors > 0)
    assert.equal(r.errors, r.checks.filter((c) => c.level === 'error').length)
    assert.equal(r.warnings, r.checks.filter((c) => c.level === 'warning').length)
    for (const c of r.checks) assert.ok(['ok', 'warning', 'error'].includes(c.level), JSON.stringify(c))
    const res = cli(['doctor', '--stage', 'dev', '--config-dir', configDir, '--json'], dir)
    assert.equal(res.status, 1, res.stdout + res.stderr)
    assert.deepEqual(levels(r), levels(res.json))

    rmSync(lock)
    const fixed = await doctorStage({ stage: 'dev', cwd: dir, configDir })
    assert.equal(fixed.checks.find((c) => c.name === 'crashed-deploy').level, 'ok')
    assert.equal(fixed.errors, 0, JSON.stringify(fixed.checks))
    assert.equal(cli(['doctor', '--stage', 'dev', '--config-dir', configDir, '--json'], dir).status, 0)
  })

  test('a failed check never rejects: outside a project, one error check with its code', async () => {
    const r = await doctorStage({ stage: 'dev', cwd: tempDir('sls-doctor-none-') })
    assert.deepEqual(r.checks.map((c) => [c.name, c.level, c.code]), [['sst-config', 'error', 'PROJECT_NOT_FOUND']])
    // said in JS terms (the CLI's says `pass --cwd <dir>`)
    assert.match(r.checks[0].fix, /set the `cwd` option/)
    assert.doesNotMatch(r.checks[0].fix, /--cwd/)
    assert.equal(r.errors, 1)
  })

  test("without a stage: the stage's checks are skipped, with a warning", { skip: process.env.SST_STAGE ? 'SST_STAGE is set here' : false }, async () => {
    const { dir, configDir } = project()
    const r = await doctorStage({ cwd: dir, configDir })
    assert.equal(r.stage, undefined)
    const stage = r.checks.find((c) => c.name === 'stage')
    assert.equal(stage.level, 'warning')
    assert.match(stage.fix, /set the `stage` option or set SST_STAGE/)
    // every check but the stage's own (state-files, crashed-deploy, stage-lock); no git-push outside a repository
    assert.deepEqual(r.checks.map((c) => c.name), ['sst-config', 'config-dir', 'passphrase-mode', 'git', 'stage', 'ci', 'sst-version'])
  })

  test('passphraseMode is honoured: env mode reads the passphrase from SST_PASSPHRASE (absent here), a bad value rejects with INVALID_OPTION, as the CLI refuses it', { skip: process.env.SST_PASSPHRASE ? 'SST_PASSPHRASE is set here' : false }, async () => {
    const { dir, configDir } = project()
    const plain = await doctorStage({ stage: 'dev', cwd: dir, configDir })
    assert.equal(plain.checks.find((c) => c.name === 'state-files').level, 'ok')
    const env = await doctorStage({ stage: 'dev', cwd: dir, configDir, passphraseMode: 'env' })
    const state = env.checks.find((c) => c.name === 'state-files')
    assert.equal(state.level, 'error', JSON.stringify(state))
    assert.equal(state.code, 'PASSPHRASE_MISSING')
    assert.match(state.message, /SST_PASSPHRASE/)
    await assert.rejects(doctorStage({ stage: 'dev', cwd: dir, configDir, passphraseMode: 'aes' }), { code: 'INVALID_OPTION', message: /options\.passphraseMode: "aes" is not a passphrase mode/ })
    // as the CLI refuses the flag's value (a usage error, not a failed check)
    const res = cli(['doctor', '--stage', 'dev', '--config-dir', configDir, '--passphrase', 'aes', '--json'], dir)
    assert.equal(res.status, 2, res.stdout + res.stderr)
    assert.equal(res.json.error.code, 'USAGE')
  })

  test('an unknown option is INVALID_OPTION naming the key (a rejection, not a check)', async () => {
    const { dir } = project()
    await assert.rejects(doctorStage({ stage: 'dev', cwd: dir, confDir: '/tmp' }), { code: 'INVALID_OPTION', message: /unknown option confDir \(did you mean configDir\?\)/ })
  })
})
