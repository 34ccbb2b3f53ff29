// The GitHub Action (action.yml, action/main.mjs and action/post.mjs) run as
// the runner runs a JavaScript action: `node` on its entries with the
// runner's environment protocol (INPUT_<NAME>, GITHUB_OUTPUT, GITHUB_STATE
// and STATE_<name> for post, GITHUB_STEP_SUMMARY, GITHUB_WORKSPACE,
// RUNNER_TEMP, the GITHUB_* CI variables), in a checkout made as
// actions/checkout makes it (depth 1, the token in http.<origin>.extraheader)
// of a repository on the local smart-HTTP git server; the project has
// sst-local-state in node_modules (a symlink to this repository) and its
// lockfile. The deploy is a node script that writes SST's checkpoint into
// the config dir (the harness: helpers/action.mjs). Cases: a deploy, a
// failing command, SIGTERM to main, main killed with SIGKILL then post, two
// jobs on one stage, another run's lock (lock-holder), a state conflict
// (rescue-branch), post after main stopped before its command, the age key
// never written anywhere. The install from a registry:
// action-install.test.mjs. Runs under `node --test` and `bun test`.
import { test, describe, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

import { CLI, SLOW, assertOk, cleanup, cli, gitOk, tempDir } from './helpers/common.mjs'
import { deployScript, job, lockOnServer, resourcesOnBranch, show, stateCommits } from './helpers/action.mjs'
import { STATE, checkpoint, ciClone, gitServer, otherPipeline, seededRepo, showBlob } from './helpers/state-repo.mjs'

after(cleanup)

describe('the GitHub Action', () => {
  test('a deploy: outputs, the step summary, one state commit, no lock left; post does nothing', SLOW, async () => {
    const server = await gitServer()
    const repo = await seededRepo('action-deploy')
    const script = deployScript()
    const j = await job(repo, 'deploy', server)
    const res = await j.main({ command: `node ${script} ${j.checkpoint} bucket1` }).done
    assert.equal(res.status, 0, show(res))
    assert.match(res.stdout, /deploying bucket1\n(.*\n)*deployed bucket1/, 'the command\'s output is in the log')
    const tip = gitOk(['--git-dir', repo.path, 'rev-parse', 'main']).trim()
    const out = j.outputs()
    assert.equal(out['state-commit'], tip)
    assert.equal(out.changed, 'true')
    assert.equal(out['exit-code'], '0')
    assert.deepEqual([out['resources-added'], out['resources-removed'], out['resources-changed']], ['1', '0', '0'])
    assert.equal(stateCommits(repo), 1)
    assert.ok(resourcesOnBranch(repo).includes('bucket1'))
    assert.equal(lockOnServer(repo), null)
    const summary = j.summary()
    assert.match(summary, /\| stage \| `dev` \|/)
    assert.match(summary, /\| exit code \| 0 \|/)
    assert.ok(summary.includes(`(${server.url}/basic/${repo.name}/commit/${tip})`), summary)
    assert.match(summary, /\| lock wait \| \d+\.\d s \|/)
    assert.match(summary, /\| `aws:s3\/bucketV2:BucketV2` \| 1 \| 0 \| 0 \|/)
    assert.ok(summary.includes('+ urn:pulumi:dev::demo-app::sst:aws:Bucket$aws:s3/bucketV2:BucketV2::bucket1'), summary)
    const post = await j.post()
    assert.equal(post.status, 0, show(post))
    assert.match(post.stdout, /nothing to do \(main saved the state/)
    assert.equal(stateCommits(repo), 1)
  })

  test('a failing command: its state is saved, exit-code is set, main fails with its code', SLOW, async () => {
    const server = await gitServer()
    const repo = await seededRepo('action-failing')
    const j = await job(repo, 'failing', server)
    const res = await j.main({ command: `node ${deployScript()} ${j.checkpoint} half 3` }).done
    assert.equal(res.status, 3, show(res))
    assert.match(res.stdout, /::error::the command exited with 3/)
    assert.equal(j.outputs()['exit-code'], '3')
    assert.equal(j.outputs().changed, 'true')
    assert.ok(resourcesOnBranch(repo).includes('half'))
    assert.match(gitOk(['--git-dir', repo.path, 'log', '-1', '--format=%B', 'main']), /^Run-Exit-Code: 3$/m)
    assert.match(j.summary(), /\| exit code \| 3 \|/)
    assert.equal(lockOnServer(repo), null)
  })

  test('SIGTERM to main while the command runs: the command stops, the state is saved, the lock released; post does nothing', SLOW, async () => {
    const server = await gitServer()
    const repo = await seededRepo('action-sigterm')
    const j = await job(repo, 'sigterm', server)
    const running = await j.deploying('cancelled')
    running.child.kill('SIGTERM')
    const res = await running.done
    assert.equal(res.status, 143, show(res))
    assert.ok(resourcesOnBranch(repo).includes('cancelled'))
    assert.equal(j.outputs()['exit-code'], '143')
    assert.equal(lockOnServer(repo), null)
    const post = await j.post()
    assert.equal(post.status, 0, show(post))
    assert.equal(stateCommits(repo), 1)
  })

  test('main killed with SIGKILL (with its command) while the command runs: post saves the state and releases the lock', SLOW, async () => {
    const server = await gitServer()
    const repo = await seededRepo('action-sigkill')
    const j = await job(repo, 'sigkill', server)
    const running = await j.deploying('killed')
    process.kill(-running.child.pid, 'SIGKILL') // the runner kills the step's process tree
    const res = await running.done
    assert.equal(res.signal, 'SIGKILL')
    assert.ok(lockOnServer(repo), 'the killed run holds the lock')
    assert.ok(!resourcesOnBranch(repo).includes('killed'))
    const post = await j.post()
    assert.equal(post.status, 0, show(post))
    assert.match(post.stdout, /saved the state as [0-9a-f]{40}; released the stage lock/)
    assert.ok(resourcesOnBranch(repo).includes('killed'))
    assert.equal(lockOnServer(repo), null)
    assert.equal(j.outputs()['state-commit'], gitOk(['--git-dir', repo.path, 'rev-parse', 'main']).trim())
    assert.equal(j.outputs()['resources-added'], '1')
  })

  test('two jobs on one stage at once: one waits for the lock, both land', SLOW, async () => {
    const server = await gitServer()
    const repo = await seededRepo('action-two')
    const script = deployScript()
    const jobs = [await job(repo, 'a', server), await job(repo, 'b', server)]
    const results = await Promise.all(jobs.map((j, i) => j.main({ command: `node ${script} ${j.checkpoint} job${i} 0 1500`, 'lock-timeout': '120s' }).done))
    for (const res of results) assert.equal(res.status, 0, show(res))
    const names = resourcesOnBranch(repo)
    assert.ok(names.includes('job0') && names.includes('job1'), names.join(', '))
    assert.equal(stateCommits(repo), 2)
    assert.equal(lockOnServer(repo), null)
    const waits = jobs.map((j) => Number(j.summary().match(/\| lock wait \| (\d+\.\d) s \|/)[1]))
    assert.ok(Math.max(...waits) >= 0.5, `one job waited for the other: ${waits}`)
  })

  test('the lock held by another run, no lock-timeout: main fails, lock-holder names the holder, the summary says so, nothing deployed; post leaves that lock', SLOW, async () => {
    const server = await gitServer()
    const repo = await seededRepo('action-held')
    const other = ciClone(repo.open)
    const ci = { GITHUB_ACTIONS: 'true', GITHUB_RUN_ID: '777', GITHUB_SERVER_URL: server.url, GITHUB_REPOSITORY: `basic/${repo.name}` }
    assertOk(cli(['lock', '--stage', 'dev'], other, ci), 'lock')
    const theirs = lockOnServer(repo)
    assert.ok(theirs)
    const j = await job(repo, 'held', server)
    const res = await j.main({ command: `node ${deployScript()} ${j.checkpoint} blocked` }).done
    assert.notEqual(res.status, 0, show(res))
    assert.doesNotMatch(res.stdout, /deploying blocked/)
    const holder = j.outputs()['lock-holder']
    assert.match(holder ?? '', /^\S+@\S+ \(pid \d+, `[^`]*`, github-actions run 777\)/, show(res))
    assert.match(res.stdout, /::error::sst-local-state LOCK_HELD: /)
    assert.match(j.summary(), /### sst-local-state: LOCK_HELD/)
    assert.ok(j.summary().includes(holder), j.summary())
    assert.equal(j.outputs()['state-commit'], undefined)
    assert.equal(stateCommits(repo), 0)
    assert.equal(lockOnServer(repo), theirs)
    const post = await j.post()
    assert.equal(post.status, 0, show(post))
    assert.equal(lockOnServer(repo), theirs, "post leaves the other run's lock")
  })

  test('the stage changed on the branch while the command ran: STATE_CONFLICT, rescue-branch names the branch on the server holding this run\'s state', SLOW, async () => {
    const server = await gitServer()
    const repo = await seededRepo('action-rescue')
    const j = await job(repo, 'rescue', server)
    const go = join(tempDir('sls-action-go-'), 'go')
    const running = await j.deploying('ours', go)
    otherPipeline(repo, STATE, checkpoint(2, 'theirs'), 'refs/heads/main') // another run's state change lands on the stage
    writeFileSync(go, '')
    const res = await running.done
    assert.notEqual(res.status, 0, show(res))
    const rescue = j.outputs()['rescue-branch']
    assert.match(rescue ?? '', /^sst-local-state\/rescue\/demo-app\/dev\/\S+$/, show(res))
    assert.ok(resourcesOnBranch(repo, `refs/heads/${rescue}`).includes('ours'), 'the rescue branch holds this run\'s state')
    assert.ok(resourcesOnBranch(repo).includes('theirs1'), "the branch keeps the other run's state")
    assert.ok(!resourcesOnBranch(repo).includes('ours'))
    assert.equal(j.outputs().changed, 'false')
    assert.match(res.stdout, new RegExp(`::error::sst-local-state STATE_CONFLICT: .*${rescue}`))
    assert.ok(j.summary().includes(`\`${rescue}\``), j.summary())
    const post = await j.post()
    assert.equal(post.status, 0, show(post))
    assert.match(post.stdout, /nothing to do/)
  })

  test('main stopped after taking the lock, before its command started: post only releases the lock, says so, commits nothing', SLOW, async () => {
    const server = await gitServer()
    const repo = await seededRepo('action-never')
    const j = await job(repo, 'never', server)
    // an older run's checkpoint left in this machine's config dir (a self-hosted runner)
    mkdirSync(join(j.checkpoint, '..'), { recursive: true })
    writeFileSync(j.checkpoint, checkpoint(3, 'stale'))
    // what main leaves when killed between taking the lock and starting the command
    assertOk(cli(['lock', '--stage', 'dev'], j.workspace, j.env), 'lock')
    writeFileSync(j.files.state, `phase<<EOF\nstarted\nEOF\ncli<<EOF\n${CLI}\nEOF\n`)
    assert.ok(lockOnServer(repo))
    const post = await j.post({ command: 'never run' })
    assert.equal(post.status, 0, show(post))
    assert.match(post.stdout, /the command never started: nothing was deployed; released the stage lock/, show(post))
    assert.match(j.summary(), /never started.*released the stage lock/)
    assert.equal(lockOnServer(repo), null)
    assert.equal(stateCommits(repo), 0)
    assert.ok(!resourcesOnBranch(repo).some((r) => r.startsWith('stale')), 'post committed no checkpoint')
    assert.equal(j.outputs()['state-commit'], undefined)
  })

  test('post cannot save the state and has no rescue branch (the remote unreachable): the lock stays held, post fails saying so', SLOW, async () => {
    const server = await gitServer()
    const repo = await seededRepo('action-unsaved')
    const j = await job(repo, 'unsaved', server)
    const running = await j.deploying('unsaved')
    process.kill(-running.child.pid, 'SIGKILL')
    await running.done
    const lock = lockOnServer(repo)
    assert.ok(lock, 'the killed run holds the lock')
    gitOk(['remote', 'set-url', 'origin', 'http://127.0.0.1:9/unreachable.git'], j.workspace)
    const post = await j.post()
    assert.equal(post.status, 1, show(post))
    assert.match(post.stdout, /::error::sst-local-state \w+: .*the stage lock stays held so that no other run deploys from an older state/, show(post))
    assert.equal(j.outputs()['rescue-branch'], undefined)
    assert.equal(lockOnServer(repo), lock, 'the lock is kept')
    assert.equal(stateCommits(repo), 0)
  })

  test('the age key never appears in the log, the outputs, the summary, the state or any file written', SLOW, async () => {
    const server = await gitServer()
    const repo = await seededRepo('action-age')
    // the stage's passphrase encrypted to a key, as `init` + `encrypt` leave it
    const admin = join(tempDir('sls-action-admin-'), 'clone')
    gitOk(['clone', '-q', repo.open, admin])
    const keyFile = join(tempDir('sls-action-key-'), 'key.txt')
    assertOk(cli(['init', '--key-file', keyFile], admin), 'init')
    const key = readFileSync(keyFile, 'utf8').match(/^AGE-SECRET-KEY-1\S+$/m)[0]
    gitOk(['add', '-A', 'infra/state'], admin)
    gitOk(['-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '-q', '-m', 'recipients'], admin)
    gitOk(['push', '-q', 'origin', 'HEAD:main'], admin)
    assertOk(cli(['encrypt', '--branch', 'main'], admin, { SST_LOCAL_STATE_AGE_KEY: key }), 'encrypt')
    assert.ok(showBlob(repo.path, 'main', 'infra/state/passphrase/dev.age'))

    const j = await job(repo, 'age', server)
    const res = await j.main({ command: `node ${deployScript()} ${j.checkpoint} secretive`, 'age-key': key }).done
    assert.equal(res.status, 0, show(res))
    assert.ok(resourcesOnBranch(repo).includes('secretive'), 'the key decrypted the passphrase')
    const post = await j.post()
    // the runner consumes ::add-mask:: (it masks the value in the log); nowhere else
    const maskLines = res.stdout.split('\n').filter((l) => l.includes(key))
    assert.deepEqual(maskLines, [`::add-mask::${key}`])
    const places = {
      'main stderr': res.stderr,
      'post stdout': post.stdout,
      'post stderr': post.stderr,
      outputs: readFileSync(j.files.output, 'utf8'),
      state: readFileSync(j.files.state, 'utf8'),
      summary: j.summary(),
    }
    const walk = (dir) =>
      readdirSync(dir).flatMap((f) => {
        const p = join(dir, f)
        const s = statSync(p, { throwIfNoEntry: false })
        if (!s || f === 'node_modules') return []
        return s.isDirectory() ? walk(p) : [p]
      })
    for (const file of [...walk(j.workspace), ...walk(join(j.files.output, '..'))]) places[file] = readFileSync(file, 'latin1')
    places['the server'] = gitOk(['--git-dir', repo.path, 'cat-file', '--batch-all-objects', '--batch'])
    assert.ok(Object.keys(places).length > 10)
    for (const [where, text] of Object.entries(places)) assert.ok(!text.includes(key), `the age key is in ${where}`)
  })
})
