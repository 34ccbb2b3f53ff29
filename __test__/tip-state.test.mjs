// A run that holds the stage lock starts from the branch tip's state
// exactly, deletions included: after a rollback removed the stage's secrets
// file on the branch, a run in a checkout (and config dir) that still held
// it removes it from the worktree and from SST's config dir, deploys, and
// saves with exit 0, again and again; never restoring the stale secret and
// never ending in STATE_CONFLICT. Over the real smart-HTTP git server, the
// CLI as a pipeline step runs it. Runs under `node --test` and `bun test`.
import { test, describe, after } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

import { SLOW, assertOk, cleanup, cli, cliAsync, git, gitOk, node, revParse, tempDir } from './helpers/common.mjs'
import { ciClone, configCheckpoint, seededRepo, showBlob } from './helpers/state-repo.mjs'

after(cleanup)

const SECRET = 'infra/state/secret/dev.json'

/**
 * Node scripts standing in for SST: `secret-set.mjs <configDir>` writes the
 * stage's secrets file as `sst secret set` does (nonce(12) || AES-256-GCM
 * ciphertext || tag(16) of `{"name":"value"}`, keyed by the stage's
 * passphrase); `deploy.mjs <checkpoint> <name>` appends a resource.
 */
function scripts() {
  const dir = tempDir('sls-scripts-')
  writeFileSync(
    join(dir, 'secret-set.mjs'),
    `import { createCipheriv, randomBytes } from 'node:crypto'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
const [configDir] = process.argv.slice(2)
const key = Buffer.from(readFileSync(join(configDir, 'state/passphrase/demo-app/dev.json'), 'utf8'), 'base64')
const nonce = randomBytes(12)
const cipher = createCipheriv('aes-256-gcm', key, nonce)
const body = Buffer.concat([cipher.update(JSON.stringify({ Token: 'stale-' + Date.now() })), cipher.final()])
mkdirSync(join(configDir, 'state/secret/demo-app'), { recursive: true })
writeFileSync(join(configDir, 'state/secret/demo-app/dev.json'), Buffer.concat([nonce, body, cipher.getAuthTag()]))
`,
  )
  writeFileSync(
    join(dir, 'deploy.mjs'),
    `import { readFileSync, writeFileSync } from 'node:fs'
const [file, name] = process.argv.slice(2)
const state = JSON.parse(readFileSync(file, 'utf8'))
state.checkpoint.latest.resources.push({ urn: 'urn:pulumi:dev::demo-app::sst:aws:Bucket::' + name, custom: true, type: 'sst:aws:Bucket', id: name })
writeFileSync(file, JSON.stringify(state, null, 2))
`,
  )
  return { secretSet: join(dir, 'secret-set.mjs'), deploy: join(dir, 'deploy.mjs') }
}

/** `run --stage dev … -- <command…>` in `dir` with `configDir`. */
const run = (dir, configDir, command) =>
  cliAsync(['run', '--stage', 'dev', '--config-dir', configDir, '--branch', 'main', '--', ...command], dir)

const resources = (repo) => JSON.parse(showBlob(repo.path, 'main').toString()).checkpoint.latest.resources.map((r) => r.urn.split('::').pop())

describe('a locked run starts from the tip, deletions included', () => {
  test('after a rollback removed secret/dev.json, a run where the worktree and config dir still hold it removes it, deploys and saves (exit 0, twice); no rescue branch', SLOW, async () => {
    const { secretSet, deploy } = scripts()
    const repo = await seededRepo('tip-deletions')
    const withoutSecret = revParse(repo.path)
    // machine B: a run sets a secret; it lands on the branch, in B's worktree and config dir
    const b = ciClone(repo.open)
    const configB = join(tempDir('sls-cfg-'), 'sst')
    const set = await run(b, configB, [process.execPath, secretSet, configB])
    assert.equal(set.status, 0, set.stdout + set.stderr)
    assert.notEqual(showBlob(repo.path, 'main', SECRET), null)
    assert.ok(existsSync(join(b, SECRET)))
    const secretInConfig = join(configB, 'state', 'secret', 'demo-app', 'dev.json')
    assert.ok(existsSync(secretInConfig))

    // machine A rolls the stage back to the revision without the secret
    const a = ciClone(repo.open, { shallow: false })
    gitOk(['checkout', '-q', '-B', 'main', 'origin/main'], a)
    const rolled = assertOk(cli(['rollback', '--stage', 'dev', '--to', withoutSecret, '--json'], a), 'rollback').json
    assert.deepEqual(rolled.files.map((f) => [f.path, f.change]), [[SECRET, 'removed']])
    assert.equal(showBlob(repo.path, 'main', SECRET), null)
    // A's checkout was at the tip: it follows the rollback, as commit would move it
    assert.equal(rolled.headUpdated, true)
    assert.equal(revParse(a, 'HEAD', { bare: false }), rolled.commit)
    assert.ok(!existsSync(join(a, SECRET)))
    assert.equal(gitOk(['status', '--porcelain'], a), '')

    // machine B runs again from its older checkout: the tip's state, exactly
    for (const name of ['after-rollback-1', 'after-rollback-2']) {
      const res = await run(b, configB, [process.execPath, deploy, configCheckpoint(configB), name])
      assert.equal(res.status, 0, `${name}: exit ${res.status}\n${res.stdout}\n${res.stderr}`)
      assert.ok(!existsSync(join(b, SECRET)), `${name}: the worktree still holds the removed secrets file`)
      assert.ok(!existsSync(secretInConfig), `${name}: the removed secrets file was restored into SST's config dir`)
      assert.equal(showBlob(repo.path, 'main', SECRET), null, `${name}: the stale secret was committed back`)
      assert.ok(resources(repo).includes(name), `${name}: its resource was not saved`)
    }
    assert.equal(gitOk(['--git-dir', repo.path, 'branch', '--list', 'sst-local-state/rescue/*']), '')
  })

  test('a secret SST changed here after the sync, which the tip removed, is a divergence: UNSAVED_STATE (exit 4) before the command runs, the file kept, the lock released', SLOW, async () => {
    const { secretSet } = scripts()
    const repo = await seededRepo('tip-deletion-diverged')
    const withoutSecret = revParse(repo.path)
    const b = ciClone(repo.open)
    const configB = join(tempDir('sls-cfg-'), 'sst')
    assert.equal((await run(b, configB, [process.execPath, secretSet, configB])).status, 0)
    const a = ciClone(repo.open, { shallow: false })
    gitOk(['checkout', '-q', '-B', 'main', 'origin/main'], a)
    assertOk(cli(['rollback', '--stage', 'dev', '--to', withoutSecret], a), 'rollback')
    // `sst secret set` on B after its last sync, never committed
    assertOk(node([secretSet, configB], b), 'secret set')
    const secretInConfig = join(configB, 'state', 'secret', 'demo-app', 'dev.json')
    const unsaved = readFileSync(secretInConfig)
    const ran = join(tempDir('sls-ran-'), 'ran')
    const res = await run(b, configB, [process.execPath, '-e', `require('fs').writeFileSync(${JSON.stringify(ran)}, '')`])
    assert.equal(res.status, 4, res.stdout + res.stderr)
    assert.match(res.stderr, /error\[UNSAVED_STATE\]/)
    assert.ok(!existsSync(ran), 'the command ran')
    assert.deepEqual(readFileSync(secretInConfig), unsaved, 'the unsaved secret was touched')
    assert.equal(git(['--git-dir', repo.path, 'rev-parse', '--verify', '-q', 'refs/heads/sst-local-state/lock/demo-app/dev']).status, 1, 'the lock stayed')
  })
})
