// `sst-local-state commit`, end to end against a real smart-HTTP git server
// (nginx + git-http-backend): CI-style checkouts and their credentials
// (GitHub Actions, Azure DevOps, GitLab), PR merge checkouts, the user's own
// changes, races with another pipeline, and a round trip with the real SST CLI.
// Runs under `node --test` and `bun test`; expensive setup runs lazily inside
// tests (bun caps hooks at 5 s).
import { test, describe, after } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'

import { makeSstProject, runSst } from './helpers/sst.mjs'
import { SLOW, assertOk, cleanup, cli, git, gitOk, removeAtCleanup, revParse, tempDir } from './helpers/common.mjs'
import {
  STATE,
  SUBJECT,
  gitServer,
  showBlob,
  commitCli,
  checkpoint,
  configCheckpoint,
  deploy,
  seededRepo,
  ciClone,
  prepare,
  otherPipeline,
  raceOnce,
  assertCheckoutConsistent,
  changedPaths,
} from './helpers/state-repo.mjs'

after(cleanup)

// -------------------------------------------------------------------- tests --

describe('commit: CI credentials', () => {
  test('GitHub Actions: extraheader via includeIf; without it AUTH_FAILED and no token printed', SLOW, async () => {
    const srv = await gitServer()
    const repo = await seededRepo('gha')
    const header = `AUTHORIZATION: ${srv.basicHeader}`
    const dir = ciClone(repo.basic, { config: [`http.extraheader=${header}`] })
    assert.doesNotMatch(readFileSync(join(dir, '.git', 'config'), 'utf8'), /extraheader/i)
    // actions/checkout v5 style: the header in a separate file, included for this gitdir
    const credFile = join(dirname(dir), 'git-credentials-x.config')
    writeFileSync(credFile, `[http "${srv.url}/"]\n\textraheader = ${header}\n`)
    const includeKey = `includeIf.gitdir:${dir}/.git.path`
    gitOk(['config', includeKey, credFile], dir)
    gitOk(['ls-remote', 'origin', 'main'], dir) // the git CLI authenticates with it too

    const before = revParse(repo.path)
    const configDir = prepare(dir)
    const ours = deploy(configDir, 2, 'gha')
    const res = assertOk(commitCli(dir, configDir, ['--branch', 'main', '--json']), 'commit')
    const report = res.json
    assert.equal(report.committed, true)
    assert.equal(report.pushed, true)
    assert.equal(report.branch, 'main')
    assert.equal(report.attempts, 1)
    const tip = revParse(repo.path)
    assert.equal(report.commit, tip)
    assert.equal(revParse(repo.path, 'main^'), before)
    assert.match(gitOk(['--git-dir', repo.path, 'log', '-1', '--format=%s', 'main']), SUBJECT)
    assert.equal(gitOk(['--git-dir', repo.path, 'log', '-1', '--format=%(trailers:key=SST-Stage,valueonly)', 'main']), 'dev')
    assert.equal(gitOk(['--git-dir', repo.path, 'log', '-1', '--format=%(trailers:key=SST-App,valueonly)', 'main']), 'demo-app')
    // no identity configured anywhere: the bot identity
    assert.equal(gitOk(['--git-dir', repo.path, 'log', '-1', '--format=%an <%ae>', 'main']), 'sst-local-state <sst-local-state@users.noreply.github.com>')
    assert.deepEqual(showBlob(repo.path, 'main'), ours)
    assert.deepEqual(changedPaths(repo.path, 'main'), [STATE])
    for (const out of [res.stdout, res.stderr]) {
      assert.ok(!out.includes(srv.token))
      assert.ok(!out.includes(srv.basicHeader.split(' ')[1]))
    }

    // The header is gone: nothing else authenticates, and nothing leaks.
    gitOk(['config', '--unset', includeKey], dir)
    deploy(configDir, 3, 'gha2')
    for (const extra of [['--json'], []]) {
      const failed = commitCli(dir, configDir, ['--branch', 'main', ...extra])
      assert.equal(failed.status, 1, `${failed.stdout}\n${failed.stderr}`)
      if (extra.length) assert.equal(failed.json?.error?.code, 'AUTH_FAILED', failed.stdout)
      else assert.match(failed.stderr, /^error\[AUTH_FAILED\]/)
      for (const out of [failed.stdout, failed.stderr]) {
        assert.ok(!out.includes(srv.token), 'the token was printed')
        assert.ok(!out.includes(srv.basicHeader.split(' ')[1]), 'the basic credentials were printed')
      }
    }
    assert.equal(revParse(repo.path), tip)
  })

  test('Azure DevOps: user in the URL, bearer extraheader for that exact URL in .git/config', SLOW, async () => {
    const srv = await gitServer()
    const repo = await seededRepo('azure')
    const url = repo.bearer.replace('http://', 'http://org@')
    const header = `AUTHORIZATION: ${srv.bearerHeader}`
    const dir = ciClone(url, { config: [`http.extraheader=${header}`] })
    gitOk(['config', `http.${url}.extraheader`, header], dir)
    assert.equal(gitOk(['remote', 'get-url', 'origin'], dir), url)

    const configDir = prepare(dir)
    const ours = deploy(configDir, 2, 'azure')
    const res = assertOk(commitCli(dir, configDir, ['--branch', 'main', '--json']), 'commit')
    assert.equal(res.json.pushed, true)
    assert.equal(res.json.commit, revParse(repo.path))
    assert.deepEqual(showBlob(repo.path, 'main'), ours)
    assert.ok(!(res.stdout + res.stderr).includes(srv.token))
  })

  test('GitLab: token in the remote URL; never printed, remoteUrl redacted', SLOW, async () => {
    const srv = await gitServer()
    const repo = await seededRepo('gitlab')
    const dir = ciClone(repo.basicWithToken)
    const configDir = prepare(dir)
    const ours = deploy(configDir, 2, 'gitlab')
    const res = assertOk(commitCli(dir, configDir, ['--branch', 'main', '--json']), 'commit')
    assert.equal(res.json.pushed, true)
    assert.equal(res.json.commit, revParse(repo.path))
    assert.deepEqual(showBlob(repo.path, 'main'), ours)
    assert.match(res.json.remoteUrl, /127\.0\.0\.1:\d+\/basic\/gitlab\.git$/)
    assert.ok(!res.json.remoteUrl.includes(srv.token))
    assert.ok(!(res.stdout + res.stderr).includes(srv.token))

    deploy(configDir, 3, 'gitlab2')
    const human = assertOk(commitCli(dir, configDir, ['--branch', 'main', '--verbose']), 'commit (human)')
    assert.deepEqual(showBlob(repo.path, 'main'), readFileSync(configCheckpoint(configDir)))
    assert.ok(!(human.stdout + human.stderr).includes(srv.token))
  })
})

describe('commit: what is committed, and where', () => {
  test('PR merge checkout: the commit goes on the branch tip, not on the merge commit', SLOW, async () => {
    const repo = await seededRepo('pr-merge')
    // a feature branch on the server, one commit past main
    const featureWork = join(tempDir('sls-feature-'), 'feature')
    gitOk(['clone', '-q', repo.open, featureWork])
    gitOk(['checkout', '-q', '-b', 'feature'], featureWork)
    writeFileSync(join(featureWork, 'feature.txt'), 'feature\n')
    gitOk(['add', 'feature.txt'], featureWork)
    gitOk(['commit', '-q', '-m', 'feature'], featureWork)
    gitOk(['push', '-q', 'origin', 'feature'], featureWork)

    const mainTip = revParse(repo.path)
    const dir = ciClone(repo.open)
    gitOk(['fetch', '-q', '--depth', '2', 'origin', '+refs/heads/feature:refs/remotes/origin/feature'], dir)
    gitOk(['merge', '-q', '--no-ff', '--no-edit', 'origin/feature'], dir)
    const merge = revParse(dir, 'HEAD', { bare: false })
    assert.equal(gitOk(['rev-list', '--parents', '-n', '1', 'HEAD'], dir).split(' ').length, 3)
    assert.notEqual(git(['symbolic-ref', '-q', 'HEAD'], dir).status, 0, 'HEAD should be detached')

    const configDir = prepare(dir)
    const ours = deploy(configDir, 2, 'pr')
    const res = assertOk(commitCli(dir, configDir, ['--branch', 'main', '--json']), 'commit')
    assert.equal(res.json.pushed, true)
    const tip = revParse(repo.path)
    assert.equal(res.json.commit, tip)
    assert.equal(revParse(repo.path, 'main^'), mainTip)
    assert.notEqual(revParse(repo.path, 'main^'), merge)
    assert.ok(!gitOk(['--git-dir', repo.path, 'ls-tree', '-r', '--name-only', 'main']).split('\n').includes('feature.txt'))
    assert.notEqual(git(['--git-dir', repo.path, 'cat-file', '-e', merge]).status, 0, 'the merge commit was pushed')
    assert.deepEqual(showBlob(repo.path, 'main'), ours)
    // HEAD stays on the merge commit; the worktree holds the new state
    assert.equal(res.json.headUpdated, false)
    assert.equal(revParse(dir, 'HEAD', { bare: false }), merge)
    assert.deepEqual(readFileSync(join(dir, STATE)), ours)
    assert.ok(existsSync(join(dir, 'feature.txt')))
  })

  test("the user's staged, modified and untracked files are neither committed nor touched", SLOW, async () => {
    const repo = await seededRepo('user-files')
    const dir = ciClone(repo.open)
    const configDir = prepare(dir)
    const ours = deploy(configDir, 2, 'user')

    writeFileSync(join(dir, 'staged.txt'), 'staged\n')
    gitOk(['add', 'staged.txt'], dir)
    const config = `${readFileSync(join(dir, 'sst.config.ts'), 'utf8')}// local edit\n`
    writeFileSync(join(dir, 'sst.config.ts'), config)
    writeFileSync(join(dir, 'untracked.txt'), 'untracked\n')
    const statusBefore = gitOk(['status', '--porcelain'], dir)
    assert.equal(statusBefore, [' M sst.config.ts', 'A  staged.txt', '?? untracked.txt'].join('\n'))
    const stagedBefore = gitOk(['diff', '--cached'], dir)

    const res = assertOk(commitCli(dir, configDir, ['--branch', 'main', '--json']), 'commit')
    assert.equal(res.json.pushed, true)
    const tip = revParse(repo.path)
    assert.deepEqual(changedPaths(repo.path, tip), [STATE])
    assert.deepEqual(res.json.files.map((f) => [f.kind, f.path, f.change]), [['app', STATE, 'modified']])

    assert.equal(gitOk(['status', '--porcelain'], dir), statusBefore)
    assert.equal(gitOk(['status', '--porcelain', '--', STATE], dir), '')
    assert.equal(gitOk(['diff', '--cached'], dir), stagedBefore)
    assert.equal(readFileSync(join(dir, 'sst.config.ts'), 'utf8'), config)
    assert.equal(readFileSync(join(dir, 'untracked.txt'), 'utf8'), 'untracked\n')
    assert.equal(res.json.headUpdated, true)
    assert.equal(revParse(dir, 'HEAD', { bare: false }), tip)
    assert.deepEqual(readFileSync(join(dir, STATE)), ours)
  })

  test('nothing changed since prepare: no commit, no push', SLOW, async () => {
    const repo = await seededRepo('unchanged')
    const dir = ciClone(repo.open)
    const configDir = prepare(dir)
    const before = revParse(repo.path)
    const head = revParse(dir, 'HEAD', { bare: false })
    const res = assertOk(commitCli(dir, configDir, ['--branch', 'main', '--json']), 'commit --json')
    assert.equal(res.json.committed, false)
    assert.equal(res.json.pushed, false)
    assert.equal(res.json.commit, null)
    assert.deepEqual(res.json.files, [])
    const human = assertOk(commitCli(dir, configDir, ['--branch', 'main']), 'commit')
    assert.match(human.stdout, /nothing changed/)
    assert.equal(revParse(repo.path), before)
    assert.equal(gitOk(['--git-dir', repo.path, 'for-each-ref', '--format=%(refname)']), 'refs/heads/main')
    assert.equal(revParse(dir, 'HEAD', { bare: false }), head)
    assert.equal(gitOk(['status', '--porcelain'], dir), '')
  })

  test('--dry-run writes nothing but lists the file; --no-push commits on HEAD only', SLOW, async () => {
    const repo = await seededRepo('dry-run')
    const dir = ciClone(repo.open)
    const configDir = prepare(dir)
    const repoBefore = readFileSync(join(dir, STATE))
    const ours = deploy(configDir, 2, 'dry')
    const before = revParse(repo.path)
    const head = revParse(dir, 'HEAD', { bare: false })

    const dry = assertOk(commitCli(dir, configDir, ['--branch', 'main', '--dry-run', '--json']), 'commit --dry-run --json')
    assert.equal(dry.json.dryRun, true)
    assert.equal(dry.json.committed, false)
    assert.equal(dry.json.pushed, false)
    assert.deepEqual(dry.json.files.map((f) => f.path), [STATE])
    assert.match(dry.json.message.split('\n')[0], SUBJECT)
    const dryHuman = assertOk(commitCli(dir, configDir, ['--branch', 'main', '--dry-run']), 'commit --dry-run')
    assert.ok(dryHuman.stdout.includes(STATE), dryHuman.stdout)
    assert.match(dryHuman.stdout, /would commit 1 file/)
    assert.equal(revParse(repo.path), before)
    assert.equal(revParse(dir, 'HEAD', { bare: false }), head)
    assert.deepEqual(readFileSync(join(dir, STATE)), repoBefore)
    assert.equal(gitOk(['status', '--porcelain'], dir), '')

    const local = assertOk(commitCli(dir, configDir, ['--no-push', '--json']), 'commit --no-push')
    assert.equal(local.json.committed, true)
    assert.equal(local.json.pushed, false)
    assert.equal(local.json.headUpdated, true)
    const newHead = revParse(dir, 'HEAD', { bare: false })
    assert.equal(local.json.commit, newHead)
    assert.equal(revParse(dir, 'HEAD^', { bare: false }), head)
    assert.deepEqual(git(['show', `HEAD:${STATE}`], { cwd: dir, buffer: true }).stdout, ours)
    assert.deepEqual(readFileSync(join(dir, STATE)), ours)
    assert.equal(gitOk(['status', '--porcelain'], dir), '')
    assert.equal(revParse(repo.path), before, 'the server changed')
  })
})

describe('commit: another pipeline moves the branch between our fetch and our push', () => {
  test('unrelated change: rebuilt on the new tip and pushed', SLOW, async () => {
    const repo = await seededRepo('race-unrelated')
    const dir = ciClone(repo.open)
    const configDir = prepare(dir)
    const ours = deploy(configDir, 2, 'race')
    const other = otherPipeline(repo, 'README-other.md', 'other pipeline\n')
    const marker = raceOnce(repo)

    const res = assertOk(commitCli(dir, configDir, ['--branch', 'main', '--json']), 'commit')
    assert.ok(!existsSync(marker), 'the race hook did not run')
    assert.equal(res.json.pushed, true)
    assert.ok(res.json.attempts >= 2, `attempts: ${res.json.attempts}`)
    const tip = revParse(repo.path)
    assert.equal(res.json.commit, tip)
    assert.equal(revParse(repo.path, 'main^'), other)
    assert.deepEqual(changedPaths(repo.path, tip), [STATE])
    assert.equal(showBlob(repo.path, 'main', 'README-other.md')?.toString(), 'other pipeline\n')
    assert.deepEqual(showBlob(repo.path, 'main'), ours)
    assert.deepEqual(readFileSync(join(dir, STATE)), ours)
    assertCheckoutConsistent(dir, res.json, tip)
  })

  test('a full (not shallow) clone behind the remote branch: HEAD, index and worktree stay consistent', SLOW, async () => {
    const repo = await seededRepo('behind-full')
    const dir = ciClone(repo.open, { shallow: false })
    const configDir = prepare(dir)
    const ours = deploy(configDir, 2, 'behind')
    // another pipeline merged to main after our checkout
    const other = otherPipeline(repo, 'README-other.md', 'other pipeline\n', 'refs/heads/main')

    const res = assertOk(commitCli(dir, configDir, ['--branch', 'main', '--json']), 'commit')
    assert.equal(res.json.pushed, true)
    const tip = revParse(repo.path)
    assert.equal(res.json.commit, tip)
    assert.equal(revParse(repo.path, 'main^'), other)
    assert.deepEqual(changedPaths(repo.path, tip), [STATE])
    assert.deepEqual(showBlob(repo.path, 'main'), ours)
    assert.deepEqual(readFileSync(join(dir, STATE)), ours)
    assertCheckoutConsistent(dir, res.json, tip)
  })

  test("same stage's state changed: STATE_CONFLICT, ours on a rescue branch, theirs kept", SLOW, async () => {
    const repo = await seededRepo('race-conflict')
    const dir = ciClone(repo.open)
    const configDir = prepare(dir)
    const ours = deploy(configDir, 2, 'ours')
    const theirs = checkpoint(5, 'theirs')
    const other = otherPipeline(repo, STATE, theirs)
    const marker = raceOnce(repo)

    const res = commitCli(dir, configDir, ['--branch', 'main', '--json'])
    assert.ok(!existsSync(marker), 'the race hook did not run')
    assert.equal(res.status, 4, `${res.stdout}\n${res.stderr}`)
    assert.equal(res.json?.error?.code, 'STATE_CONFLICT', res.stdout)
    const rescue = /sst-local-state\/rescue\/demo-app\/dev\/[0-9]{8}T[0-9]{6}Z-[0-9a-f]{12}/.exec(res.json.error.message)?.[0]
    assert.ok(rescue, res.json.error.message)
    assert.equal(res.json.error.rescueBranch, rescue)
    assert.ok(res.json.error.message.includes(STATE), res.json.error.message)
    assert.deepEqual(showBlob(repo.path, `refs/heads/${rescue}`), ours)
    assert.equal(revParse(repo.path), other)
    assert.equal(showBlob(repo.path, 'main').toString(), theirs)
    // the worktree holds the branch's state again (ours is on the rescue branch and in the config dir)
    assert.equal(readFileSync(join(dir, STATE), 'utf8'), theirs)
    assert.deepEqual(readFileSync(configCheckpoint(configDir)), ours)
  })
})

describe('commit: round trip with the real SST CLI', () => {
  test('a secret set on machine A is listed by SST on machine B after commit, clone, prepare', SLOW, async () => {
    const srv = await gitServer()
    const repo = srv.newRepo('sst-round-trip')
    const project = await makeSstProject()
    removeAtCleanup(project.dir)
    // the team's age key: the passphrase is committed encrypted to it
    const keyFile = join(tempDir('sls-key-'), 'age-key.txt')
    const initRes = assertOk(cli(['init', '--key-file', keyFile, '--json'], project.dir), 'init')
    assert.equal(initRes.json.createdKey, true)
    assert.ok(!(initRes.stdout + initRes.stderr).includes('AGE-SECRET-KEY'), 'init never prints the secret key')
    gitOk(['init', '-q', '-b', 'main'], project.dir)
    gitOk(['add', '-A'], project.dir)
    assert.ok(!gitOk(['ls-files'], project.dir).split('\n').some((f) => f.startsWith('.sst/')))
    gitOk(['commit', '-q', '-m', 'initial'], project.dir)
    gitOk(['remote', 'add', 'origin', repo.open], project.dir)
    gitOk(['push', '-q', 'origin', 'main'], project.dir)

    // machine A: first deploy (no state yet), SST makes a passphrase and a secret
    const homeA = tempDir('sls-home-a-')
    const configA = join(homeA, 'sst')
    const first = assertOk(cli(['prepare', '--stage', 'dev', '--config-dir', configA, '--json'], project.dir), 'prepare A')
    assert.equal(first.json.firstDeploy, true)
    const set = runSst(['secret', 'set', 'DbPassword', 'round-trip-value', '--stage', 'dev'], { cwd: project.dir, configHome: homeA })
    assert.equal(set.status, 0, `sst secret set failed (exit ${set.status})`)
    const res = assertOk(commitCli(project.dir, configA, ['--json']), 'commit A')
    assert.equal(res.json.pushed, true)
    assert.equal(res.json.branch, 'main') // the checked-out branch
    assert.equal(res.json.commit, revParse(repo.path))
    assert.deepEqual(res.json.files.map((f) => f.path).sort(), ['infra/state/passphrase/dev.age', 'infra/state/secret/dev.json'])
    const sealed = showBlob(repo.path, 'main', 'infra/state/passphrase/dev.age').toString()
    assert.match(sealed, /^-----BEGIN AGE ENCRYPTED FILE-----/)
    assert.ok(!sealed.includes(readFileSync(join(configA, 'state', 'passphrase', 'demo-app', 'dev.json'), 'utf8')))
    assert.equal(revParse(project.dir, 'HEAD', { bare: false }), res.json.commit)
    assert.ok(!(res.stdout + res.stderr).includes('round-trip-value'))

    // machine B: a fresh CI checkout
    const clone = ciClone(repo.open)
    symlinkSync(join(project.dir, '.sst'), join(clone, '.sst'), 'junction')
    const homeB = tempDir('sls-home-b-')
    const noKey = cli(['prepare', '--stage', 'dev', '--config-dir', join(homeB, 'sst'), '--json'], clone)
    assert.equal(noKey.json.error.code, 'AGE_KEY_MISSING')
    const ciSecret = { SST_LOCAL_STATE_AGE_KEY: readFileSync(keyFile, 'utf8') }
    const second = assertOk(cli(['prepare', '--stage', 'dev', '--config-dir', join(homeB, 'sst'), '--json'], clone, ciSecret), 'prepare B')
    assert.ok(!(second.stdout + second.stderr).includes('AGE-SECRET-KEY'))
    assert.equal(second.json.files.find((f) => f.kind === 'secret').action, 'written')
    const list = runSst(['secret', 'list', '--stage', 'dev'], { cwd: clone, configHome: homeB })
    assert.equal(list.status, 0, `sst secret list failed (exit ${list.status})`)
    assert.ok(/^DbPassword=round-trip-value$/m.test(list.stdout), 'sst secret list on B does not show the secret set on A')
  })
})
