// Secrets over time (issue 14), through the CLI, over the local HTTP git
// server and with the real `sst` CLI: `encrypt` migrates a seed-style
// repository (two stages and the fallback, plain passphrases) to age in one
// pushed commit and SST still reads every secret after prepare; `rekey`
// after removing a recipient locks that key out; no command prints a
// passphrase, a secret value or an age secret key.
import { test, describe, after } from 'node:test'
import assert from 'node:assert/strict'
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createRequire } from 'node:module'

import { REPO_ROOT, makeSstProject, runSst } from './helpers/sst.mjs'
import { SLOW, assertOk, cleanup, cli, cliAsync, gitOk, removeAtCleanup, revParse, tempDir } from './helpers/common.mjs'
import { ciClone, gitServer, otherPipeline, raceOnce, seededRepo } from './helpers/state-repo.mjs'

after(cleanup)

const require = createRequire(import.meta.url)

const STAGES = ['dev', 'prod']
const SECRETS = { dev: ['DevKey', 'dev-secret-value'], prod: ['ProdKey', 'prod-secret-value'] }
const FALLBACK = ['SharedKey', 'fallback-secret-value']

/** Every string that must never be printed: passphrases, secret values, secret keys. */
function assertNoLeak(res, secrets, what) {
  const out = `${res.stdout}\n${res.stderr}`
  assert.doesNotMatch(out, /AGE-SECRET-KEY-1/i, `${what} printed an age secret key`)
  for (const s of secrets) assert.ok(!out.includes(s), `${what} printed a secret (${s.slice(0, 4)}…)`)
}

/** Every blob of every commit of a bare repository, as text. */
function allObjects(bare) {
  const ids = gitOk(['--git-dir', bare, 'rev-list', '--objects', '--all']).split('\n').filter(Boolean).map((l) => l.split(' ')[0])
  return ids.map((id) => gitOk(['--git-dir', bare, 'cat-file', '-p', id]))
}

/** A project whose SST state (stages dev and prod, fallback) was made by the real SST, in the seed's layout. */
async function seedStyleProject() {
  const project = await makeSstProject()
  removeAtCleanup(project.dir)
  const home = tempDir('sls-seed-home-')
  for (const stage of STAGES) {
    const [name, value] = SECRETS[stage]
    const set = runSst(['secret', 'set', name, value, '--stage', stage], { cwd: project.dir, configHome: home })
    assert.equal(set.status, 0, `sst secret set failed: ${set.stderr}`)
  }
  const fb = runSst(['secret', 'set', FALLBACK[0], FALLBACK[1], '--fallback', '--stage', 'dev'], { cwd: project.dir, configHome: home })
  assert.equal(fb.status, 0, `sst secret set --fallback failed: ${fb.stderr}`)
  const passphrases = []
  for (const key of ['passphrase', 'secret']) {
    const from = join(home, 'sst', 'state', key, 'demo-app')
    const to = join(project.dir, 'infra', 'state', key)
    mkdirSync(to, { recursive: true })
    for (const file of readdirSync(from)) {
      cpSync(join(from, file), join(to, file))
      if (key === 'passphrase') passphrases.push(readFileSync(join(from, file), 'utf8'))
    }
  }
  assert.equal(passphrases.length, 3)
  return { project, passphrases }
}

describe('encrypt and rekey with the real SST CLI', () => {
  test('encrypt migrates a seed-style repository; rekey after removing a recipient locks it out', SLOW, async () => {
    const srv = await gitServer()
    const repo = srv.newRepo('secrets-encrypt')
    const { project, passphrases } = await seedStyleProject()
    gitOk(['init', '-q', '-b', 'main'], project.dir)
    gitOk(['add', '-A'], project.dir)
    gitOk(['commit', '-q', '-m', 'seed recipe state'], project.dir)
    gitOk(['push', '-q', repo.open, 'main'], project.dir)
    const secretValues = [...Object.values(SECRETS).map(([, v]) => v), FALLBACK[1]]
    const never = [...passphrases, ...secretValues]

    // a member's clone: two keys listed (the first member, then a joining one)
    const clone = ciClone(repo.open, { shallow: false })
    symlinkSync(join(project.dir, '.sst'), join(clone, '.sst'), 'junction')
    const keyA = join(tempDir('sls-key-a-'), 'age.txt')
    const keyB = join(tempDir('sls-key-b-'), 'age.txt')
    const initA = assertOk(cli(['init', '--key-file', keyA], clone), 'init A')
    assert.match(initA.stdout, /as the CI secret SST_LOCAL_STATE_AGE_KEY/)
    const initB = assertOk(cli(['init', '--key-file', keyB, '--verbose'], clone), 'init B')
    assert.match(initB.stdout, /rekey/)
    assert.doesNotMatch(initB.stdout, /as the CI secret/, 'a joining member is never told to store their key in CI')
    const secretA = readFileSync(keyA, 'utf8').split('\n').find((l) => l.startsWith('AGE-SECRET-KEY-1'))
    const secretB = readFileSync(keyB, 'utf8').split('\n').find((l) => l.startsWith('AGE-SECRET-KEY-1'))
    never.push(secretA, secretB)
    for (const res of [initA, initB]) assertNoLeak(res, never, 'init')

    // encrypt: one commit, pushed; dry run first writes nothing
    const before = revParse(repo.path)
    const dry = assertOk(cli(['encrypt', '--branch', 'main', '--dry-run', '--json'], clone), 'encrypt --dry-run')
    assert.equal(dry.json.committed, false)
    assert.equal(revParse(repo.path), before)
    const enc = assertOk(cli(['encrypt', '--branch', 'main', '--json'], clone), 'encrypt')
    assertNoLeak(enc, never, 'encrypt --json')
    assert.equal(enc.json.pushed, true)
    assert.equal(enc.json.commit, revParse(repo.path))
    assert.equal(gitOk(['--git-dir', repo.path, 'rev-parse', `${enc.json.commit}^`]), before, 'one commit')
    assert.ok(enc.json.notes.some((n) => /git history still holds/.test(n)), JSON.stringify(enc.json.notes))
    const tree = gitOk(['--git-dir', repo.path, 'ls-tree', '-r', '--name-only', 'main']).split('\n')
    assert.deepEqual(tree.filter((p) => p.startsWith('infra/state/passphrase/')).sort(), [
      'infra/state/passphrase/_fallback.age',
      'infra/state/passphrase/dev.age',
      'infra/state/passphrase/prod.age',
      'infra/state/passphrase/sealed-to.txt',
    ])
    for (const path of tree) {
      const text = gitOk(['--git-dir', repo.path, 'show', `main:${path}`])
      for (const p of passphrases) assert.ok(!text.includes(p), `the tip's ${path} holds a plaintext passphrase`)
    }

    // every stage prepares with the age key on a fresh machine, and SST reads the secrets
    const listed = (dir, env) => {
      const out = {}
      for (const stage of STAGES) {
        const home = tempDir('sls-home-')
        const prep = cli(['prepare', '--stage', stage, '--config-dir', join(home, 'sst'), '--json'], dir, env)
        out[stage] = prep
        if (prep.status !== 0) continue
        assertNoLeak(prep, never, 'prepare')
        const list = runSst(['secret', 'list', '--stage', stage], { cwd: dir, configHome: home })
        assert.equal(list.status, 0, `sst secret list --stage ${stage} failed: ${list.stderr}`)
        assert.match(list.stdout, new RegExp(`^${SECRETS[stage][0]}=${SECRETS[stage][1]}$`, 'm'))
        assert.match(list.stdout, new RegExp(`${FALLBACK[0]}=${FALLBACK[1]}`))
      }
      return out
    }
    const fresh = ciClone(repo.open)
    symlinkSync(join(project.dir, '.sst'), join(fresh, '.sst'), 'junction')
    for (const res of Object.values(listed(fresh, { SST_LOCAL_STATE_AGE_KEY: secretA }))) assertOk(res, 'prepare A')
    for (const res of Object.values(listed(fresh, { SST_LOCAL_STATE_AGE_KEY: secretB }))) assertOk(res, 'prepare B')

    // status: who can open each passphrase, how many recipients (CLI and JS API)
    const st = assertOk(cli(['status', '--stage', 'dev', '--config-dir', join(tempDir('sls-st-'), 'sst'), '--json'], fresh, { SST_LOCAL_STATE_AGE_KEY: secretA }), 'status')
    assertNoLeak(st, never, 'status --json')
    assert.deepEqual(st.json.passphrases.map((p) => [p.kind, p.form, p.recipients, p.decryptable]), [
      ['passphrase', 'age', 2, true],
      ['fallbackPassphrase', 'age', 2, true],
    ])
    const { stageStatus } = require(join(REPO_ROOT, 'index.js'))
    const saved = process.env.SST_LOCAL_STATE_AGE_KEY
    delete process.env.SST_LOCAL_STATE_AGE_KEY
    try {
      const js = await stageStatus({ stage: 'dev', cwd: fresh, configDir: join(tempDir('sls-st-'), 'sst') })
      assert.equal(js.passphrases.length, 2)
      assert.equal(js.passphrases[0].recipients, 2)
      assert.equal(js.passphrases[0].form, 'age')
    } finally {
      if (saved !== undefined) process.env.SST_LOCAL_STATE_AGE_KEY = saved
    }

    // B leaves: remove its line, A rekeys
    const recipientsFile = join(clone, 'infra', 'state', 'age-recipients.txt')
    const publicB = initB.stdout.match(/public key (age1[0-9a-z]+)/)[1]
    writeFileSync(recipientsFile, readFileSync(recipientsFile, 'utf8').split('\n').filter((l) => l.trim() !== publicB).join('\n'))
    const rekey = assertOk(cli(['rekey', '--branch', 'main', '--json', '--verbose'], clone, { SST_LOCAL_STATE_AGE_KEY: secretA }), 'rekey')
    assertNoLeak(rekey, never, 'rekey --json --verbose')
    assert.equal(rekey.json.pushed, true)
    assert.equal(rekey.json.recipients, 1)
    const human = assertOk(cli(['rekey', '--branch', 'main', '--verbose'], clone, { SST_LOCAL_STATE_AGE_KEY: secretA }), 'rekey again')
    assertNoLeak(human, never, 'rekey --verbose')
    assert.match(human.stdout, /nothing to change/)
    assert.equal(revParse(repo.path), rekey.json.commit, 'no change → no commit')

    const after = ciClone(repo.open)
    symlinkSync(join(project.dir, '.sst'), join(after, '.sst'), 'junction')
    const removed = listed(after, { SST_LOCAL_STATE_AGE_KEY: secretB })
    for (const res of Object.values(removed)) {
      assert.equal(res.json?.error?.code, 'DECRYPT_FAILED', res.stdout)
      assertNoLeak(res, never, 'prepare with a removed key')
    }
    for (const res of Object.values(listed(after, { SST_LOCAL_STATE_AGE_KEY: secretA }))) assertOk(res, 'prepare A after rekey')

    // a key that cannot decrypt cannot rekey: refused, naming the file, nothing pushed
    const refused = cli(['rekey', '--branch', 'main', '--json'], after, { SST_LOCAL_STATE_AGE_KEY: secretB })
    writeFileSync(join(after, 'infra', 'state', 'age-recipients.txt'), `${publicB}\n`)
    const refused2 = cli(['rekey', '--branch', 'main', '--json'], after, { SST_LOCAL_STATE_AGE_KEY: secretB })
    assert.equal(refused.json?.error?.code ?? 'none', 'none', 'unchanged recipients: nothing to decrypt')
    assert.equal(refused2.json?.error?.code, 'DECRYPT_FAILED', refused2.stdout)
    assert.match(refused2.json.error.message, /passphrase\/[_a-z]+\.age/)
    assertNoLeak(refused2, never, 'a refused rekey')
    assert.equal(revParse(repo.path), rekey.json.commit)

    // what history holds: the plain passphrases are still in the objects (the note is honest)
    const objects = allObjects(repo.path).join('\n')
    assert.ok(passphrases.every((p) => objects.includes(p)), 'the history still holds the plaintext, as encrypt says')
  })
})

describe('env mode with the real SST CLI', () => {
  test('SST_PASSPHRASE in CI only: the pushed repository never holds it; sst secret list works after prepare on a fresh machine', SLOW, async () => {
    const srv = await gitServer()
    const repo = srv.newRepo('secrets-env-mode')
    const project = await makeSstProject()
    removeAtCleanup(project.dir)
    const pkgFile = join(project.dir, 'package.json')
    const pkg = JSON.parse(readFileSync(pkgFile, 'utf8'))
    pkg.sstLocalState = { passphrase: 'env' }
    writeFileSync(pkgFile, `${JSON.stringify(pkg, null, 2)}\n`)
    gitOk(['init', '-q', '-b', 'main'], project.dir)
    gitOk(['add', '-A'], project.dir)
    gitOk(['commit', '-q', '-m', 'initial'], project.dir)
    gitOk(['remote', 'add', 'origin', repo.open], project.dir)
    gitOk(['push', '-q', 'origin', 'main'], project.dir)
    const passphrase = (await import('node:crypto')).randomBytes(32).toString('base64')
    const ci = { SST_PASSPHRASE: passphrase }
    const never = [passphrase, 'env-secret-value', 'env-fallback-value']

    // machine A: prepare without the variable says which one to set
    const homeA = tempDir('sls-env-a-')
    const configA = join(homeA, 'sst')
    const missing = cli(['prepare', '--stage', 'dev', '--config-dir', configA, '--json'], project.dir)
    assert.equal(missing.json?.error?.code, 'PASSPHRASE_MISSING', missing.stdout)
    assert.match(missing.json.error.message, /set SST_PASSPHRASE/)
    assertNoLeak(missing, never, 'prepare without the variable')
    const prepA = assertOk(cli(['prepare', '--stage', 'dev', '--config-dir', configA, '--json', '--verbose'], project.dir, ci), 'prepare A')
    assertNoLeak(prepA, never, 'prepare (env mode)')
    if (process.platform !== 'win32') {
      for (const f of ['dev.json', '_fallback.json']) {
        const file = join(configA, 'state', 'passphrase', 'demo-app', f)
        assert.equal(readFileSync(file, 'utf8'), passphrase)
        assert.equal(statSync(file).mode & 0o777, 0o600, `${f} is not 0600`)
      }
    }
    for (const [args, what] of [
      [['secret', 'set', 'EnvKey', 'env-secret-value', '--stage', 'dev'], 'secret set'],
      [['secret', 'set', 'EnvShared', 'env-fallback-value', '--fallback', '--stage', 'dev'], 'secret set --fallback'],
    ]) {
      const res = runSst(args, { cwd: project.dir, configHome: homeA })
      assert.equal(res.status, 0, `sst ${what} failed: ${res.stderr}`)
    }
    const commitA = assertOk(cli(['commit', '--stage', 'dev', '--config-dir', configA, '--json', '--verbose'], project.dir, ci), 'commit A')
    assertNoLeak(commitA, never, 'commit (env mode)')
    assert.equal(commitA.json.pushed, true)
    assert.deepEqual(commitA.json.files.map((f) => f.path).sort(), ['infra/state/secret/_fallback.json', 'infra/state/secret/dev.json'])

    // every object of the pushed repository: no passphrase, in any form
    const objects = allObjects(repo.path)
    assert.ok(objects.length > 10)
    for (const text of objects) assert.ok(!text.includes(passphrase), 'an object of the pushed repository holds the passphrase')
    const tree = gitOk(['--git-dir', repo.path, 'ls-tree', '-r', '--name-only', 'main'])
    assert.doesNotMatch(tree, /infra\/state\/passphrase\//)

    // machine B: a fresh CI checkout with the CI secret
    const clone = ciClone(repo.open)
    symlinkSync(join(project.dir, '.sst'), join(clone, '.sst'), 'junction')
    const homeB = tempDir('sls-env-b-')
    const noVar = cli(['prepare', '--stage', 'dev', '--config-dir', join(homeB, 'sst'), '--json'], clone)
    assert.equal(noVar.json?.error?.code, 'PASSPHRASE_MISSING')
    const prepB = assertOk(cli(['prepare', '--stage', 'dev', '--config-dir', join(homeB, 'sst'), '--json'], clone, ci), 'prepare B')
    assertNoLeak(prepB, never, 'prepare B')
    const list = runSst(['secret', 'list', '--stage', 'dev'], { cwd: clone, configHome: homeB })
    assert.equal(list.status, 0, `sst secret list failed: ${list.stderr}`)
    assert.match(list.stdout, /^EnvKey=env-secret-value$/m)
    assert.match(list.stdout, /EnvShared=env-fallback-value/)

    // the flag overrides package.json: age mode finds no passphrase in the repository
    const age = cli(['prepare', '--stage', 'dev', '--config-dir', join(tempDir('sls-env-c-'), 'sst'), '--passphrase', 'age', '--json'], clone, ci)
    assert.equal(age.json?.error?.code, 'PASSPHRASE_MISSING', age.stdout)
  })
})

describe('what env mode relies on, checked with the real SST CLI', () => {
  test('SST writes SST_PASSPHRASE as the stage and the fallback passphrase when it creates them, and never reads it otherwise', SLOW, async () => {
    const project = await makeSstProject()
    removeAtCleanup(project.dir)
    const home = tempDir('sls-env-facts-')
    const dir = join(home, 'sst', 'state', 'passphrase', 'demo-app')
    const passphrase = (await import('node:crypto')).randomBytes(32).toString('base64')
    const sst = (args, env = {}) => runSst(args, { cwd: project.dir, configHome: home, env })
    assert.equal(sst(['secret', 'set', 'A', 'a', '--stage', 'dev'], { SST_PASSPHRASE: passphrase }).status, 0)
    assert.equal(sst(['secret', 'set', 'F', 'f', '--fallback', '--stage', 'dev'], { SST_PASSPHRASE: passphrase }).status, 0)
    assert.equal(readFileSync(join(dir, 'dev.json'), 'utf8'), passphrase)
    assert.equal(readFileSync(join(dir, '_fallback.json'), 'utf8'), passphrase)
    // a command that only reads, with no passphrase file: fails even with the variable set
    for (const f of readdirSync(dir)) rmSync(join(dir, f))
    const list = sst(['secret', 'list', '--stage', 'dev', '--print-logs'], { SST_PASSPHRASE: passphrase })
    assert.notEqual(list.status, 0)
    assert.match(list.stdout + list.stderr, /invalid key size 0/)
  })
})

describe('no leak on the failure paths', () => {
  test('encrypt without recipients, init --recipient with a secret, a refused --recipient: nothing secret printed', SLOW, async () => {
    const repo = await seededRepo('secrets-failures')
    const clone = ciClone(repo.open, { shallow: false })
    const passphrase = readFileSync(join(clone, 'infra', 'state', 'passphrase', 'dev.json'), 'utf8')
    const never = [passphrase]
    const noRecipients = cli(['encrypt', '--no-push', '--json', '--verbose'], clone)
    assert.equal(noRecipients.status, 1, noRecipients.stdout)
    assert.equal(noRecipients.json.error.code, 'INVALID_OPTION')
    assert.match(noRecipients.json.error.message, /sst-local-state init/)
    assertNoLeak(noRecipients, never, 'encrypt without recipients')
    for (const bad of [passphrase, 'AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ']) {
      const res = cli(['init', '--recipient', bad, '--json'], clone)
      assert.equal(res.json?.error?.code, 'INVALID_OPTION', res.stdout)
      assertNoLeak(res, [...never, bad], 'init --recipient <not a public key>')
    }
    const key = join(tempDir('sls-key-'), 'age.txt')
    assertOk(cli(['init', '--key-file', key], clone), 'init')
    never.push(readFileSync(key, 'utf8').split('\n').find((l) => l.startsWith('AGE-SECRET-KEY-1')))
    const enc = assertOk(cli(['encrypt', '--no-push', '--verbose'], clone), 'encrypt --no-push --verbose')
    assertNoLeak(enc, never, 'encrypt --verbose')
    assert.match(enc.stdout, /git history still holds/)
    assert.equal(existsSync(join(clone, 'infra', 'state', 'passphrase', 'dev.json')), false)
    assert.ok(existsSync(join(clone, 'infra', 'state', 'passphrase', 'dev.age')))
    assert.equal(gitOk(['status', '--porcelain'], clone), '', 'worktree and index follow the commit')
  })
})

describe('encrypt on a branch that moves under it', () => {
  test('another pipeline pushes between our fetch and our push: replanned on the new tip, both land', SLOW, async () => {
    const repo = await seededRepo('secrets-race')
    const clone = ciClone(repo.open, { shallow: false })
    const key = join(tempDir('sls-key-'), 'age.txt')
    assertOk(cli(['init', '--key-file', key], clone), 'init')
    const other = otherPipeline(repo, 'README-other.md', 'other pipeline\n')
    const marker = raceOnce(repo)
    const res = assertOk(cli(['encrypt', '--branch', 'main', '--json'], clone), 'encrypt')
    assert.equal(existsSync(marker), false, 'the race hook did not run')
    assert.equal(res.json.attempts, 2, res.stdout)
    assert.equal(res.json.commit, revParse(repo.path))
    assert.equal(gitOk(['--git-dir', repo.path, 'rev-parse', `${res.json.commit}^`]), other, 'built on the other pipeline\'s commit')
    const tree = gitOk(['--git-dir', repo.path, 'ls-tree', '-r', '--name-only', 'main']).split('\n')
    assert.ok(tree.includes('README-other.md') && tree.includes('infra/state/passphrase/dev.age'), tree.join(' '))
    assert.ok(!tree.includes('infra/state/passphrase/dev.json'))
    assert.equal(res.json.headUpdated, false, 'HEAD was not the new tip: left alone')

    // rekey racing a pipeline that commits a new stage's passphrase (sealed to the old keys):
    // replanned on the new tip, the new file is re-encrypted too
    const keyB = join(tempDir('sls-key-b-'), 'age.txt')
    const initB = assertOk(cli(['init', '--key-file', keyB], clone), 'init B')
    const publicB = initB.stdout.match(/public key (age1[0-9a-z]+)/)[1]
    const sealedToA = readFileSync(join(clone, 'infra', 'state', 'passphrase', 'dev.age'), 'utf8')
    const secretA = readFileSync(key, 'utf8').split('\n').find((l) => l.startsWith('AGE-SECRET-KEY-1'))
    const secretB = readFileSync(keyB, 'utf8').split('\n').find((l) => l.startsWith('AGE-SECRET-KEY-1'))
    writeFileSync(join(clone, 'infra', 'state', 'age-recipients.txt'), `${publicB}\n`)
    const qa = otherPipeline(repo, 'infra/state/passphrase/qa.age', sealedToA, 'refs/other/qa')
    gitOk(['--git-dir', repo.path, 'update-ref', 'refs/other/next', qa])
    const race = raceOnce(repo)
    const rekeyed = assertOk(cli(['rekey', '--branch', 'main', '--json'], clone, { SST_LOCAL_STATE_AGE_KEY: secretA }), 'rekey')
    assert.equal(existsSync(race), false, 'the race hook did not run')
    assert.equal(rekeyed.json.attempts, 2, rekeyed.stdout)
    assert.ok(rekeyed.json.files.some((f) => f.path === 'infra/state/passphrase/qa.age'), rekeyed.stdout)
    // only B opens the tip's qa passphrase now
    const fresh = ciClone(repo.open)
    for (const [secret, opens] of [[secretA, false], [secretB, true]]) {
      const res = cli(['status', '--stage', 'qa', '--config-dir', join(tempDir('sls-st-'), 'sst'), '--json'], fresh, { SST_LOCAL_STATE_AGE_KEY: secret })
      assertOk(res, 'status qa')
      assert.equal(res.json.passphrases[0].decryptable, opens, res.stdout)
    }
  })
})

describe('rekey racing pipelines that deploy new stages', () => {
  /**
   * A "first deploy" of a stage: if `waitFor` (a file) is given, writes `<waitFor>.<stage>` (prepare
   * is done) and waits for it; sleeps; leaves a new passphrase and a checkpoint.
   */
  function newStageScript() {
    const script = join(tempDir('sls-script-'), 'new-stage.mjs')
    writeFileSync(
      script,
      `import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
const [configDir, stage, sleep, waitFor] = process.argv.slice(2)
const until = Date.now() + 300000
if (waitFor) writeFileSync(waitFor + '.' + stage, '')
while (waitFor && !existsSync(waitFor)) {
  if (Date.now() > until) process.exit(9)
  await new Promise((r) => setTimeout(r, 50))
}
await new Promise((r) => setTimeout(r, Number(sleep)))
const checkpoint = { version: 3, checkpoint: { stack: 'organization/demo-app/' + stage, latest: { resources: [{ urn: 'urn:pulumi:' + stage + '::demo-app::pulumi:pulumi:Stack::demo-app-' + stage, custom: false, type: 'pulumi:pulumi:Stack' }] } } }
for (const [key, content] of [['passphrase', randomBytes(32).toString('base64')], ['app', JSON.stringify(checkpoint)]]) {
  const dir = join(configDir, 'state', key, 'demo-app')
  mkdirSync(dir, { recursive: true })
  writeFileSync(join(dir, stage + '.json'), content)
}
`,
    )
    return script
  }

  test('a key removed and rekeyed while eight runs deploy new stages from clones made before: every .age on the tip is closed to it', SLOW, async () => {
    const repo = await seededRepo('secrets-rekey-race')
    const admin = ciClone(repo.open, { shallow: false })
    const keys = {}
    for (const name of ['a', 'b', 'c']) {
      const file = join(tempDir(`sls-key-${name}-`), 'age.txt')
      const out = assertOk(cli(['init', '--key-file', file], admin), `init ${name}`).stdout
      keys[name] = {
        public: out.match(/public key (age1[0-9a-z]+)/)[1],
        secret: readFileSync(file, 'utf8').split('\n').find((l) => l.startsWith('AGE-SECRET-KEY-1')),
      }
    }
    assertOk(cli(['encrypt', '--branch', 'main'], admin), 'encrypt (dev.age to a, b and c)')
    // every pipeline's checkout is made now: its age-recipients.txt lists b
    const script = newStageScript()
    const afterRekey = join(tempDir('sls-race-'), 'rekey-done')
    const pipelines = [1, 2, 3, 4, 5, 6, 7, 8].map((i) => ({ stage: `s${i}`, dir: ciClone(repo.open), configDir: join(tempDir('sls-cfg-'), 'sst') }))
    const revoker = ciClone(repo.open, { shallow: false })
    const list = join(revoker, 'infra', 'state', 'age-recipients.txt')
    writeFileSync(list, readFileSync(list, 'utf8').split('\n').filter((l) => l.trim() !== keys.b.public).join('\n'))

    // five runs race the rekey (staggered), three prepare before it and deploy once it has landed
    const runs = pipelines.map((p, i) =>
      cliAsync(
        ['run', '--stage', p.stage, '--config-dir', p.configDir, '--branch', 'main', '--json', '--', process.execPath, script, p.configDir, p.stage, String(i < 5 ? i * 250 : 0), ...(i < 5 ? [] : [afterRekey])],
        p.dir,
        { SST_LOCAL_STATE_AGE_KEY: keys.c.secret },
      ),
    )
    // the rekey starts once the three late runs have prepared (their base is older than it)
    const started = Date.now()
    while (!pipelines.slice(5).every((p) => existsSync(`${afterRekey}.${p.stage}`))) {
      assert.ok(Date.now() - started < 300_000, 'the late runs never reached their deploy')
      await new Promise((r) => setTimeout(r, 50))
    }
    const rekey = await cliAsync(['rekey', '--branch', 'main', '--json'], revoker, { SST_LOCAL_STATE_AGE_KEY: keys.a.secret })
    writeFileSync(afterRekey, '')
    const results = await Promise.all(runs)
    assert.equal(rekey.status, 0, `rekey: ${rekey.stdout}\n${rekey.stderr}`)
    assert.equal(rekey.json.pushed, true)
    for (const [i, res] of results.entries()) assert.equal(res.status, 0, `${pipelines[i].stage}: ${res.stdout}\n${res.stderr}`)
    // the three late runs built on a tip from before the rekey: refused, encrypted again on the new tip
    for (const res of results.slice(5)) {
      const steps = res.json.commit.steps.map((s) => s.name)
      assert.ok(steps.some((s) => /^sealed \S+\.age again to the 2 recipients of the new tip$/.test(s)), steps.join('\n'))
    }

    // the tip's list is the rekey's; every passphrase on the tip is closed to b and opens with a and c
    const tip = revParse(repo.path)
    assert.ok(!gitOk(['--git-dir', repo.path, 'show', `${tip}:infra/state/age-recipients.txt`]).includes(keys.b.public))
    const sealed = gitOk(['--git-dir', repo.path, 'ls-tree', '--name-only', `${tip}:infra/state/passphrase`]).split('\n').filter((n) => n.endsWith('.age'))
    assert.deepEqual(sealed.sort(), ['dev.age', ...pipelines.map((p) => `${p.stage}.age`)].sort())
    const fresh = ciClone(repo.open)
    for (const name of sealed) {
      const stage = name.replace(/\.age$/, '')
      for (const [key, opens] of [['b', false], ['a', true], ['c', true]]) {
        const st = assertOk(cli(['status', '--stage', stage, '--config-dir', join(tempDir('sls-st-'), 'sst'), '--json'], fresh, { SST_LOCAL_STATE_AGE_KEY: keys[key].secret }), `status ${stage}`)
        assert.equal(st.json.passphrases[0].decryptable, opens, `${name} with key ${key}: ${st.stdout}`)
        assert.equal(st.json.passphrases[0].recipients, 2, name)
        assert.ok(!st.json.warnings.some((w) => w.code === 'REKEY_NEEDED'), st.stdout)
      }
    }
    // and nothing is left for a rekey to do
    const again = assertOk(cli(['rekey', '--branch', 'main', '--json'], fresh, { SST_LOCAL_STATE_AGE_KEY: keys.a.secret }), 'rekey again')
    assert.equal(again.json.committed, false, again.stdout)
  })
})

describe('JS API: encryptPassphrases, rekeyPassphrases', () => {
  test('the same commits as the CLI, from require and import; unknown options rejected', SLOW, async () => {
    const repo = await seededRepo('secrets-js-api')
    const clone = ciClone(repo.open) // a CI checkout: shallow, detached
    const passphrase = readFileSync(join(clone, 'infra', 'state', 'passphrase', 'dev.json'), 'utf8')
    const configDir = join(tempDir('sls-js-cfg-'), 'sst')
    assertOk(cli(['init', '--config-dir', configDir], clone), 'init')
    const cjs = require(join(REPO_ROOT, 'index.js'))
    const esm = await import(join(REPO_ROOT, 'index.mjs'))
    assert.equal(esm.encryptPassphrases, cjs.encryptPassphrases)
    await assert.rejects(cjs.rekeyPassphrases({ cwd: clone, pushh: false }), (e) => e.code === 'INVALID_OPTION' && /did you mean push/.test(e.message))
    const dry = await esm.encryptPassphrases({ cwd: clone, configDir, branch: 'main', dryRun: true })
    assert.equal(dry.committed, false)
    assert.deepEqual(dry.files.map((f) => f.change).sort(), ['encrypted', 'removed', 'updated', 'updated'])
    const enc = await esm.encryptPassphrases({ cwd: clone, configDir, branch: 'main' })
    assert.equal(enc.pushed, true)
    assert.equal(enc.commit, revParse(repo.path))
    assert.ok(enc.notes[0].includes('git history still holds'))
    assert.ok(!JSON.stringify(enc).includes(passphrase))
    // the key init wrote under configDir opens it; recipients unchanged since encrypt: nothing to do
    const same = await cjs.rekeyPassphrases({ cwd: clone, configDir, branch: 'main' })
    assert.equal(same.committed, false)
    assert.equal(same.recipients, 1)
    assertOk(cli(['init', '--config-dir', join(tempDir('sls-js-cfg2-'), 'sst')], clone), 'init (a second member)')
    const rekeyed = await cjs.rekeyPassphrases({ cwd: clone, configDir, branch: 'main' })
    assert.equal(rekeyed.pushed, true)
    assert.equal(rekeyed.recipients, 2)
    assert.deepEqual(rekeyed.files.map((f) => f.path).sort(), [
      'infra/state/age-recipients.txt',
      'infra/state/passphrase/dev.age',
      'infra/state/passphrase/sealed-to.txt',
    ])
  })
})
