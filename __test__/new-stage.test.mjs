// A stage none of whose state the repository holds: in CI (the CI's own
// variables, here GitHub Actions') `prepare` and `run` refuse it with
// STAGE_UNKNOWN (exit 1), listing the stages the repository holds, before
// anything is written or run: `prepare --stage prd` for `prod` must not
// deploy a whole new stage. New stages are allowed by --allow-new-stage /
// `allowNewStage: true`, env SST_LOCAL_STATE_NEW_STAGES, or `package.json`
// `"sstLocalState": { "newStages": ["pr-*"] }` (per-pull-request preview
// stages); outside CI a new stage is a first deploy whose message lists the
// repository's stages. CLI, prepareStage and runStage, over the real
// smart-HTTP git server for run. Runs under `node --test` and `bun test`.
import { test, describe, after } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

import { SLOW, assertOk, cleanup, cli, git, gitOk, node, tempDir } from './helpers/common.mjs'
import { REPO_ROOT } from './helpers/sst.mjs'
import { ciClone, seededRepo, showBlob } from './helpers/state-repo.mjs'

after(cleanup)

/** GitHub Actions, as the tool detects it. */
const CI = { GITHUB_ACTIONS: 'true', GITHUB_REPOSITORY: 'o/r', GITHUB_RUN_ID: '7' }
const LOCK = (stage) => `refs/heads/sst-local-state/lock/demo-app/${stage}`

const prepareArgs = (stage, configDir, extra = []) => ['prepare', '--stage', stage, '--config-dir', configDir, ...extra]

describe('new stages', () => {
  test('in CI, `prepare --stage prd` (a typo for dev) is STAGE_UNKNOWN, exit 1, listing the stages, nothing written; --allow-new-stage deploys it', SLOW, async () => {
    const repo = await seededRepo('new-stage-prepare')
    const dir = ciClone(repo.open)
    const configDir = join(tempDir('sls-cfg-'), 'sst')
    const refused = cli(prepareArgs('prd', configDir, ['--json']), dir, CI)
    assert.equal(refused.status, 1, refused.stdout + refused.stderr)
    assert.equal(refused.json.error.code, 'STAGE_UNKNOWN')
    assert.match(refused.json.error.message, /stage "prd" has no state in the repository \(infra\/state holds the stage dev\): a typo\?/)
    assert.match(refused.json.error.message, /pass --allow-new-stage/)
    assert.ok(!existsSync(configDir), 'the config dir was created')
    const human = cli(prepareArgs('prd', configDir), dir, CI)
    assert.match(human.stderr, /^error\[STAGE_UNKNOWN\]: /m)
    // a stage the repository holds: as ever
    assertOk(cli(prepareArgs('dev', configDir), dir, CI), 'prepare dev')
    // on purpose
    const allowed = assertOk(cli(prepareArgs('qa', configDir, ['--allow-new-stage']), dir, CI), 'prepare --allow-new-stage')
    assert.match(allowed.stdout, /first deploy of stage qa, SST will start a new state \(the repository holds the stage dev\)/)
    // outside CI: a first deploy, the message listing the stages
    const local = assertOk(cli(prepareArgs('prd', configDir), dir), 'prepare outside CI')
    assert.match(local.stdout, /first deploy of stage prd, SST will start a new state \(the repository holds the stage dev\)/)
  })

  test('package.json `newStages: ["pr-*"]`: `run --stage pr-42` deploys and saves a preview stage in CI; `run --stage prd` is refused before the command runs, no lock left', SLOW, async () => {
    const repo = await seededRepo('new-stage-run')
    const dir = ciClone(repo.open)
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'))
    pkg.sstLocalState = { newStages: ['pr-*'] }
    writeFileSync(join(dir, 'package.json'), JSON.stringify(pkg, null, 2))
    const configDir = join(tempDir('sls-cfg-'), 'sst')
    const ran = join(tempDir('sls-ran-'), 'ran')
    // the "deploy": SST's new passphrase and first checkpoint of the new stage
    const deploy = (stage) => [
      process.execPath,
      '-e',
      `const fs = require('fs'); const p = require('path'); const put = (key, body) => { const f = p.join(${JSON.stringify(configDir)}, 'state', key, 'demo-app', '${stage}.json'); fs.mkdirSync(p.dirname(f), { recursive: true }); fs.writeFileSync(f, body) }
put('passphrase', require('crypto').randomBytes(32).toString('base64'))
put('app', JSON.stringify({ version: 3, checkpoint: { stack: 'organization/demo-app/${stage}', latest: { resources: [] } } }))
fs.writeFileSync(${JSON.stringify(ran)}, '${stage}')`,
    ]
    // the seed keeps its passphrase in plain text (no age recipients)
    const env = { ...CI, SST_LOCAL_STATE_PLAINTEXT_PASSPHRASE: '1' }
    const run = (stage) => cli(['run', '--stage', stage, '--config-dir', configDir, '--branch', 'main', '--', ...deploy(stage)], dir, env)
    const refused = run('prd')
    assert.equal(refused.status, 1, refused.stdout + refused.stderr)
    assert.match(refused.stderr, /error\[STAGE_UNKNOWN\]: stage "prd" has no state in the repository \(infra\/state holds the stage dev\)/)
    assert.match(refused.stderr, /package\.json sstLocalState\.newStages allows no new stage of that name/)
    assert.ok(!existsSync(ran), 'the command ran')
    assert.equal(git(['--git-dir', repo.path, 'rev-parse', '--verify', '-q', LOCK('prd')]).status, 1, 'the lock stayed')
    const preview = run('pr-42')
    assert.equal(preview.status, 0, preview.stdout + preview.stderr)
    assert.equal(readFileSync(ran, 'utf8'), 'pr-42')
    assert.notEqual(showBlob(repo.path, 'main', 'infra/state/app/pr-42.json'), null, 'the preview stage was not saved')
    assert.equal(gitOk(['--git-dir', repo.path, 'for-each-ref', 'refs/heads/sst-local-state/lock']), '')
  })

  test('prepareStage / runStage: STAGE_UNKNOWN in CI unless allowNewStage; knownStages in the result', SLOW, async () => {
    const repo = await seededRepo('new-stage-js')
    const dir = ciClone(repo.open)
    const configDir = join(tempDir('sls-cfg-'), 'sst')
    // in a process of its own whose environment is the CI's (bun does not hand process.env changes to the addon)
    const script = join(tempDir('sls-js-'), 'check.mjs')
    writeFileSync(
      script,
      `import { prepareStage, runStage } from ${JSON.stringify(join(REPO_ROOT, 'index.mjs'))}
const options = { stage: 'prd', cwd: ${JSON.stringify(dir)}, configDir: ${JSON.stringify(configDir)} }
const codeOf = (p) => p.then(() => 'resolved', (e) => [e.code, e.message])
const refused = await codeOf(prepareStage(options))
const run = await codeOf(runStage({ ...options, branch: 'main', command: ['true'] }))
const allowed = await prepareStage({ ...options, allowNewStage: true })
console.log(JSON.stringify({ refused, run, firstDeploy: allowed.firstDeploy, knownStages: allowed.knownStages }))
`,
    )
    const res = node([script], dir, CI)
    assert.equal(res.status, 0, res.stdout + res.stderr)
    const out = JSON.parse(res.stdout)
    assert.equal(out.refused[0], 'STAGE_UNKNOWN', out.refused[1])
    assert.match(out.refused[1], /options\.allowNewStage/)
    assert.match(out.refused[1], /holds the stage dev/)
    assert.equal(out.run[0], 'STAGE_UNKNOWN')
    assert.equal(out.firstDeploy, true)
    assert.deepEqual(out.knownStages, ['dev'])
  })
})
