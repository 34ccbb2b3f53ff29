// State-branch mode (issue 24) against a real smart-HTTP git server whose
// `main` is protected by a pre-receive hook, as GitHub's branch protection
// refuses pushes: the in-tree commit fails with PUSH_REJECTED naming
// state-branch mode; in state-branch mode the state lands on a branch of its
// own (parentless, only infra/state paths) while main, HEAD and the worktree
// stay as they were; CI clones prepare from it; concurrent pipelines of
// different stages all land; a conflicting change of the same stage is a
// STATE_CONFLICT with a rescue branch. Through the CLI and the JS API.
import { test, describe, after } from 'node:test'
import assert from 'node:assert/strict'
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { randomBytes } from 'node:crypto'

import { SLOW, assertOk, cleanup, cli, cliAsync, git, gitOk, node, revParse, tempDir } from './helpers/common.mjs'
import { REPO_ROOT } from './helpers/sst.mjs'
import { STATE, checkpoint, ciClone, configCheckpoint, deploy as deployTo, seededRepo, showBlob } from './helpers/state-repo.mjs'

after(cleanup)

const SB = 'sst-state'

/** A pre-receive hook refusing every push to refs/heads/main, as a protected branch does. */
function protectMain(repo) {
  const hook = join(repo.path, 'hooks', 'pre-receive')
  mkdirSync(dirname(hook), { recursive: true })
  writeFileSync(
    hook,
    `#!/bin/sh
while read old new ref; do
  if [ "$ref" = refs/heads/main ]; then
    echo "main is a protected branch: changes must go through a pull request" >&2
    exit 1
  fi
done
exit 0
`,
  )
  chmodSync(hook, 0o755)
}

/** A stage's checkpoint, as SST writes it. */
function stageCheckpoint(stage, resources, tag) {
  return checkpoint(resources, tag).replaceAll('::dev::', `::${stage}::`).replaceAll('demo-app/dev', `demo-app/${stage}`).replaceAll('demo-app-dev', `demo-app-${stage}`)
}

const repoPath = (stage) => `infra/state/app/${stage}.json`
const configPath = (configDir, stage) => join(configDir, 'state', 'app', 'demo-app', `${stage}.json`)
/** SST's first deploy of `stage`: its folders and a new passphrase, unless it has one. */
function firstDeploy(configDir, stage = 'dev') {
  mkdirSync(dirname(configPath(configDir, stage)), { recursive: true })
  const passphrase = join(configDir, 'state', 'passphrase', 'demo-app', `${stage}.json`)
  mkdirSync(dirname(passphrase), { recursive: true })
  if (!existsSync(passphrase)) writeFileSync(passphrase, randomBytes(32).toString('base64'))
}

/** A deploy of dev into `configDir`; returns the checkpoint's bytes. */
function deploy(configDir, resources, tag) {
  firstDeploy(configDir)
  return deployTo(configDir, resources, tag)
}

const freshConfigDir = () => join(tempDir('sls-cfg-'), 'sst')

/** `cmd --stage <stage> --config-dir <configDir> ...extra` in `dir`. */
const run = (cmd, dir, configDir, extra = [], env = {}, stage = 'dev') =>
  cli([cmd, '--stage', stage, '--config-dir', configDir, ...extra], dir, { ...PLAIN, ...env })

/** The seed keeps its passphrase in plain text; so do these tests (no age keys). */
const PLAIN = { SST_LOCAL_STATE_PLAINTEXT_PASSPHRASE: '1' }

/** The checkout's HEAD, `git status --porcelain` and state file: what state-branch mode must not change. */
function checkout(dir) {
  return {
    head: revParse(dir, 'HEAD', { bare: false }),
    status: gitOk(['status', '--porcelain'], dir),
    state: readFileSync(join(dir, STATE)),
  }
}

/** The paths the server's `ref` holds. */
const pathsOn = (repo, ref) => gitOk(['--git-dir', repo.path, 'ls-tree', '-r', '--name-only', ref]).trim().split('\n')

const rescueBranches = (repo) =>
  gitOk(['--git-dir', repo.path, 'for-each-ref', '--format=%(refname)', 'refs/heads/sst-local-state/rescue']).trim()

describe('state-branch mode with a protected main', () => {
  let repo
  let landed

  test('in-tree commit is refused (PUSH_REJECTED naming --state-branch); with --state-branch it lands on the state branch, main, HEAD and worktree unchanged', SLOW, async () => {
    repo = await seededRepo('protected')
    protectMain(repo)
    const mainBefore = revParse(repo.path)
    const dir = ciClone(repo.open)

    // in-tree: prepare from main works, the commit after a deploy is refused by the hook
    const inTree = freshConfigDir()
    assertOk(run('prepare', dir, inTree), 'prepare')
    deploy(inTree, 2, 'intree')
    const refused = run('commit', dir, inTree, ['--branch', 'main'])
    assert.notEqual(refused.status, 0, refused.stdout)
    assert.match(refused.stderr, /PUSH_REJECTED/)
    assert.match(refused.stderr, /--state-branch/, refused.stderr)
    assert.match(refused.stderr, /docs\/state-branch\.md/, refused.stderr)
    assert.equal(revParse(repo.path), mainBefore)

    // state-branch mode: no state branch yet, so a first deploy
    const before = checkout(dir)
    const configDir = freshConfigDir()
    const prepared = run('prepare', dir, configDir, ['--state-branch', SB, '--json'])
    assertOk(prepared, 'prepare --state-branch')
    assert.equal(prepared.json.firstDeploy, true, prepared.stdout)
    assert.equal(prepared.json.files.find((f) => f.kind === 'app').repoPath, join(dir, STATE))
    landed = deploy(configDir, 3, 'sb')
    const res = run('commit', dir, configDir, ['--state-branch', SB, '--json'])
    assertOk(res, 'commit --state-branch')
    assert.equal(res.json.branch, SB)
    assert.equal(res.json.pushed, true)
    assert.equal(res.json.headUpdated, false)
    assert.deepEqual(showBlob(repo.path, SB), landed)
    // created as a parentless commit holding only the state folder's paths
    assert.equal(gitOk(['--git-dir', repo.path, 'rev-list', '--count', SB]).trim(), '1')
    const paths = pathsOn(repo, SB)
    assert.ok(paths.length > 0 && paths.every((p) => p.startsWith('infra/state/')), paths.join(' '))
    // main on the server and the checkout are as they were
    assert.equal(revParse(repo.path), mainBefore)
    assert.deepEqual(checkout(dir), before)
    assert.equal(rescueBranches(repo), '')
  })

  test('a second CI clone (depth 1, detached) in state-branch mode (env) prepares the state; its checkout is not written', SLOW, async () => {
    assert.ok(landed, 'needs the previous test')
    const dir = ciClone(repo.open)
    const before = checkout(dir)
    const configDir = freshConfigDir()
    const res = run('prepare', dir, configDir, ['--json'], { SST_LOCAL_STATE_STATE_BRANCH: SB })
    assertOk(res, 'prepare (env)')
    assert.equal(res.json.firstDeploy, false)
    assert.deepEqual(readFileSync(configCheckpoint(configDir)), landed)
    assert.deepEqual(checkout(dir), before)
    // without state-branch mode the same clone gets main's (older) state
    const inTree = freshConfigDir()
    assertOk(run('prepare', dir, inTree), 'prepare in-tree')
    assert.notDeepEqual(readFileSync(configCheckpoint(inTree)), landed)
  })

  test('4 pipelines committing different stages at once (package.json stateBranch) all land: no lost state, no rescue branch', SLOW, async () => {
    assert.ok(landed, 'needs the previous test')
    const stages = ['s1', 's2', 's3', 's4']
    const pipelines = stages.map((stage) => {
      const dir = ciClone(repo.open)
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'))
      writeFileSync(join(dir, 'package.json'), JSON.stringify({ ...pkg, sstLocalState: { stateBranch: SB } }))
      const configDir = freshConfigDir()
      assertOk(run('prepare', dir, configDir, [], {}, stage), `prepare ${stage}`)
      firstDeploy(configDir, stage)
      writeFileSync(configPath(configDir, stage), stageCheckpoint(stage, 2, stage))
      return { stage, dir, configDir }
    })
    const results = await Promise.all(
      pipelines.map((p) => cliAsync(['commit', '--stage', p.stage, '--config-dir', p.configDir, '--json'], p.dir, PLAIN)),
    )
    assert.equal(results.length, 4)
    for (const [i, res] of results.entries()) {
      assert.equal(res.status, 0, `${stages[i]}: ${res.stdout}\n${res.stderr}`)
      assert.equal(res.json.branch, SB)
    }
    for (const stage of stages) {
      assert.equal(showBlob(repo.path, SB, repoPath(stage))?.toString(), stageCheckpoint(stage, 2, stage), stage)
    }
    assert.deepEqual(showBlob(repo.path, SB), landed, 'the dev state was lost')
    assert.equal(rescueBranches(repo), '')
  })

  test("a concurrent change of the same stage: STATE_CONFLICT, ours on a rescue branch, theirs kept on the state branch", SLOW, async () => {
    assert.ok(landed, 'needs the previous test')
    const [a, b] = [0, 1].map(() => {
      const dir = ciClone(repo.open)
      const configDir = freshConfigDir()
      assertOk(run('prepare', dir, configDir, ['--state-branch', SB]), 'prepare')
      return { dir, configDir }
    })
    const theirs = deploy(a.configDir, 4, 'theirs')
    assertOk(run('commit', a.dir, a.configDir, ['--state-branch', SB]), 'commit a')
    const ours = deploy(b.configDir, 5, 'ours')
    const before = checkout(b.dir)
    const res = run('commit', b.dir, b.configDir, ['--state-branch', SB, '--json'])
    assert.equal(res.status, 4, `${res.stdout}\n${res.stderr}`)
    assert.equal(res.json?.error?.code, 'STATE_CONFLICT', res.stdout)
    const rescue = res.json.error.rescueBranch
    assert.match(rescue, /^sst-local-state\/rescue\/demo-app\/dev\//)
    // the ways out are spelled for state-branch mode (no rollback: not supported there yet)
    assert.match(res.json.error.message, /`sst-local-state prepare --stage dev .*--state-branch sst-state --force`/, res.json.error.message)
    assert.doesNotMatch(res.json.error.message, /sst-local-state (rollback|show)/)
    assert.deepEqual(showBlob(repo.path, `refs/heads/${rescue}`), ours)
    assert.deepEqual(showBlob(repo.path, SB), theirs)
    assert.deepEqual(checkout(b.dir), before)
    landed = theirs
  })

  test('the JS API: prepareStage({ stateBranch }) and commitStage({ stateBranch })', SLOW, async () => {
    assert.ok(landed, 'needs the previous test')
    const dir = ciClone(repo.open)
    const before = checkout(dir)
    const configDir = freshConfigDir()
    const script = `
      const { prepareStage, commitStage } = require(${JSON.stringify(join(REPO_ROOT, 'index.js'))})
      const fs = require('node:fs')
      const { SLS_DIR, SLS_CONFIG_DIR, SLS_CHECKPOINT, SLS_NEXT } = process.env
      const base = { stage: 'dev', cwd: SLS_DIR, configDir: SLS_CONFIG_DIR, stateBranch: ${JSON.stringify(SB)} }
      ;(async () => {
        const prepared = await prepareStage(base)
        const restored = fs.readFileSync(SLS_CHECKPOINT, 'utf8')
        fs.writeFileSync(SLS_CHECKPOINT, SLS_NEXT)
        const committed = await commitStage(base)
        console.log(JSON.stringify({ prepared, restored, committed }))
      })().catch((e) => { console.log(JSON.stringify({ error: { code: e.code, message: e.message } })) })`
    const next = checkpoint(6, 'js')
    const env = { ...PLAIN, SLS_DIR: dir, SLS_CONFIG_DIR: configDir, SLS_CHECKPOINT: configCheckpoint(configDir), SLS_NEXT: next }
    const res = node(['-e', script], undefined, env)
    assert.equal(res.status, 0, res.stdout + res.stderr)
    const out = JSON.parse(res.stdout)
    assert.equal(out.error, undefined, res.stdout)
    assert.equal(out.restored, landed.toString())
    // the stages the state branch holds (main holds dev alone)
    assert.deepEqual(out.prepared.knownStages, ['dev', 's1', 's2', 's3', 's4'])
    assert.equal(out.committed.branch, SB)
    assert.equal(out.committed.pushed, true)
    assert.equal(showBlob(repo.path, SB).toString(), next)
    assert.deepEqual(checkout(dir), before)
    landed = Buffer.from(next)
  })

  test('run --state-branch: under the lock, prepared from the state branch, the deploy lands on it', SLOW, async () => {
    assert.ok(landed, 'needs the previous test')
    const dir = ciClone(repo.open)
    const before = checkout(dir)
    const configDir = freshConfigDir()
    const next = checkpoint(7, 'run')
    // the "deploy" checks that it starts from the state branch's state, then writes its own
    const script = `const fs = require('node:fs')
      const { SLS_CHECKPOINT, SLS_NEXT, SLS_BEFORE } = process.env
      if (fs.readFileSync(SLS_CHECKPOINT, 'utf8') !== SLS_BEFORE) process.exit(9)
      fs.writeFileSync(SLS_CHECKPOINT, SLS_NEXT)`
    const env = { SLS_CHECKPOINT: configCheckpoint(configDir), SLS_NEXT: next, SLS_BEFORE: landed.toString() }
    const res = run('run', dir, configDir, ['--state-branch', SB, '--json', '--', process.execPath, '-e', script], env)
    assertOk(res, 'run --state-branch')
    assert.equal(showBlob(repo.path, SB).toString(), next)
    assert.deepEqual(checkout(dir), before)
    assert.equal(gitOk(['--git-dir', repo.path, 'for-each-ref', 'refs/heads/sst-local-state/lock']).trim(), '', 'the lock was not released')
    landed = Buffer.from(next)
  })

  test('a bad state branch name is INVALID_OPTION naming where it came from; a corrupt state branch changes nothing; commands without state-branch support refuse', SLOW, async () => {
    assert.ok(landed, 'needs the previous test')
    const dir = ciClone(repo.open)
    const configDir = freshConfigDir()
    const flag = run('prepare', dir, configDir, ['--state-branch', 'bad..name', '--json'])
    assert.equal(flag.json?.error?.code, 'INVALID_OPTION', flag.stdout)
    assert.match(flag.json.error.message, /--state-branch/)
    const env = run('commit', dir, configDir, ['--json'], { SST_LOCAL_STATE_STATE_BRANCH: 'a b' })
    assert.equal(env.json?.error?.code, 'INVALID_OPTION', env.stdout)
    assert.match(env.json.error.message, /SST_LOCAL_STATE_STATE_BRANCH/)
    assert.ok(!existsSync(configDir), 'a refused run wrote the config dir')
    // a corrupt checkpoint on a state branch: refused before anything is written, naming the
    // copy of the branch's files prepare kept below the git dir
    const other = ciClone(repo.open)
    gitOk(['switch', '-q', '--orphan', 'bad-state'], other)
    gitOk(['checkout', 'main', '--', 'infra/state'], other)
    writeFileSync(join(other, STATE), '{"version": 3, "checkpoint": ')
    gitOk(['add', 'infra/state'], other)
    gitOk(['commit', '-q', '-m', 'corrupt'], other)
    gitOk(['push', '-q', 'origin', 'bad-state'], other)
    const corrupt = run('prepare', dir, configDir, ['--state-branch', 'bad-state', '--json'])
    assert.equal(corrupt.json?.error?.code, 'STATE_CORRUPT', corrupt.stdout)
    assert.ok(corrupt.json.error.message.includes(join(dir, '.git', 'sst-local-state', 'state-branch', 'bad-state', 'demo-app', 'dev', STATE)), corrupt.json.error.message)
    assert.ok(!existsSync(configDir), 'a refused prepare wrote the config dir')
    for (const cmd of ['history', 'status', 'show']) {
      const res = run(cmd, dir, configDir, ['--state-branch', SB, '--json'])
      assert.equal(res.json?.error?.code, 'INVALID_OPTION', `${cmd}: ${res.stdout}`)
      assert.match(res.json.error.message, /not yet supported with a state branch/, cmd)
    }
    assert.equal(git(['--git-dir', repo.path, 'rev-parse', '--verify', '-q', 'refs/heads/bad..name']).status, 1)
  })
})
