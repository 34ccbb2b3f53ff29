// A hostile sst.config.ts (nesting deep enough to overflow a recursive
// parser's stack) through the CLI and the JS API, each in a child process so
// that a crash is seen as a signal: a stable error code, never a crash; with
// the app name given the config is not needed.
import { test, describe, after } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

import { REPO_ROOT } from './helpers/sst.mjs'
import { cleanup, cli, node, tempDir } from './helpers/common.mjs'

after(cleanup)

function deepProject(depth) {
  const dir = tempDir('sls-deep-')
  const x = `${'['.repeat(depth)}0${']'.repeat(depth)}`
  writeFileSync(join(dir, 'sst.config.ts'), `export default $config({ app() { return { name: "a", home: "local", x: ${x} } }, async run() {} })\n`)
  return { dir, configDir: join(dir, '.cfg', 'sst') }
}

/** `sst-local-state prepare --stage dev --cwd <dir>` with --json. */
function cliPrepare(p, extra = []) {
  return cli(['prepare', '--stage', 'dev', '--cwd', p.dir, '--config-dir', p.configDir, '--json', ...extra])
}

/** prepareStage(options) in a child process; resolves to `{ app, warnings }` or `{ code, message }`. */
function jsPrepare(options) {
  const script = `
    const { prepareStage } = require(${JSON.stringify(join(REPO_ROOT, 'index.js'))})
    prepareStage(JSON.parse(process.env.SLS_OPTIONS)).then(
      (r) => console.log(JSON.stringify({ app: r.app, warnings: r.warnings })),
      (e) => console.log(JSON.stringify({ code: e.code, message: e.message })),
    )`
  const res = node(['-e', script], undefined, { SLS_OPTIONS: JSON.stringify(options) })
  return { ...res, json: res.stdout ? JSON.parse(res.stdout) : null }
}

function assertNoSignal(res) {
  assert.equal(res.signal, null, `killed by ${res.signal}; stderr: ${res.stderr}`)
}

describe('a deeply nested sst.config.ts', () => {
  test('900 levels are read, by the CLI and by prepareStage', () => {
    const p = deepProject(900)
    const cli = cliPrepare(p)
    assertNoSignal(cli)
    assert.equal(cli.status, 0, cli.stderr)
    assert.equal(cli.json.app, 'a')
    const js = jsPrepare({ stage: 'dev', cwd: p.dir, configDir: p.configDir })
    assertNoSignal(js)
    assert.equal(js.json.app, 'a', js.stderr)
  })

  test('100000 levels: SST_CONFIG_TOO_DEEP naming the file, nothing written', () => {
    const p = deepProject(100_000)
    const cli = cliPrepare(p)
    assertNoSignal(cli)
    assert.equal(cli.status, 1, cli.stderr)
    assert.equal(cli.json.error.code, 'SST_CONFIG_TOO_DEEP')
    assert.ok(cli.json.error.message.includes(join(p.dir, 'sst.config.ts')), cli.json.error.message)
    const js = jsPrepare({ stage: 'dev', cwd: p.dir, configDir: p.configDir })
    assertNoSignal(js)
    assert.equal(js.json.code, 'SST_CONFIG_TOO_DEEP', js.stderr)
    assert.equal(existsSync(p.configDir), false)
  })

  test('100000 levels with the app given: a warning that home was not checked', () => {
    const p = deepProject(100_000)
    const cli = cliPrepare(p, ['--app', 'given'])
    assertNoSignal(cli)
    assert.equal(cli.status, 0, cli.stderr)
    assert.equal(cli.json.app, 'given')
    assert.ok(
      cli.json.warnings.some((w) => w.code === 'HOME_UNCHECKED' && w.message.includes('`home` was not checked')),
      JSON.stringify(cli.json.warnings),
    )
    const js = jsPrepare({ stage: 'dev', app: 'given', cwd: p.dir, configDir: p.configDir })
    assertNoSignal(js)
    assert.equal(js.json.app, 'given', js.stderr)
  })
})
