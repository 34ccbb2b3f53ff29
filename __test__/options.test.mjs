// Project discovery and option precedence through the JS API and the CLI:
// app name from sst.config.ts, package.json settings, env, and the errors
// for names that cannot be resolved; unknown keys of JS options objects;
// the passphraseMode option (the CLI's --passphrase).
import { test, describe, after } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs'
import { join } from 'node:path'
import { createRequire } from 'node:module'

import { cleanup, cli, gitOk, node, snapshot, tempDir } from './helpers/common.mjs'
import { REPO_ROOT } from './helpers/sst.mjs'

const require = createRequire(import.meta.url)
const { prepareStage, stageStatus, commitStage, resolveConfigDir } = require('../index.js')

after(cleanup)

function project(config, pkg) {
  const dir = tempDir('sls-opt-')
  writeFileSync(join(dir, 'sst.config.ts'), config)
  if (pkg) writeFileSync(join(dir, 'package.json'), JSON.stringify(pkg))
  return { dir, configDir: join(dir, '.cfg', 'sst') }
}

const LOCAL = (name) => `/// <reference path="./.sst/platform/config.d.ts" />
export default $config({
  // comments and types around
  async app(input: { stage?: string }) {
    return { name: ${name}, removal: input?.stage === "production" ? "retain" : "remove", home: "local" } satisfies Record<string, unknown>;
  },
  async run() {},
});`

describe('app name and home', () => {
  test('read statically from sst.config.ts, found from a subdirectory', async () => {
    const p = project(LOCAL('`my-app`'))
    mkdirSync(join(p.dir, 'packages', 'web'), { recursive: true })
    const r = await prepareStage({ stage: 'dev', cwd: join(p.dir, 'packages', 'web'), configDir: p.configDir })
    assert.equal(r.app, 'my-app')
    assert.equal(r.projectRoot, p.dir)
  })
  test('APP_NAME_UNRESOLVED for a non-literal name, from JS and the CLI; --app resolves it', async () => {
    const p = project(LOCAL('process.env.APP_NAME'))
    await assert.rejects(prepareStage({ stage: 'dev', cwd: p.dir, configDir: p.configDir }), { code: 'APP_NAME_UNRESOLVED', message: /--app/ })
    const res = cli(['prepare', '--stage', 'dev', '--config-dir', p.configDir, '--json'], p.dir)
    assert.equal(res.status, 1)
    assert.equal(res.json.error.code, 'APP_NAME_UNRESOLVED')
    assert.equal(cli(['prepare', '--stage', 'dev', '--app', 'given', '--config-dir', p.configDir, '--json'], p.dir).json.app, 'given')
    assert.equal(cli(['prepare', '--stage', 'dev', '--config-dir', p.configDir, '--json'], p.dir, { SST_LOCAL_STATE_APP: 'from-env' }).json.app, 'from-env')
  })
  test('HOME_NOT_LOCAL for a static home other than "local"; nothing written', async () => {
    const p = project(LOCAL('"x"').replace('home: "local"', 'home: "aws"'))
    await assert.rejects(prepareStage({ stage: 'dev', cwd: p.dir, configDir: p.configDir }), { code: 'HOME_NOT_LOCAL' })
    const res = cli(['prepare', '--stage', 'dev', '--config-dir', p.configDir, '--json'], p.dir)
    assert.equal(res.json.error.code, 'HOME_NOT_LOCAL')
    assert.equal(existsSync(p.configDir), false)
  })
  test('PROJECT_NOT_FOUND outside any SST project', async () => {
    const dir = tempDir('sls-none-')
    await assert.rejects(prepareStage({ stage: 'dev', cwd: dir }), { code: 'PROJECT_NOT_FOUND' })
  })
})

describe('precedence: option > env > package.json > default', () => {
  test('stateDir and app from package.json, overridden by env, overridden by flags', async () => {
    const p = project(LOCAL('"cfg-app"'), { name: 'x', sstLocalState: { app: 'pkg-app', stateDir: 'deploy/state' } })
    const base = ['prepare', '--stage', 'dev', '--config-dir', p.configDir, '--json']
    let res = cli(base, p.dir)
    assert.equal(res.json.app, 'pkg-app')
    assert.equal(res.json.stateDir, join(p.dir, 'deploy', 'state'))
    res = cli(base, p.dir, { SST_LOCAL_STATE_APP: 'env-app', SST_LOCAL_STATE_STATE_DIR: 'env/state' })
    assert.equal(res.json.app, 'env-app')
    assert.equal(res.json.stateDir, join(p.dir, 'env', 'state'))
    res = cli([...base, '--app', 'flag-app', '--state-dir', 'flag/state'], p.dir, { SST_LOCAL_STATE_APP: 'env-app' })
    assert.equal(res.json.app, 'flag-app')
    assert.equal(res.json.stateDir, join(p.dir, 'flag', 'state'))
  })
  test('stage from SST_STAGE; an invalid one names the variable', async () => {
    const p = project(LOCAL('"a"'))
    assert.equal(cli(['prepare', '--config-dir', p.configDir, '--json'], p.dir, { SST_STAGE: 'qa' }).json.stage, 'qa')
    const bad = cli(['prepare', '--config-dir', p.configDir, '--json'], p.dir, { SST_STAGE: '../qa' })
    assert.equal(bad.json.error.code, 'INVALID_STAGE')
    assert.match(bad.json.error.message, /SST_STAGE/)
  })
  test('a stateDir escaping the project is INVALID_OPTION naming the flag', () => {
    const p = project(LOCAL('"a"'))
    const res = cli(['prepare', '--stage', 'dev', '--state-dir', '../../etc', '--config-dir', p.configDir, '--json'], p.dir)
    assert.equal(res.json.error.code, 'INVALID_OPTION')
    assert.match(res.json.error.message, /--state-dir/)
  })
  test('STATE_MISSING with --require-state on a first deploy', () => {
    const p = project(LOCAL('"a"'))
    assert.equal(cli(['prepare', '--stage', 'dev', '--config-dir', p.configDir, '--json'], p.dir).json.firstDeploy, true)
    const res = cli(['prepare', '--stage', 'dev', '--require-state', '--config-dir', p.configDir, '--json'], p.dir)
    assert.equal(res.status, 1)
    assert.equal(res.json.error.code, 'STATE_MISSING')
  })
})

const checkpoint = (urns) =>
  JSON.stringify({ version: 3, checkpoint: { stack: 'organization/a/prod', latest: { resources: urns.map((urn) => ({ urn, type: 't' })) } } })

/**
 * A project in git with stage prod's state committed, prepared into a config dir outside it,
 * where a deploy then changed the checkpoint: what commit would save, and prepare overwrite.
 */
async function deployedProject() {
  const p = project(LOCAL('"a"'))
  const configDir = tempDir('sls-opt-cfg-')
  mkdirSync(join(p.dir, 'infra', 'state', 'app'), { recursive: true })
  mkdirSync(join(p.dir, 'infra', 'state', 'passphrase'), { recursive: true })
  writeFileSync(join(p.dir, 'infra', 'state', 'app', 'prod.json'), checkpoint(['urn:a']))
  writeFileSync(join(p.dir, 'infra', 'state', 'passphrase', 'prod.json'), Buffer.alloc(32, 7).toString('base64'))
  gitOk(['init', '-q', '-b', 'main'], p.dir)
  gitOk(['add', '-A'], p.dir)
  gitOk(['commit', '-q', '-m', 'initial'], p.dir)
  await prepareStage({ stage: 'prod', cwd: p.dir, configDir })
  writeFileSync(join(configDir, 'state', 'app', 'a', 'prod.json'), checkpoint(['urn:a', 'urn:b']))
  return { dir: p.dir, configDir }
}

describe('unknown keys of options objects are INVALID_OPTION, before anything is done', () => {
  const typo = { code: 'INVALID_OPTION', message: /unknown option dryrun \(did you mean dryRun\?\)/ }

  test('prepareStage: nothing written', async () => {
    const p = await deployedProject()
    const before = [snapshot(p.dir), snapshot(p.configDir)]
    await assert.rejects(prepareStage({ stage: 'prod', cwd: p.dir, configDir: p.configDir, dryrun: true }), typo)
    await assert.rejects(prepareStage({ stage: 'prod', cwd: p.dir, configDir: p.configDir, force: true, requiredState: true }), {
      code: 'INVALID_OPTION',
      message: /requiredState \(did you mean requireState\?\)/,
    })
    assert.deepEqual([snapshot(p.dir), snapshot(p.configDir)], before)
  })

  test('the CLI: an unknown flag is INVALID_OPTION naming the nearest one; nothing written', async () => {
    const p = await deployedProject()
    const before = [snapshot(p.dir), snapshot(p.configDir)]
    const text = cli(['prepare', '--stage', 'prod', '--config-dir', p.configDir, '--dryrun'], p.dir)
    assert.equal(text.status, 2)
    assert.match(text.stderr, /^error\[INVALID_OPTION\]: invalid --dryrun: unknown option \(did you mean --dry-run\?\)/)
    const json = cli(['--json', 'prepare', '--stage', 'prod', '--config-dir', p.configDir, '--forse'], p.dir)
    assert.equal(json.status, 2)
    const { error } = json.json
    assert.equal(error.code, 'INVALID_OPTION')
    assert.equal(error.option, '--forse')
    assert.match(error.message, /did you mean --force\?/)
    assert.deepEqual([snapshot(p.dir), snapshot(p.configDir)], before)
  })

  test('commitStage: no commit, nothing written', async () => {
    const p = await deployedProject()
    const head = gitOk(['rev-parse', 'HEAD'], p.dir)
    const before = [snapshot(p.dir), snapshot(p.configDir)]
    await assert.rejects(commitStage({ stage: 'prod', cwd: p.dir, configDir: p.configDir, push: false, dryrun: true }), typo)
    await assert.rejects(commitStage({ stage: 'prod', cwd: p.dir, configDir: p.configDir, local: true }), {
      code: 'INVALID_OPTION',
      message: /unknown option local; it takes stage, app, .*push, dryRun, keepLock$/,
    })
    assert.equal(gitOk(['rev-parse', 'HEAD'], p.dir), head)
    assert.deepEqual([snapshot(p.dir), snapshot(p.configDir)], before)
  })

  test('stageStatus and resolveConfigDir', async () => {
    const p = await deployedProject()
    const before = snapshot(p.configDir)
    await assert.rejects(stageStatus({ stage: 'prod', cwd: p.dir, configdir: p.configDir }), {
      code: 'INVALID_OPTION',
      message: /configdir \(did you mean configDir\?\)/,
    })
    assert.deepEqual(snapshot(p.configDir), before)
    assert.throws(() => resolveConfigDir({ platfrom: 'linux' }), { code: 'INVALID_OPTION', message: /platfrom \(did you mean platform\?\)/ })
  })

  test('keys whose value is undefined are accepted; values of the wrong type and non-objects are INVALID_OPTION', async () => {
    const p = await deployedProject()
    const before = snapshot(p.configDir)
    const r = await prepareStage({ stage: 'prod', cwd: p.dir, configDir: p.configDir, force: true, dryRun: true, dryrun: undefined })
    assert.equal(r.dryRun, true)
    assert.deepEqual(snapshot(p.configDir), before)
    assert.equal(resolveConfigDir({ platform: 'linux', env: { HOME: '/h' }, platfrom: undefined }), '/h/.config/sst')
    await assert.rejects(prepareStage({ stage: 'prod', cwd: p.dir, configDir: p.configDir, dryRun: 'yes' }), { code: 'INVALID_OPTION', message: /dryRun/ })
    await assert.rejects(prepareStage('prod'), { code: 'INVALID_OPTION', message: /expected an object, got string/ })
    assert.deepEqual(snapshot(p.configDir), before)
  })
})

describe('options are the object\'s own properties: a polluted Object.prototype is never read', () => {
  test('stage, force and dryRun on Object.prototype change nothing; resolveConfigDir\'s env ignores inherited keys', async () => {
    const p = await deployedProject()
    const fresh = tempDir('sls-opt-fresh-')
    const before = snapshot(p.configDir)
    // a child process: the pollution must not reach this test process (bun runs every file in one)
    const script = `
      const sls = require(${JSON.stringify(join(REPO_ROOT, 'index.js'))})
      const { dir, configDir, fresh } = JSON.parse(process.env.SLS_PATHS)
      const outcome = (promise) => promise.then((r) => ({ dryRun: r.dryRun, stage: r.stage }), (e) => ({ code: e.code }))
      Object.prototype.stage = 'prod'
      Object.prototype.force = true
      Object.prototype.dryRun = true
      Object.prototype.XDG_CONFIG_HOME = '/evil'
      ;(async () => {
        const out = {
          noStage: await outcome(sls.prepareStage({ cwd: dir, configDir })),
          unsaved: await outcome(sls.prepareStage({ stage: 'prod', cwd: dir, configDir })),
          fresh: await outcome(sls.prepareStage({ stage: 'prod', cwd: dir, configDir: fresh })),
          configDir: sls.resolveConfigDir({ platform: 'linux', env: { HOME: '/h' } }),
        }
        console.log(JSON.stringify(out))
      })()`
    const res = node(['-e', script], undefined, { SLS_PATHS: JSON.stringify({ dir: p.dir, configDir: p.configDir, fresh }) })
    assert.equal(res.status, 0, res.stdout + res.stderr)
    const out = JSON.parse(res.stdout)
    assert.deepEqual(out.noStage, { code: 'STAGE_REQUIRED' })
    // the deploy's changed checkpoint is kept: not overwritten (force), not a dry run
    assert.deepEqual(out.unsaved, { dryRun: false, stage: 'prod' })
    assert.deepEqual(snapshot(p.configDir), before)
    assert.deepEqual(out.fresh, { dryRun: false, stage: 'prod' })
    assert.equal(existsSync(join(fresh, 'state', 'app', 'a', 'prod.json')), true)
    assert.equal(out.configDir, '/h/.config/sst')
  })
})

/**
 * `sls[fn](options)` in a child process (node, or bun under `bun test`) whose environment is
 * BASE_ENV + `env`: under Bun, process.env assignments in this process do not reach the addon.
 * Returns `{ result }` or `{ error: { code, message } }`.
 */
function inChild(fn, options, env = {}) {
  const script = `
    const sls = require(${JSON.stringify(join(REPO_ROOT, 'index.js'))})
    sls[${JSON.stringify(fn)}](JSON.parse(process.env.SLS_OPTIONS)).then(
      (result) => console.log(JSON.stringify({ result })),
      (e) => console.log(JSON.stringify({ error: { code: e.code, message: e.message } })),
    )`
  const res = node(['-e', script], undefined, { ...env, SLS_OPTIONS: JSON.stringify(options) })
  assert.equal(res.status, 0, res.stdout + res.stderr)
  return JSON.parse(res.stdout)
}

describe('passphraseMode (the CLI\'s --passphrase)', () => {
  /** A project in git whose package.json says `plain`, no stage state yet. */
  function plainProject() {
    const p = project(LOCAL('"a"'), { name: 'x', sstLocalState: { passphrase: 'plain' } })
    gitOk(['init', '-q', '-b', 'main'], p.dir)
    gitOk(['add', '-A'], p.dir)
    gitOk(['commit', '-q', '-m', 'initial'], p.dir)
    return p
  }
  const passphraseFiles = (configDir) => ['dev.json', '_fallback.json'].map((f) => join(configDir, 'state', 'passphrase', 'a', f))

  test('"env": prepareStage writes the passphrase from SST_PASSPHRASE as --passphrase env does, commitStage never commits it; over env and package.json', async () => {
    const p = plainProject()
    const passphrase = randomBytes(32).toString('base64')
    const ci = { SST_PASSPHRASE: passphrase }
    const base = { stage: 'dev', cwd: p.dir, configDir: p.configDir }

    // without the variable: PASSPHRASE_MISSING naming it and where the mode was chosen
    const missing = inChild('prepareStage', { ...base, passphraseMode: 'env' })
    assert.equal(missing.error?.code, 'PASSPHRASE_MISSING', JSON.stringify(missing))
    assert.match(missing.error.message, /options\.passphraseMode/)
    assert.match(missing.error.message, /set SST_PASSPHRASE/)
    assert.equal(existsSync(p.configDir), false)

    // the option wins over env SST_LOCAL_STATE_PASSPHRASE_MODE and package.json
    const prepared = inChild('prepareStage', { ...base, passphraseMode: 'env' }, { ...ci, SST_LOCAL_STATE_PASSPHRASE_MODE: 'age' })
    assert.ok(prepared.result, JSON.stringify(prepared))
    for (const file of passphraseFiles(p.configDir)) assert.equal(readFileSync(file, 'utf8'), passphrase, file)
    // the CLI's --passphrase env does the same
    const cliConfig = join(tempDir('sls-opt-cfg-'), 'sst')
    const viaCli = cli(['prepare', '--stage', 'dev', '--config-dir', cliConfig, '--passphrase', 'env', '--json'], p.dir, ci)
    assert.equal(viaCli.status, 0, viaCli.stdout + viaCli.stderr)
    const actions = (files) => files.map((f) => [f.kind, f.action])
    assert.deepEqual(actions(prepared.result.files), actions(viaCli.json.files))
    for (const file of passphraseFiles(cliConfig)) assert.equal(readFileSync(file, 'utf8'), passphrase, file)
    // stageStatus reads the passphrase from the variable too
    const status = inChild('stageStatus', { ...base, passphraseMode: 'env' }, ci)
    assert.ok(status.result, JSON.stringify(status))
    assert.equal(status.result.passphrases.length, 2, JSON.stringify(status.result.passphrases))
    assert.ok(status.result.passphrases.every((x) => x.form === 'env' && x.decryptable), JSON.stringify(status.result.passphrases))

    // a deploy; package.json's plain mode would commit the passphrase, the option never does
    mkdirSync(join(p.configDir, 'state', 'app', 'a'), { recursive: true })
    writeFileSync(join(p.configDir, 'state', 'app', 'a', 'dev.json'), checkpoint(['urn:a']))
    const plain = inChild('commitStage', { ...base, push: false, dryRun: true }, ci)
    assert.ok(plain.result?.files.some((f) => f.path === 'infra/state/passphrase/dev.json'), JSON.stringify(plain))
    const committed = inChild('commitStage', { ...base, push: false, passphraseMode: 'env' }, ci)
    assert.equal(committed.result?.committed, true, JSON.stringify(committed))
    assert.deepEqual(committed.result.files.map((f) => f.path), ['infra/state/app/dev.json'])
    assert.doesNotMatch(gitOk(['ls-tree', '-r', '--name-only', 'HEAD'], p.dir), /infra\/state\/passphrase\//)
  })

  test('a value other than age, env or plain is INVALID_OPTION naming options.passphraseMode, nothing written', async () => {
    const p = plainProject()
    const base = { stage: 'dev', cwd: p.dir, configDir: p.configDir }
    const bad = { code: 'INVALID_OPTION', message: /options\.passphraseMode.*"aes" is not a passphrase mode: age, env or plain/ }
    await assert.rejects(prepareStage({ ...base, passphraseMode: 'aes' }), bad)
    await assert.rejects(stageStatus({ ...base, passphraseMode: 'aes' }), bad)
    await assert.rejects(commitStage({ ...base, push: false, passphraseMode: 'aes' }), bad)
    await assert.rejects(prepareStage({ ...base, passphraseMode: 1 }), { code: 'INVALID_OPTION' })
    await assert.rejects(prepareStage({ ...base, passphrasemode: 'env' }), { code: 'INVALID_OPTION', message: /did you mean passphraseMode\?/ })
    assert.equal(existsSync(p.configDir), false)
  })
})
