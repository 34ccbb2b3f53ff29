// `sst-local-state init` through the real CLI: the secret age key is never
// written into the project (or any git worktree), and a relative --key-file
// is relative to --cwd, not to the directory the command was started in.
import { test, describe, after } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

import { cleanup, cli, tempDir } from './helpers/common.mjs'

after(cleanup)

/** root/project (an SST project), root/cfg (SST's config dir), root/a/b (where the command starts). */
function layout() {
  const root = tempDir('sls-init-')
  const project = join(root, 'project')
  const startedIn = join(root, 'a', 'b')
  mkdirSync(project)
  mkdirSync(startedIn, { recursive: true })
  writeFileSync(join(project, 'sst.config.ts'), 'export default $config({ app() { return { name: "a", home: "local" } }, async run() {} })\n')
  return { root, project, startedIn, configDir: join(root, 'cfg') }
}

function init(l, args, env = {}) {
  return cli(['init', '--cwd', l.project, '--config-dir', l.configDir, '--json', ...args], l.startedIn, env)
}

describe('init --key-file', () => {
  test('inside the project: KEY_FILE_IN_REPO naming the path, nothing written', () => {
    const l = layout()
    const res = init(l, ['--key-file', 'infra/state/age-key.txt'])
    assert.equal(res.status, 1, res.stderr)
    assert.equal(res.json.error.code, 'KEY_FILE_IN_REPO')
    assert.ok(res.json.error.message.includes(join(l.project, 'infra', 'state', 'age-key.txt')), res.json.error.message)
    assert.deepEqual(readdirSync(l.project), ['sst.config.ts'])
    assert.deepEqual(readdirSync(l.startedIn), [])
    assert.equal(existsSync(l.configDir), false)
  })

  test('a relative path is relative to --cwd; the env variable, to the working directory', () => {
    const l = layout()
    const res = init(l, ['--key-file', '../keys/age.txt'])
    assert.equal(res.status, 0, res.stderr)
    assert.equal(res.json.createdKey, true)
    assert.ok(existsSync(join(l.root, 'keys', 'age.txt')), 'next to the project, as --cwd says')
    assert.equal(existsSync(join(l.root, 'a', 'keys')), false, 'not relative to where the command started')
    assert.ok(existsSync(join(l.project, 'infra', 'state', 'age-recipients.txt')))

    const fromEnv = init(l, [], { SST_LOCAL_STATE_AGE_KEY_FILE: 'env-key.txt' })
    assert.equal(fromEnv.status, 0, fromEnv.stderr)
    assert.ok(existsSync(join(l.startedIn, 'env-key.txt')))
  })
})
