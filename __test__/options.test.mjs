// Project discovery and option precedence through the JS API and the CLI:
// app name from sst.config.ts, package.json settings, env, and the errors
// for names that cannot be resolved.
import { test, describe, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createRequire } from 'node:module'

import { REPO_ROOT } from './helpers/sst.mjs'

const require = createRequire(import.meta.url)
const { prepareStage } = require('../index.js')

const temps = []
after(() => temps.forEach((d) => rmSync(d, { recursive: true, force: true })))

function project(config, pkg) {
  const dir = mkdtempSync(join(tmpdir(), 'sls-opt-'))
  temps.push(dir)
  writeFileSync(join(dir, 'sst.config.ts'), config)
  if (pkg) writeFileSync(join(dir, 'package.json'), JSON.stringify(pkg))
  return { dir, configDir: join(dir, '.cfg', 'sst') }
}

function cli(args, cwd, env = {}) {
  const res = spawnSync(process.execPath, [join(REPO_ROOT, 'cli.js'), ...args], { cwd, encoding: 'utf8', env: { ...process.env, ...env } })
  return { status: res.status, json: res.stdout ? JSON.parse(res.stdout) : null, stderr: res.stderr }
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
    const dir = mkdtempSync(join(tmpdir(), 'sls-none-'))
    temps.push(dir)
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
