// history (`stageHistory()` and `sst-local-state history`) and show
// (`showStage()` and `sst-local-state show`), on a small real git
// repository: only the stage's commits, newest first, with the trailers'
// facts and the resources added / removed / changed by URN; the checkpoint
// at a revision.
// (The scale test, 2,200 commits for 3 stages, is tests/history.rs.)
import { test, describe, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'

import { REPO_ROOT } from './helpers/sst.mjs'
import { assertOk, cleanup, cli, gitOk, tempDir } from './helpers/common.mjs'

after(cleanup)

const require = createRequire(import.meta.url)
const lib = require(join(REPO_ROOT, 'index.js'))

function checkpoint(stage, resources) {
  return JSON.stringify({
    version: 3,
    checkpoint: {
      stack: `organization/demo-app/${stage}`,
      latest: { resources: Object.entries(resources).map(([name, out]) => ({ urn: `urn:pulumi:${stage}::demo-app::sst:aws:Bucket::${name}`, type: 'sst:aws:Bucket', inputs: { name }, outputs: { arn: out } })) },
    },
  })
}

/** A project with three state commits for dev, one for prod, unrelated commits between. */
function project() {
  const dir = tempDir('sls-history-')
  writeFileSync(join(dir, 'sst.config.ts'), 'export default $config({ app() { return { name: "demo-app", home: "local" } }, async run() {} })\n')
  gitOk(['init', '-q', '-b', 'main'], dir)
  mkdirSync(join(dir, 'infra', 'state', 'app'), { recursive: true })
  const commit = (files, message) => {
    for (const [rel, content] of Object.entries(files)) writeFileSync(join(dir, rel), content)
    gitOk(['add', '-A'], dir)
    gitOk(['commit', '-q', '-m', message], dir)
    return gitOk(['rev-parse', 'HEAD'], dir)
  }
  const ids = {}
  ids.one = commit({ 'infra/state/app/dev.json': checkpoint('dev', { a: '1', b: '1' }) }, 'chore(sst-state): demo-app/dev deploy [skip ci]\n\nSST-Stage: dev\nSST-Update-Id: 0000000000000000000000ff\nSST-Command: deploy\nRun-Exit-Code: 0')
  commit({ 'README.md': 'hello\n' }, 'docs')
  ids.prod = commit({ 'infra/state/app/prod.json': checkpoint('prod', { p: '1' }) }, 'prod state')
  ids.two = commit({ 'infra/state/app/dev.json': checkpoint('dev', { a: '2', c: '1' }) }, 'chore(sst-state): demo-app/dev deploy [skip ci]\n\nSST-Update-Id: 0000000000000000000000fe\nSST-Command: deploy\nRun-Exit-Code: 1\nCI-Run: https://ci.example/1')
  commit({ 'src.ts': 'x\n' }, 'code')
  return { dir, ids }
}

describe('history', () => {
  test('stageHistory(): the stage only, newest first, with trailers and URN diffs', async () => {
    const { dir, ids } = project()
    const r = await lib.stageHistory({ stage: 'dev', cwd: dir })
    assert.deepEqual(r.entries.map((e) => e.commit), [ids.two, ids.one])
    assert.deepEqual(r.paths, ['infra/state/app/dev.json', 'infra/state/passphrase/dev.age', 'infra/state/passphrase/dev.json', 'infra/state/secret/dev.json'])
    const [two, one] = r.entries
    assert.equal(two.command, 'deploy')
    assert.equal(two.updateId, '0000000000000000000000fe')
    assert.equal(two.exitCode, 1)
    assert.equal(two.runUrl, 'https://ci.example/1')
    assert.deepEqual(two.files, ['app'])
    assert.equal(two.resources, 2)
    assert.equal(two.resourcesBefore, 2)
    assert.deepEqual(two.added, ['urn:pulumi:dev::demo-app::sst:aws:Bucket::c'])
    assert.deepEqual(two.removed, ['urn:pulumi:dev::demo-app::sst:aws:Bucket::b'])
    assert.deepEqual(two.changed, ['urn:pulumi:dev::demo-app::sst:aws:Bucket::a'])
    assert.equal(one.exitCode, 0)
    assert.equal(one.resourcesBefore, undefined)
    assert.equal(one.added.length, 2)
    const limited = await lib.stageHistory({ stage: 'dev', cwd: dir, limit: 1 })
    assert.deepEqual(limited.entries.map((e) => e.commit), [ids.two])
    const prod = await lib.stageHistory({ stage: 'prod', cwd: dir })
    assert.deepEqual(prod.entries.map((e) => e.commit), [ids.prod])
    await assert.rejects(lib.stageHistory({ stage: 'dev', cwd: dir, limt: 1 }), (e) => e.code === 'INVALID_OPTION' && /did you mean limit/.test(e.message))
    await assert.rejects(lib.stageHistory({ stage: 'dev', cwd: dir, rev: 'nope' }), (e) => e.code === 'INVALID_OPTION')
    // JS numbers are doubles: a negative or fractional limit is refused, not wrapped to 4 billion
    for (const limit of [-1, 1.5, 2 ** 32]) {
      await assert.rejects(lib.stageHistory({ stage: 'dev', cwd: dir, limit }), (e) => e.code === 'INVALID_OPTION' && /options\.limit/.test(e.message), String(limit))
    }
  })

  test('a shallow clone (as CI checks out): history stops at its boundary, no error', () => {
    const { dir, ids } = project()
    const clone = join(tempDir('sls-history-shallow-'), 'c')
    gitOk(['clone', '-q', '--depth', '2', `file://${dir}`, clone])
    const res = assertOk(cli(['history', '--stage', 'dev', '--json'], clone), 'history in a shallow clone')
    assert.deepEqual(res.json.entries.map((e) => e.commit), [ids.two])
    assert.equal(res.json.entries[0].resourcesBefore, null)
    assert.equal(res.json.commitsWalked, 2)
  })

  test('the CLI: --json, --limit, human output', () => {
    const { dir, ids } = project()
    const res = assertOk(cli(['history', '--stage', 'dev', '--json'], dir), 'history --json')
    assert.deepEqual(res.json.entries.map((e) => e.commit), [ids.two, ids.one])
    assert.equal(res.json.entries[0].exitCode, 1)
    const limited = assertOk(cli(['history', '--stage', 'dev', '--json', '--limit', '1'], dir), 'history --limit')
    assert.equal(limited.json.entries.length, 1)
    const human = assertOk(cli(['history', '--stage', 'dev'], dir), 'history')
    assert.match(human.stdout, /history demo-app\/dev: 2 change\(s\)/)
    assert.match(human.stdout, /\[deploy, update 0000000000000000000000fe, exit 1\]/)
    assert.match(human.stdout, /resources 2 -> 2 \(\+1 -1 ~1\)/)
    assert.match(human.stdout, /\+ urn:pulumi:dev::demo-app::sst:aws:Bucket::c/)
  })
})

describe('show', () => {
  test('showStage(): the checkpoint stored at a revision, the same fields as `show --json`', async () => {
    const { dir, ids } = project()
    const stored = gitOk(['show', `${ids.one}:infra/state/app/dev.json`], dir)
    const r = await lib.showStage({ stage: 'dev', cwd: dir, rev: ids.one })
    assert.equal(r.commit, ids.one)
    assert.equal(r.path, 'infra/state/app/dev.json')
    assert.equal(r.resources, JSON.parse(stored).checkpoint.latest.resources.length)
    assert.equal(r.resources, 2)
    assert.equal(r.pendingOperations, 0)
    assert.equal(r.bytes, Buffer.byteLength(stored))
    assert.equal(r.stack, 'organization/demo-app/dev')
    assert.deepEqual(r.byType, [{ type: 'sst:aws:Bucket', count: 2 }])
    assert.deepEqual(r.otherFiles, [])
    assert.equal(r.checkpointJson, undefined, 'only with includeCheckpoint')
    const { checkpoint: whole, ...summary } = assertOk(cli(['show', '--stage', 'dev', '--rev', ids.one, '--json'], dir), 'show --json').json
    assert.deepEqual(Object.keys(summary).filter((k) => !(k in r)), [], 'every field of the CLI is in the result')
    for (const [key, value] of Object.entries(summary)) assert.deepEqual(r[key], value, key)

    // HEAD by default; includeCheckpoint: the file exactly as stored; the stage's other files
    mkdirSync(join(dir, 'infra', 'state', 'secret'))
    writeFileSync(join(dir, 'infra', 'state', 'secret', 'dev.json'), '{}')
    gitOk(['add', '-A'], dir)
    gitOk(['commit', '-q', '-m', 'secret'], dir)
    const head = await lib.showStage({ stage: 'dev', cwd: dir, includeCheckpoint: true })
    assert.equal(head.rev, 'HEAD')
    assert.equal(head.commit, gitOk(['rev-parse', 'HEAD'], dir))
    assert.equal(head.resources, 2)
    assert.equal(head.checkpointJson, checkpoint('dev', { a: '2', c: '1' }))
    assert.deepEqual(head.otherFiles, ['infra/state/secret/dev.json'])
    const old = await lib.showStage({ stage: 'dev', cwd: dir, rev: ids.one, includeCheckpoint: true })
    assert.equal(old.checkpointJson, stored)
    assert.deepEqual(JSON.parse(old.checkpointJson), whole)

    await assert.rejects(lib.showStage({ stage: 'dev', cwd: dir, revs: 'HEAD' }), (e) => e.code === 'INVALID_OPTION' && /unknown option revs \(did you mean rev\?\)/.test(e.message))
    await assert.rejects(lib.showStage({ stage: 'dev', cwd: dir, rev: 'nope' }), (e) => e.code === 'INVALID_OPTION' && /options\.rev/.test(e.message))
    await assert.rejects(lib.showStage({ stage: 'prod', cwd: dir, rev: ids.one }), (e) => e.code === 'STATE_MISSING')
  })

  test('the checkpoint at a revision: summary, or whole with --json', () => {
    const { dir, ids } = project()
    const res = assertOk(cli(['show', '--stage', 'dev', '--rev', ids.one, '--json'], dir), 'show --json')
    assert.equal(res.json.commit, ids.one)
    assert.equal(res.json.resources, 2)
    assert.deepEqual(res.json.byType, [{ type: 'sst:aws:Bucket', count: 2 }])
    assert.deepEqual(res.json.checkpoint, JSON.parse(checkpoint('dev', { a: '1', b: '1' })))
    const human = assertOk(cli(['show', '--stage', 'dev', '--rev', 'HEAD~2'], dir), 'show')
    assert.match(human.stdout, /^show demo-app\/dev at HEAD~2 \(commit [0-9a-f]{12}, /)
    assert.match(human.stdout, /resources: 2\n\s+2  sst:aws:Bucket/)
    const missing = cli(['show', '--stage', 'prod', '--rev', ids.one, '--json'], dir)
    assert.equal(missing.status, 1)
    assert.equal(missing.json.error.code, 'STATE_MISSING')
  })
})
