// The two entry points export the same API, and all of it: every function
// `index.d.ts` declares (generated from the Rust code) is a function both of
// `require('sst-local-state')` (index.js) and of `import` (index.mjs), and
// index.mjs exports nothing the addon lacks. index.mjs lists its exports by
// hand (ES modules need static names): this catches one left out.
// Runs under `node --test` and `bun test`.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { copyFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'

import { REPO_ROOT } from './helpers/sst.mjs'
import { cleanup, tempDir } from './helpers/common.mjs'

after(cleanup)

const declared = [...readFileSync(join(REPO_ROOT, 'index.d.ts'), 'utf8').matchAll(/^export declare function (\w+)/gm)].map((m) => m[1]).sort()

test('index.d.ts declares the functions the README documents', () => {
  for (const name of ['prepareStage', 'commitStage', 'stageStatus', 'resolveConfigDir', 'runCli']) assert.ok(declared.includes(name), name)
})

test('require() and import give every declared function, and the same ones', async () => {
  const cjs = createRequire(import.meta.url)(join(REPO_ROOT, 'index.js'))
  const esm = await import(join(REPO_ROOT, 'index.mjs'))
  for (const name of declared) {
    assert.equal(typeof cjs[name], 'function', `require: ${name}`)
    assert.equal(typeof esm[name], 'function', `import: ${name} (add it to index.mjs's export list)`)
    assert.equal(esm[name], cjs[name], name)
  }
  // nothing exported by name that the addon does not have
  for (const name of Object.keys(esm)) {
    if (name !== 'default') assert.ok(name in cjs, `index.mjs exports ${name}, which the addon lacks`)
  }
  assert.equal(esm.default, cjs)
})

test('a binary that is there but does not load is reported as such, not only as a missing package', { skip: process.platform === 'linux' && process.arch === 'x64' ? false : 'linux-x64 file names' }, () => {
  const dir = tempDir('sls-entry-')
  for (const f of ['index.js', 'load.cjs', 'binding.cjs', 'package.json']) copyFileSync(join(REPO_ROOT, f), join(dir, f))
  const load = () => spawnSync(process.execPath, ['-e', "try { require('./index.js') } catch (e) { console.error(e.code + ' ' + e.message); process.exit(3) }"], { cwd: dir, encoding: 'utf8' })
  const missing = load()
  assert.equal(missing.status, 3)
  assert.match(missing.stderr, /^BINDING_NOT_FOUND .*npm i sst-local-state-linux-x64-gnu@/)
  assert.doesNotMatch(missing.stderr, /loader also reported/)
  writeFileSync(join(dir, 'sst-local-state.linux-x64-gnu.node'), 'not an ELF file\n')
  const broken = load()
  assert.equal(broken.status, 3)
  assert.match(broken.stderr, /^BINDING_NOT_FOUND .*The loader also reported: .*sst-local-state\.linux-x64-gnu\.node: (file too short|invalid ELF header)/)
})

test('a truncated binary is BINDING_NOT_FOUND naming the file, not a crash (SIGBUS); the CLI says so in one line', { skip: process.platform === 'linux' && process.arch === 'x64' ? false : 'linux-x64 file names' }, () => {
  const dir = tempDir('sls-entry-')
  for (const f of ['index.js', 'index.mjs', 'load.cjs', 'binding.cjs', 'package.json', 'cli.js']) copyFileSync(join(REPO_ROOT, f), join(dir, f))
  const addon = join(dir, 'sst-local-state.linux-x64-gnu.node')
  // a download cut short: the first 5 MB (or half) of the real binary
  const whole = readFileSync(join(REPO_ROOT, 'sst-local-state.linux-x64-gnu.node'))
  writeFileSync(addon, whole.subarray(0, Math.min(5_000_000, whole.length >> 1)))
  const required = spawnSync(process.execPath, ['-e', "try { require('./index.js') } catch (e) { console.error(e.code + ' ' + e.message); process.exit(3) }"], { cwd: dir, encoding: 'utf8' })
  assert.equal(required.signal, null, 'the process was killed by a signal')
  assert.equal(required.status, 3, required.stderr)
  assert.match(required.stderr, /^BINDING_NOT_FOUND .*sst-local-state\.linux-x64-gnu\.node is incomplete \(\d+ bytes; its headers need \d+\)/)
  const esm = spawnSync(process.execPath, ['--input-type=module', '-e', "import('./index.mjs').catch((e) => { console.error(e.code); process.exit(3) })"], { cwd: dir, encoding: 'utf8' })
  assert.deepEqual([esm.signal, esm.status, esm.stderr.trim()], [null, 3, 'BINDING_NOT_FOUND'])
  for (const what of ['truncated', 'missing']) {
    if (what === 'missing') rmSync(addon)
    const res = spawnSync(process.execPath, ['cli.js', '--version'], { cwd: dir, encoding: 'utf8' })
    assert.equal(res.status, 1, `${what}: ${res.stderr}`)
    assert.equal(res.stdout, '')
    // one line, no stack trace
    assert.match(res.stderr, /^error\[BINDING_NOT_FOUND\]: [^\n]*\n$/, `${what}: ${res.stderr}`)
  }
})
