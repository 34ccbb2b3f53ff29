// The real SST CLI with `home: "local"`, run in isolation through
// __test__/helpers/sst.mjs: proves the helper works and pins down the on-disk
// formats that sst-local-state syncs. Runs under `node --test` and `bun test`.
//
// Expensive setup happens lazily inside the first test (bun caps hooks at 5 s).
// Never prints a secret value on success.
import assert from 'node:assert/strict'
import { createDecipheriv } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'

import { BUN_BIN, SST_BIN, SST_VERSION, makeSstProject, runSst, sstConfigDir, sstEnv, sstTmpDir } from './helpers/sst.mjs'
import { SLOW, assertOk, cleanup, removeAtCleanup, tempDir } from './helpers/common.mjs'

const STEP = { timeout: 120_000 }

const timings = []

/** Run sst, record how long it took under `label` (never the arguments: they may hold secrets). */
function sst(label, args, opts) {
  const res = runSst(args, opts)
  timings.push(`${label} ${res.ms}ms`)
  assert.equal(res.error, undefined, `${label}: could not run sst: ${res.error}`)
  return res
}

function ok(label, args, opts) {
  // On failure, show SST's output; secrets are only ever in stdout of `secret list`.
  return assertOk(sst(label, args, opts), label, { stdout: !label.startsWith('secret list') })
}

const output = (res) => `${res.stdout}\n${res.stderr}`

function decryptSecretFile(file, passphraseFile, aad) {
  const key = Buffer.from(readFileSync(passphraseFile, 'utf8'), 'base64')
  const blob = readFileSync(file)
  const nonce = blob.subarray(0, 12)
  const tag = blob.subarray(blob.length - 16)
  const ciphertext = blob.subarray(12, blob.length - 16)
  const decipher = createDecipheriv('aes-256-gcm', key, nonce)
  if (aad) decipher.setAAD(aad)
  decipher.setAuthTag(tag)
  return Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString('utf8')
}

after(() => {
  cleanup()
  if (timings.length) console.log(`# sst ${SST_VERSION} timings: ${timings.join(', ')}`)
})

describe('test helper', () => {
  test('binaries resolve inside the repo', () => {
    assert.ok(existsSync(SST_BIN), SST_BIN)
    assert.ok(existsSync(BUN_BIN), BUN_BIN)
  })

  test('sstEnv isolates SST from inherited SST_*/XDG_* variables', () => {
    const saved = { SST_STAGE: process.env.SST_STAGE, XDG_DATA_HOME: process.env.XDG_DATA_HOME }
    process.env.SST_STAGE = 'leak'
    process.env.XDG_DATA_HOME = '/leak'
    try {
      const env = sstEnv('/tmp/x', { EXTRA: '1' })
      assert.equal(env.SST_STAGE, undefined)
      assert.equal(env.XDG_DATA_HOME, undefined)
      assert.equal(env.XDG_CONFIG_HOME, '/tmp/x')
      assert.equal(env.SST_SKIP_DEPENDENCY_CHECK, '1')
      assert.equal(env.SST_TELEMETRY_DISABLED, '1')
      assert.equal(env.SST_BUN_PATH, BUN_BIN)
      assert.equal(env.NO_COLOR, '1')
      assert.equal(env.TMPDIR, sstTmpDir())
      assert.equal(env.EXTRA, '1')
      assert.ok(env.PATH.startsWith(join(BUN_BIN, '..')), env.PATH)
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k]
        else process.env[k] = v
      }
    }
  })

  test('sstConfigDir reports <configHome>/sst', STEP, () => {
    const home = tempDir('sst-cfg-')
    assert.equal(sstConfigDir(home), join(home, 'sst'))
    // SST leaves a log sst-<time>.log in TMPDIR on every run: ours, not /tmp.
    assert.ok(readdirSync(sstTmpDir()).some((f) => /^sst-.*\.log$/.test(f)), 'no SST log in the private TMPDIR')
  })
})

describe('real sst, home "local"', () => {
  let ctx

  /** Project (installed platform from the cache) + isolated config home A. */
  async function setup() {
    if (ctx) return ctx
    const started = Date.now()
    const project = await makeSstProject()
    timings.push(`makeSstProject ${Date.now() - started}ms`)
    removeAtCleanup(project.dir)
    const configHome = tempDir('sst-home-a-')
    const state = join(configHome, 'sst', 'state')
    ctx = { project, configHome, state, opts: { cwd: project.dir, configHome } }
    return ctx
  }

  test('stage secret: set, then list shows it', SLOW, async () => {
    const { opts } = await setup()
    ok('secret set', ['secret', 'set', 'MySecret', 's3cr3t-value', '--stage', 'dev'], opts)
    const list = ok('secret list', ['secret', 'list', '--stage', 'dev'], opts)
    assert.ok(list.stdout.includes('# demo-app/dev'), 'secret list has no "# demo-app/dev" header')
    assert.ok(list.stdout.includes('MySecret=s3cr3t-value'), 'secret list does not show MySecret with its value')
  })

  test('fallback secret: needs a stage; then list --fallback shows it', STEP, async () => {
    const { opts } = await setup()
    // With no --stage (and no .sst/stage, no SST_STAGE) SST refuses even for --fallback.
    const noStage = sst('secret set --fallback (no stage)', ['secret', 'set', 'Shared', 'fb-value', '--fallback'], opts)
    assert.equal(noStage.status, 1)
    assert.match(output(noStage), /Could not find stage/)

    ok('secret set --fallback', ['secret', 'set', 'Shared', 'fb-value', '--fallback', '--stage', 'dev'], opts)
    const list = ok('secret list --fallback', ['secret', 'list', '--fallback', '--stage', 'dev'], opts)
    assert.ok(list.stdout.includes('# fallback'), 'no "# fallback" header')
    assert.ok(list.stdout.includes('Shared=fb-value'), 'secret list --fallback does not show Shared')
    assert.ok(!list.stdout.includes('MySecret'), 'list --fallback shows stage secrets')

    // A stage listing shows the fallback section too.
    const all = ok('secret list', ['secret', 'list', '--stage', 'dev'], opts)
    assert.ok(all.stdout.includes('Shared=fb-value') && all.stdout.includes('MySecret=s3cr3t-value'))
  })

  test('state files: passphrase is base64 of 32 bytes, no newline', STEP, async () => {
    const { state } = await setup()
    for (const stage of ['dev', '_fallback']) {
      const file = join(state, 'passphrase', 'demo-app', `${stage}.json`)
      assert.ok(existsSync(file), file)
      const text = readFileSync(file, 'utf8')
      assert.equal(text.length, 44, `${stage} passphrase length`)
      assert.match(text, /^[A-Za-z0-9+/]{43}=$/)
      assert.equal(Buffer.from(text, 'base64').length, 32)
      assert.ok(existsSync(join(state, 'secret', 'demo-app', `${stage}.json`)), `secret ${stage}`)
    }
    // Nothing else yet: no app state, lock, update, snapshot or eventlog.
    assert.deepEqual(readdirSync(state).sort(), ['passphrase', 'secret'])
    assert.deepEqual(readdirSync(join(state, 'secret', 'demo-app')).sort(), ['_fallback.json', 'dev.json'])
  })

  test('secret file = nonce(12) || AES-256-GCM ciphertext || tag(16), no AAD, compact JSON', STEP, async () => {
    const { state } = await setup()
    const secretFile = join(state, 'secret', 'demo-app', 'dev.json')
    const passFile = join(state, 'passphrase', 'demo-app', 'dev.json')
    const plain = decryptSecretFile(secretFile, passFile)
    assert.equal(readFileSync(secretFile).length, 12 + Buffer.byteLength(plain) + 16)
    assert.equal(plain, JSON.stringify({ MySecret: 's3cr3t-value' }), 'plaintext is not compact {"name":"value"} JSON')
    assert.throws(() => decryptSecretFile(secretFile, passFile, Buffer.from('demo-app')), 'decrypts even with an AAD')

    const fallback = decryptSecretFile(
      join(state, 'secret', 'demo-app', '_fallback.json'),
      join(state, 'passphrase', 'demo-app', '_fallback.json'),
    )
    assert.deepEqual(JSON.parse(fallback), { Shared: 'fb-value' })
  })

  test('state export: no app state -> exit 1 "Could not pull state"', STEP, async () => {
    const { opts, state } = await setup()
    const res = sst('state export (no state)', ['state', 'export', '--stage', 'dev'], opts)
    assert.equal(res.status, 1)
    assert.match(output(res), /Could not pull state/)
    assert.ok(!existsSync(join(state, 'app')), 'export created app state')
  })

  test('state export: prints the checkpoint re-serialised, not verbatim', STEP, async () => {
    const { opts, state } = await setup()
    mkdirSync(join(state, 'app', 'demo-app'), { recursive: true })
    const appFile = join(state, 'app', 'demo-app', 'dev.json')
    const minimal =
      '{"version":3,"checkpoint":{"stack":"organization/demo-app/dev","latest":{"manifest":{"time":"2024-01-01T00:00:00Z","magic":"x","version":"v3.0.0"},"resources":[]}}}'
    writeFileSync(appFile, minimal)
    const res = ok('state export', ['state', 'export', '--stage', 'dev'], opts)
    // Only `checkpoint` is printed, 2-space indented + newline, as Pulumi's
    // typed struct: empty `resources` dropped, `metadata: {}` added.
    const expected = {
      stack: 'organization/demo-app/dev',
      latest: { manifest: { time: '2024-01-01T00:00:00Z', magic: 'x', version: 'v3.0.0' }, metadata: {} },
    }
    assert.equal(res.stdout, `${JSON.stringify(expected, null, 2)}\n`)
    assert.equal(readFileSync(appFile, 'utf8'), minimal, 'export changed the app state file')

    // Unknown fields are dropped and object keys come out sorted (Go maps).
    const rich = {
      version: 3,
      checkpoint: {
        stack: 'organization/demo-app/dev',
        latest: {
          manifest: { time: '2024-01-01T00:00:00Z', magic: 'x', version: 'v3.0.0' },
          secrets_providers: { type: 'passphrase', state: { salt: 'v1:abc' } },
          resources: [
            { urn: 'urn:pulumi:dev::demo-app::pulumi:pulumi:Stack::demo-app-dev', custom: false, type: 'pulumi:pulumi:Stack', outputs: { b: 1, a: 'x' }, unknownField: 7 },
          ],
          pending_operations: [],
        },
      },
    }
    writeFileSync(appFile, JSON.stringify(rich))
    const res2 = ok('state export (rich)', ['state', 'export', '--stage', 'dev'], opts)
    const printed = JSON.parse(res2.stdout)
    assert.deepEqual(Object.keys(printed.latest), ['manifest', 'secrets_providers', 'resources', 'metadata'])
    assert.deepEqual(printed.latest.resources, [
      { urn: 'urn:pulumi:dev::demo-app::pulumi:pulumi:Stack::demo-app-dev', custom: false, type: 'pulumi:pulumi:Stack', outputs: { a: 'x', b: 1 } },
    ])
    assert.deepEqual(Object.keys(printed.latest.resources[0].outputs), ['a', 'b'])

    // Invalid JSON is refused.
    writeFileSync(appFile, 'not json')
    assert.equal(sst('state export (invalid)', ['state', 'export', '--stage', 'dev'], opts).status, 1)
    writeFileSync(appFile, minimal)
  })

  test('deploy without pulumi: fails, takes+releases the lock, leaves one update record', STEP, async () => {
    const { opts, state, project } = await setup()
    const appFile = join(state, 'app', 'demo-app', 'dev.json')
    const before = readFileSync(appFile)
    const res = sst('deploy (no pulumi)', ['deploy', '--stage', 'dev'], opts)
    assert.equal(res.status, 1)
    assert.match(res.stderr, /Unexpected error occurred/)
    const log = readFileSync(join(project.dir, '.sst', 'log', 'sst.log'), 'utf8')
    assert.match(log, /bin\/pulumi: no such file or directory/)
    assert.match(log, /INFO locking app=demo-app stage=dev/)
    assert.match(log, /INFO unlocking app=demo-app stage=dev/)

    // The lock dir exists (the lock was written) but the lock is gone.
    assert.deepEqual(readdirSync(join(state, 'lock', 'demo-app')), [])
    // App state untouched; no snapshot / eventlog.
    assert.deepEqual(readFileSync(appFile), before)
    assert.deepEqual(readdirSync(state).sort(), ['app', 'lock', 'passphrase', 'secret', 'update'])

    const updates = readdirSync(join(state, 'update', 'demo-app', 'dev'))
    assert.equal(updates.length, 1)
    const [file] = updates
    const record = JSON.parse(readFileSync(join(state, 'update', 'demo-app', 'dev', file), 'utf8'))
    assert.deepEqual(Object.keys(record), ['id', 'version', 'command', 'errors', 'timeStarted'])
    assert.match(record.id, /^[0-9a-f]{24}$/)
    assert.equal(file, `${record.id}.json`)
    assert.equal(record.version, SST_VERSION)
    assert.equal(record.command, 'deploy')
    assert.equal(record.errors, null)
    assert.match(record.timeStarted, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/)
  })

  test('deploy with a lock present refuses and writes nothing; unlock removes it', STEP, async () => {
    const { opts, state } = await setup()
    const lockFile = join(state, 'lock', 'demo-app', 'dev.json')
    writeFileSync(
      lockFile,
      JSON.stringify({ created: '2024-01-01T00:00:00Z', updateID: 'x', runID: 'y', command: 'deploy', ignore: true }),
    )
    const updatesBefore = readdirSync(join(state, 'update', 'demo-app', 'dev'))
    const res = sst('deploy (locked)', ['deploy', '--stage', 'dev'], opts)
    assert.equal(res.status, 1)
    assert.match(output(res), /concurrent update was detected/)
    assert.ok(existsSync(lockFile), 'deploy removed a foreign lock')
    assert.deepEqual(readdirSync(join(state, 'update', 'demo-app', 'dev')), updatesBefore)

    ok('unlock', ['unlock', '--stage', 'dev'], opts)
    assert.ok(!existsSync(lockFile))
    // unlock with no lock is an error in 4.17.1 (it tries to remove the file).
    assert.equal(sst('unlock (no lock)', ['unlock', '--stage', 'dev'], opts).status, 1)
  })

  test('makeSstProject: other app name + stub platform', STEP, async () => {
    const project = await makeSstProject({ name: 'other-app', platform: 'stub' })
    removeAtCleanup(project.dir)
    assert.match(readFileSync(join(project.dir, 'sst.config.ts'), 'utf8'), /name: "other-app"/)
    const configHome = tempDir('sst-home-b-')
    const opts = { cwd: project.dir, configHome }
    ok('secret set (stub)', ['secret', 'set', 'Other', 'o-value', '--stage', 'qa'], opts)
    const state = join(configHome, 'sst', 'state')
    assert.ok(existsSync(join(state, 'secret', 'other-app', 'qa.json')))
    assert.ok(existsSync(join(state, 'passphrase', 'other-app', 'qa.json')))
    // SST did not install anything into the stub.
    assert.deepEqual(readdirSync(join(project.dir, '.sst', 'platform')).sort(), ['node_modules', 'version'])
    project.cleanup()
    assert.ok(!existsSync(project.dir))
  })
})
