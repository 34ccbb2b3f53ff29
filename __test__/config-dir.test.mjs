// resolveConfigDir() against the real SST CLI (`sst version --verbose`), its
// error codes, and the CLI's `config-dir` command through the bin shim.
import { test, describe, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createRequire } from 'node:module'

import { SST_BIN, REPO_ROOT, BUN_BIN, sstEnv } from './helpers/sst.mjs'
import { cleanup, cli, tempDir } from './helpers/common.mjs'

after(cleanup)

const require = createRequire(import.meta.url)
const { resolveConfigDir, runCli } = require('../index.js')

/** Runs the real `sst version --verbose` with exactly `vars` for HOME/XDG. */
function sstVersion(vars) {
  const scratch = mkdtempSync(join(tmpdir(), 'sls-parity-'))
  const env = sstEnv(scratch)
  delete env.XDG_CONFIG_HOME
  delete env.HOME
  for (const [k, v] of Object.entries(vars)) env[k] = v
  const res = spawnSync(SST_BIN, ['version', '--verbose'], { cwd: scratch, env, encoding: 'utf8', timeout: 60_000 })
  rmSync(scratch, { recursive: true, force: true })
  const line = /^config\s+(.+?)\s*$/m.exec(res.stdout ?? '')
  return { status: res.status, config: line?.[1], output: `${res.stdout}${res.stderr}` }
}

describe('resolveConfigDir parity with the real sst CLI (Linux rules)', { skip: process.platform !== 'linux' }, () => {
  const home = tempDir('sls-home-')
  const cases = [
    ['default HOME', { HOME: home }],
    ['absolute XDG_CONFIG_HOME', { HOME: home, XDG_CONFIG_HOME: join(home, 'xdg') }],
    ['empty XDG_CONFIG_HOME', { HOME: home, XDG_CONFIG_HOME: '' }],
    ['HOME unset, XDG_CONFIG_HOME set', { XDG_CONFIG_HOME: join(home, 'only-xdg') }],
    ['XDG_CONFIG_HOME needing Go path cleaning', { HOME: home, XDG_CONFIG_HOME: `${home}//a/./b/../c/` }],
  ]
  for (const [name, vars] of cases) {
    test(name, () => {
      const sst = sstVersion(vars)
      assert.equal(sst.status, 0, sst.output)
      assert.ok(sst.config, sst.output)
      assert.equal(resolveConfigDir({ env: vars, platform: 'linux' }), sst.config)
      // the computation creates nothing, unlike SST itself
      rmSync(sst.config, { recursive: true, force: true })
      assert.equal(resolveConfigDir({ env: vars }), sst.config)
      assert.equal(existsSync(sst.config), false)
    })
  }

  const failures = [
    ['relative XDG_CONFIG_HOME', { HOME: home, XDG_CONFIG_HOME: 'relative/dir' }, 'CONFIG_DIR_RELATIVE_XDG', /relative/],
    ['neither HOME nor XDG_CONFIG_HOME', {}, 'CONFIG_DIR_NO_HOME', /neither \$XDG_CONFIG_HOME nor \$HOME/],
  ]
  for (const [name, vars, code, sstMessage] of failures) {
    test(`errors where SST panics: ${name}`, () => {
      const sst = sstVersion(vars)
      assert.notEqual(sst.status, 0)
      assert.match(sst.output, sstMessage)
      assert.throws(() => resolveConfigDir({ env: vars, platform: 'linux' }), (err) => {
        assert.ok(err instanceof Error)
        assert.equal(err.code, code)
        return true
      })
    })
  }
})

describe('resolveConfigDir for other platforms', () => {
  test('macOS ignores XDG_CONFIG_HOME', () => {
    assert.equal(
      resolveConfigDir({ platform: 'darwin', env: { HOME: '/Users/dev', XDG_CONFIG_HOME: '/x' } }),
      '/Users/dev/Library/Application Support/sst',
    )
  })
  test('Windows uses %AppData% case-insensitively', () => {
    assert.equal(
      resolveConfigDir({ platform: 'win32', env: { APPDATA: 'C:\\Users\\dev\\AppData\\Roaming' } }),
      'C:\\Users\\dev\\AppData\\Roaming\\sst',
    )
    assert.throws(() => resolveConfigDir({ platform: 'win32', env: { HOME: '/h' } }), { code: 'CONFIG_DIR_NO_HOME' })
  })
  test('relative XDG_CONFIG_HOME through options.env has code CONFIG_DIR_RELATIVE_XDG', () => {
    assert.throws(() => resolveConfigDir({ env: { XDG_CONFIG_HOME: 'rel' }, platform: 'linux' }), {
      code: 'CONFIG_DIR_RELATIVE_XDG',
      message: /XDG_CONFIG_HOME/,
    })
  })
  test('unknown platform is INVALID_OPTION naming options.platform', () => {
    assert.throws(() => resolveConfigDir({ platform: 'plan10' }), { code: 'INVALID_OPTION', message: /options\.platform/ })
  })
})

describe('CLI config-dir', { skip: process.platform !== 'linux' }, () => {
  const env = { XDG_CONFIG_HOME: '/tmp/sls-cli-xdg', HOME: '/tmp/sls-home' }
  test('prints the config dir', () => {
    const res = cli(['config-dir'], undefined, env)
    assert.equal(res.status, 0, res.stderr)
    assert.equal(res.stdout, '/tmp/sls-cli-xdg/sst\n')
  })
  test('--json prints {"configDir": ...}', () => {
    const res = cli(['config-dir', '--json'], undefined, env)
    assert.equal(res.status, 0, res.stderr)
    assert.deepEqual(JSON.parse(res.stdout), { configDir: '/tmp/sls-cli-xdg/sst' })
  })
  test('works through bun', () => {
    const res = cli(['config-dir'], undefined, env, { runtime: BUN_BIN })
    assert.equal(res.status, 0, res.stderr)
    assert.equal(res.stdout, '/tmp/sls-cli-xdg/sst\n')
  })
  test('an error exits 1 with its code; --json puts it on stdout', () => {
    const res = cli(['config-dir'], undefined, { XDG_CONFIG_HOME: 'rel' })
    assert.equal(res.status, 1)
    assert.match(res.stderr, /^error\[CONFIG_DIR_RELATIVE_XDG\]/)
    const json = cli(['config-dir', '--json'], undefined, { XDG_CONFIG_HOME: 'rel' })
    assert.equal(json.status, 1)
    assert.equal(JSON.parse(json.stdout).error.code, 'CONFIG_DIR_RELATIVE_XDG')
  })
  test('usage errors exit 2, --help and --version exit 0', () => {
    assert.equal(cli(['frobnicate']).status, 2)
    const help = cli(['--help'])
    assert.equal(help.status, 0)
    assert.match(help.stdout, /config-dir/)
    const version = cli(['--version'])
    assert.equal(version.stdout.trim(), `sst-local-state ${require('../package.json').version}`)
  })
  test('runCli resolves to the exit code in-process', async () => {
    assert.equal(await runCli(['--bogus-flag']), 2)
  })
})

describe('installed as a dependency', { skip: process.platform !== 'linux' }, () => {
  test('npx and bunx find the sst-local-state bin in a consumer project', { timeout: 120_000 }, () => {
    const consumer = mkdtempSync(join(tmpdir(), 'sls-consumer-'))
    try {
      const npm = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--ignore-scripts', '--offline', REPO_ROOT], {
        cwd: consumer,
        encoding: 'utf8',
        env: { ...process.env, npm_config_package_lock: 'false' },
      })
      assert.equal(npm.status, 0, npm.stderr)
      const env = { ...process.env, XDG_CONFIG_HOME: '/tmp/sls-consumer-xdg' }
      const npx = spawnSync('npx', ['--no-install', 'sst-local-state', 'config-dir'], { cwd: consumer, env, encoding: 'utf8' })
      assert.equal(npx.stdout, '/tmp/sls-consumer-xdg/sst\n', npx.stderr)
      const bunx = spawnSync(BUN_BIN, ['x', 'sst-local-state', 'config-dir'], { cwd: consumer, env, encoding: 'utf8' })
      assert.equal(bunx.stdout, '/tmp/sls-consumer-xdg/sst\n', bunx.stderr)
      const json = spawnSync(BUN_BIN, ['x', 'sst-local-state', 'config-dir', '--json'], { cwd: consumer, env, encoding: 'utf8' })
      assert.deepEqual(JSON.parse(json.stdout), { configDir: '/tmp/sls-consumer-xdg/sst' })
    } finally {
      rmSync(consumer, { recursive: true, force: true })
    }
  })
})
