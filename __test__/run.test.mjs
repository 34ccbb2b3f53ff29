// `sst-local-state run` over the real smart-HTTP git server: eight
// pipelines deploying one stage at once, each in its own CI-style checkout
// and config dir, serialised by the stage lock so that no update is lost
// (also over a path remote); a failing command whose state is still saved;
// a command longer than the lock's ttl (the lock is renewed); SIGKILL of a
// run (during its command, and at random points), then `unlock --force`
// and a run that proceeds with nothing lost; SIGTERM forwarded to the
// command; runStage() from JS (overlapping calls each forward SIGTERM);
// the command's stdio under Node; a second run in the same checkout never
// uses the first's lock; the lock records no argument of the command.
// Runs under `node --test` and `bun test`.
import { test, describe, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'

import { BASE_ENV, CLI, SLOW, assertOk, cleanup, cli, cliAsync, git, gitOk, tempDir } from './helpers/common.mjs'
import { REPO_ROOT } from './helpers/sst.mjs'
import { ciClone, configCheckpoint, seededRepo, showBlob } from './helpers/state-repo.mjs'

after(cleanup)

const LOCK = 'refs/heads/sst-local-state/lock/demo-app/dev'

/** A "deploy": reads the prepared checkpoint, appends resource `name`, sleeps, writes it back; exits `code`. */
function deployScript() {
  const script = join(tempDir('sls-script-'), 'deploy.mjs')
  writeFileSync(
    script,
    `import { readFileSync, writeFileSync } from 'node:fs'
const [file, name, code = '0', sleep = '200'] = process.argv.slice(2)
const state = JSON.parse(readFileSync(file, 'utf8'))
state.checkpoint.latest.resources.push({ urn: 'urn:pulumi:dev::demo-app::sst:aws:Bucket::' + name, custom: true, type: 'sst:aws:Bucket', id: name })
await new Promise((r) => setTimeout(r, Number(sleep)))
writeFileSync(file, JSON.stringify(state, null, 2))
process.exit(Number(code))
`,
  )
  return script
}

/** The resource names (urn tails) of the branch's checkpoint. */
function resourcesOnBranch(repo) {
  const state = JSON.parse(showBlob(repo.path, 'main').toString())
  return state.checkpoint.latest.resources.map((r) => r.urn.split('::').pop())
}

/** Polls `check` every 100 ms until it returns something truthy (or `ms` pass); returns that. */
async function waitUntil(check, ms = 20_000) {
  let value = check()
  for (const end = Date.now() + ms; !value && Date.now() < end; value = check()) await new Promise((r) => setTimeout(r, 100))
  return value
}

function lockOnServer(repo) {
  const res = git(['--git-dir', repo.path, 'rev-parse', '--verify', '-q', LOCK])
  return res.status === 0 ? res.stdout.trim() : null
}

const stateCommits = (repo) =>
  gitOk(['--git-dir', repo.path, 'log', '--format=%s', 'main']).split('\n').filter((s) => s.startsWith('chore(sst-state)')).length

/** One pipeline: a CI checkout and config dir; run(args) runs `run … -- node deploy.mjs <checkpoint> <name> …`. */
function pipeline(repo, script, name, url = repo.open) {
  const dir = ciClone(url)
  const configDir = join(tempDir('sls-cfg-'), 'sst')
  return {
    name,
    dir,
    configDir,
    run: (runArgs = [], scriptArgs = [], opts = {}) =>
      cliAsync(
        ['run', '--stage', 'dev', '--config-dir', configDir, '--branch', 'main', ...runArgs, '--', process.execPath, script, configCheckpoint(configDir), name, ...scriptArgs],
        dir,
        {},
        opts,
      ),
  }
}

describe('run over HTTP', () => {
  test('eight pipelines at once with --lock-timeout 120s: eight resources, eight state commits, no rescue, no lock', SLOW, async () => {
    const script = deployScript()
    for (let round = 0; round < 3; round++) {
      const repo = await seededRepo(`run-stress-${round}`)
      const pipelines = [1, 2, 3, 4, 5, 6, 7, 8].map((i) => pipeline(repo, script, `r${round}p${i}`))
      const results = await Promise.all(pipelines.map((p) => p.run(['--lock-timeout', '120s'])))
      for (const [i, res] of results.entries()) assert.equal(res.status, 0, `${pipelines[i].name}: exit ${res.status}\n${res.stdout}\n${res.stderr}`)
      const names = resourcesOnBranch(repo)
      for (const p of pipelines) assert.ok(names.includes(p.name), `${p.name} lost: ${names.join(', ')}`)
      assert.equal(names.length, 1 + pipelines.length)
      assert.equal(stateCommits(repo), pipelines.length)
      assert.equal(gitOk(['--git-dir', repo.path, 'branch', '--list', 'sst-local-state/*']), '')
      assert.equal(lockOnServer(repo), null)
      const trailers = gitOk(['--git-dir', repo.path, 'log', '-1', '--format=%B', 'main'])
      assert.match(trailers, /^Run-Exit-Code: 0$/m)
    }
  })

  test('a path remote (git receive-pack compares and swaps): eight pipelines at once keep every resource', SLOW, async () => {
    const script = deployScript()
    const repo = await seededRepo('run-path')
    const pipelines = [1, 2, 3, 4, 5, 6, 7, 8].map((i) => pipeline(repo, script, `path${i}`, `file://${repo.path}`))
    const results = await Promise.all(pipelines.map((p) => p.run(['--lock-timeout', '120s'])))
    for (const [i, res] of results.entries()) assert.equal(res.status, 0, `${pipelines[i].name}: exit ${res.status}\n${res.stdout}\n${res.stderr}`)
    const names = resourcesOnBranch(repo)
    for (const p of pipelines) assert.ok(names.includes(p.name), `${p.name} lost: ${names.join(', ')}`)
    assert.equal(stateCommits(repo), pipelines.length)
    assert.equal(lockOnServer(repo), null)
  })

  test('with --lock-timeout 0: each pipeline succeeded (its resource present) or exited 3 LOCK_HELD (absent); at least one succeeded', SLOW, async () => {
    const script = deployScript()
    for (let round = 0; round < 2; round++) {
      const repo = await seededRepo(`run-nowait-${round}`)
      const pipelines = [1, 2, 3, 4, 5, 6].map((i) => pipeline(repo, script, `n${round}p${i}`))
      const results = await Promise.all(pipelines.map((p) => p.run(['--json'])))
      const names = resourcesOnBranch(repo)
      let winners = 0
      for (const [i, res] of results.entries()) {
        if (res.status === 0) {
          winners++
          assert.ok(names.includes(pipelines[i].name))
        } else {
          assert.equal(res.status, 3, res.stdout + res.stderr)
          assert.equal(res.json.error.code, 'LOCK_HELD')
          assert.ok(!names.includes(pipelines[i].name))
        }
      }
      assert.ok(winners >= 1)
      assert.equal(names.length, 1 + winners)
      assert.equal(lockOnServer(repo), null)
    }
  })

  test('a command that exits 1 after changing state: the change is pushed, run exits 1, the next runs proceed', SLOW, async () => {
    const script = deployScript()
    const repo = await seededRepo('run-failing')
    const failing = pipeline(repo, script, 'failed-deploy')
    const others = [1, 2].map((i) => pipeline(repo, script, `after${i}`))
    const res = await failing.run(['--json'], ['1'])
    assert.equal(res.status, 1, res.stdout + res.stderr)
    assert.equal(res.json.exitCode, 1)
    assert.equal(res.json.commit.pushed, true)
    assert.equal(res.json.commit.lockReleased, true)
    assert.ok(resourcesOnBranch(repo).includes('failed-deploy'))
    assert.match(gitOk(['--git-dir', repo.path, 'log', '-1', '--format=%B', 'main']), /^Run-Exit-Code: 1$/m)
    const after = await Promise.all(others.map((p) => p.run(['--lock-timeout', '60s'])))
    for (const r of after) assert.equal(r.status, 0, r.stdout + r.stderr)
    const names = resourcesOnBranch(repo)
    for (const n of ['failed-deploy', 'after1', 'after2']) assert.ok(names.includes(n), names.join(', '))
    assert.equal(lockOnServer(repo), null)
  })

  test('SIGKILL during the command: the lock stays, unlock --force, the next run succeeds and the state is consistent', SLOW, async () => {
    const script = deployScript()
    const repo = await seededRepo('run-killed')
    const killed = pipeline(repo, script, 'killed')
    const before = resourcesOnBranch(repo)
    const res = await killed.run([], ['0', '30000'], { killAfterMs: 3000 })
    assert.equal(res.signal, 'SIGKILL')
    assert.ok(lockOnServer(repo), 'the killed run left no lock')
    assert.deepEqual(resourcesOnBranch(repo), before)
    const next = pipeline(repo, script, 'next')
    const held = await next.run(['--json'])
    assert.equal(held.status, 3)
    assertOk(cli(['unlock', '--force', '--stage', 'dev'], next.dir), 'unlock --force')
    const ok = await next.run()
    assert.equal(ok.status, 0, ok.stdout + ok.stderr)
    assert.deepEqual(resourcesOnBranch(repo), [...before, 'next'])
    assert.equal(lockOnServer(repo), null)
  })

  test('SIGKILL at random points of run: the branch holds the previous or the new state, never a mix; the next run proceeds', SLOW, async () => {
    const script = deployScript()
    const repo = await seededRepo('run-killed-anywhere')
    let expected = resourcesOnBranch(repo)
    for (let round = 0; round < 12; round++) {
      const killed = pipeline(repo, script, `k${round}`)
      const res = await killed.run([], ['0', '50'], { killAfterMs: 60 + Math.floor(Math.random() * 360) })
      // a push whose client was killed may still be running on the server
      await new Promise((r) => setTimeout(r, 500))
      const names = resourcesOnBranch(repo)
      if (res.status === 0) expected = [...expected, `k${round}`]
      else if (names.includes(`k${round}`)) expected = [...expected, `k${round}`] // killed after its push landed
      assert.deepEqual(names, expected, `round ${round} (exit ${res.status} ${res.signal})`)
      assertOk(cli(['unlock', '--force', '--stage', 'dev'], killed.dir), 'unlock --force')
      const next = pipeline(repo, script, `n${round}`)
      const ok = await next.run()
      assert.equal(ok.status, 0, ok.stdout + ok.stderr)
      expected = [...expected, `n${round}`]
      assert.deepEqual(resourcesOnBranch(repo), expected)
      assert.equal(lockOnServer(repo), null)
    }
    assert.equal(gitOk(['--git-dir', repo.path, 'fsck', '--no-progress', '--no-dangling']), '')
  })

  test('a command longer than the ttl keeps the lock: it is renewed while the command runs', SLOW, async () => {
    const script = deployScript()
    const repo = await seededRepo('run-heartbeat')
    const long = pipeline(repo, script, 'long')
    const other = pipeline(repo, script, 'other')
    const running = long.run(['--lock-ttl', '3s', '--json'], ['0', '7000'])
    let first = null
    for (let i = 0; i < 100 && !first; i++) {
      await new Promise((r) => setTimeout(r, 100))
      first = lockOnServer(repo)
    }
    assert.ok(first, 'no lock taken')
    await new Promise((r) => setTimeout(r, 4500)) // past the first lock commit's expiry
    const refused = await other.run(['--json'])
    assert.equal(refused.status, 3, refused.stdout + refused.stderr)
    assert.equal(refused.json.error.code, 'LOCK_HELD')
    assert.notEqual(lockOnServer(repo), first, 'the lock was not renewed')
    const res = await running
    assert.equal(res.status, 0, res.stdout + res.stderr)
    assert.equal(res.json.commit.lockReleased, true)
    assert.ok(resourcesOnBranch(repo).includes('long'))
    assert.equal(lockOnServer(repo), null)
  })

  test('SIGTERM sent to run goes on to the command; its state is saved, run exits with its code', SLOW, async () => {
    const repo = await seededRepo('run-sigterm')
    const dir = ciClone(repo.open)
    const configDir = join(tempDir('sls-cfg-'), 'sst')
    const started = join(tempDir('sls-sig-'), 'started')
    const script = join(dirname(started), 'trap.mjs')
    writeFileSync(
      script,
      `import { readFileSync, writeFileSync } from 'node:fs'
const file = process.argv[2]
process.on('SIGTERM', () => {
  const state = JSON.parse(readFileSync(file, 'utf8'))
  state.checkpoint.latest.resources.push({ urn: 'urn:pulumi:dev::demo-app::sst:aws:Bucket::terminated', custom: true, type: 't', id: 't' })
  writeFileSync(file, JSON.stringify(state))
  process.exit(143)
})
writeFileSync(${JSON.stringify(started)}, '')
setTimeout(() => process.exit(0), 60000)
`,
    )
    const child = spawn(process.execPath, [CLI, 'run', '--stage', 'dev', '--config-dir', configDir, '--branch', 'main', '--', process.execPath, script, configCheckpoint(configDir)], {
      cwd: dir,
      env: BASE_ENV,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stderr = ''
    child.stderr.on('data', (d) => (stderr += d))
    const exited = new Promise((resolve) => child.on('close', (status, signal) => resolve({ status, signal })))
    for (let i = 0; i < 300 && !existsSync(started); i++) await new Promise((r) => setTimeout(r, 100))
    assert.ok(existsSync(started), `the command did not start:\n${stderr}`)
    child.kill('SIGTERM')
    const res = await exited
    assert.equal(res.status, 143, `${res.status} ${res.signal}\n${stderr}`)
    assert.ok(resourcesOnBranch(repo).includes('terminated'))
    assert.match(gitOk(['--git-dir', repo.path, 'log', '-1', '--format=%B', 'main']), /^Run-Exit-Code: 143$/m)
    assert.equal(lockOnServer(repo), null)
  })

  // Node marks fds 0-2 close-on-exec at start-up: "inherit" alone would start
  // the command with all three closed (it printed nothing and exited 1).
  test('under Node, the command reads the caller\'s stdin and writes to its stdout and stderr (CLI and runStage); run exits with its code', SLOW, async () => {
    const repo = await seededRepo('run-stdio')
    const command = ['sh', '-c', 'echo hi; read x; echo got $x >&2; exit 5']
    const viaCli = (dir, configDir) => [CLI, 'run', '--stage', 'dev', '--config-dir', configDir, '--branch', 'main', '--', ...command]
    const viaJs = (dir, configDir) => [
      '--input-type=module',
      '-e',
      `const { runStage } = await import(${JSON.stringify(join(REPO_ROOT, 'index.mjs'))})
const run = await runStage(${JSON.stringify({ stage: 'dev', cwd: dir, configDir, branch: 'main', command })})
process.exitCode = run.exitCode`,
    ]
    for (const [what, args] of [['node cli.js run', viaCli], ['runStage() in node', viaJs]]) {
      const dir = ciClone(repo.open)
      const configDir = join(tempDir('sls-cfg-'), 'sst')
      // always Node (also when this file runs under bun, whose fds are not close-on-exec)
      const res = spawnSync('node', args(dir, configDir), { cwd: dir, env: BASE_ENV, input: 'abc\n', encoding: 'utf8' })
      assert.equal(res.stdout, 'hi\n', `${what}: stdout\n${res.stderr}`)
      assert.match(res.stderr, /^got abc$/m, what)
      assert.equal(res.status, 5, `${what}: ${res.stderr}`)
      assert.equal(lockOnServer(repo), null, what)
    }
  })

  test('an unknown command: exit 127, the lock is released', SLOW, async () => {
    const repo = await seededRepo('run-no-such-command')
    const dir = ciClone(repo.open)
    const configDir = join(tempDir('sls-cfg-'), 'sst')
    const res = cli(['run', '--stage', 'dev', '--config-dir', configDir, '--branch', 'main', '--', 'no-such-command-sls'], dir)
    assert.equal(res.status, 127, res.stdout + res.stderr)
    assert.match(res.stderr, /cannot run `no-such-command-sls`/)
    assert.equal(lockOnServer(repo), null)
    const usage = cli(['run', '--stage', 'dev'], dir)
    assert.equal(usage.status, 2)
  })
})

describe('run: the lock is the run\'s; what it records', () => {
  test('the lock records the program and subcommand, never the arguments: not on the server, not in `locks`, not in the messages', SLOW, async () => {
    const repo = await seededRepo('run-secret-args')
    const dir = ciClone(repo.open)
    const other = ciClone(repo.open)
    const configDir = join(tempDir('sls-cfg-'), 'sst')
    const seen = join(tempDir('sls-seen-'), 'seen')
    // a stand-in for `sst secret set`: while it runs, it records what the
    // server's lock commit and `locks` on another machine say
    const fake = join(dirname(seen), 'fake-sst.mjs')
    writeFileSync(
      fake,
      `import { execFileSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
const { BARE, OTHER, SEEN, CLI_JS } = process.env
writeFileSync(SEEN + '.commit', execFileSync('git', ['--git-dir', BARE, 'log', '-1', '--format=%B', ${JSON.stringify(LOCK)}]))
writeFileSync(SEEN + '.locks', execFileSync(process.execPath, [CLI_JS, 'locks'], { cwd: OTHER }))
writeFileSync(SEEN + '.json', execFileSync(process.execPath, [CLI_JS, 'locks', '--json'], { cwd: OTHER }))
`,
    )
    const secret = 'sk_live_9f8e7d6c5b4a'
    const env = { BARE: repo.path, OTHER: other, SEEN: seen, CLI_JS: CLI }
    const args = ['run', '--stage', 'dev', '--config-dir', configDir, '--branch', 'main', '--', process.execPath, fake, 'secret', 'set', 'StripeKey', secret]
    const res = await cliAsync(args, dir, env)
    assert.equal(res.status, 0, res.stdout + res.stderr)
    const commit = readFileSync(`${seen}.commit`, 'utf8')
    // the runtime (node, or bun under `bun test`), the script, two subcommand words
    const recorded = `${basename(process.execPath)} fake-sst.mjs secret set …`
    assert.ok(commit.split('\n').includes(`Lock-Command: ${recorded}`), commit)
    const locks = JSON.parse(readFileSync(`${seen}.json`, 'utf8')).locks
    assert.equal(locks[0].holder.command, recorded)
    for (const [what, text] of [
      ['the lock commit', commit],
      ['locks', readFileSync(`${seen}.locks`, 'utf8')],
      ['locks --json', readFileSync(`${seen}.json`, 'utf8')],
      ['run\'s output', res.stdout + res.stderr],
      ['the branch', gitOk(['--git-dir', repo.path, 'log', '--format=%B', 'main'])],
      // the released lock commit stays in the server's object store
      ['the server\'s objects', git(['--git-dir', repo.path, 'cat-file', '--batch-all-objects', '--batch']).stdout],
    ]) {
      assert.ok(!text.includes(secret), `${what} holds the secret:\n${text.slice(0, 2000)}`)
      assert.ok(!text.includes('StripeKey'), `${what} holds an argument`)
    }
  })

  test('a second run in the same checkout does not use the first run\'s lock: LOCK_HELD, and the lock stays the first run\'s', SLOW, async () => {
    const script = deployScript()
    const repo = await seededRepo('run-two-in-one-checkout')
    const first = pipeline(repo, script, 'first')
    const running = first.run(['--json'], ['0', '8000'])
    const taken = await waitUntil(() => lockOnServer(repo))
    assert.ok(taken, 'the first run took no lock')
    const sameDir = ['--stage', 'dev', '--config-dir', first.configDir, '--branch', 'main', '--json']
    const second = await cliAsync(['run', ...sameDir, '--', 'true'], first.dir)
    assert.equal(second.status, 3, second.stdout + second.stderr)
    assert.equal(second.json.error.code, 'LOCK_HELD')
    // neither does a commit or an unlock there while the run runs
    const committed = cli(['commit', ...sameDir], first.dir)
    assert.equal(committed.json?.lockReleased, false, committed.stdout + committed.stderr)
    const unlocked = cli(['unlock', '--stage', 'dev', '--json'], first.dir)
    assert.equal(unlocked.status, 3, unlocked.stdout + unlocked.stderr)
    assert.equal(unlocked.json.error.code, 'LOCK_NOT_HELD')
    assert.equal(lockOnServer(repo), taken)
    const res = await running
    assert.equal(res.status, 0, res.stdout + res.stderr)
    assert.equal(res.json.commit.lockReleased, true)
    assert.ok(resourcesOnBranch(repo).includes('first'))
    assert.equal(lockOnServer(repo), null)
  })

  test('a run that breaks an expired lock says so', SLOW, async () => {
    const script = deployScript()
    const repo = await seededRepo('run-breaks-expired')
    const stale = ciClone(repo.open)
    const taken = assertOk(cli(['lock', '--stage', 'dev', '--lock-ttl', '1s', '--json'], stale), 'lock').json
    await new Promise((r) => setTimeout(r, 2100))
    const res = await pipeline(repo, script, 'breaker').run()
    assert.equal(res.status, 0, res.stdout + res.stderr)
    assert.match(res.stderr, new RegExp(`broke the expired lock of \\S+@\\S+ \\(pid ${taken.holder.pid}, `))
    assert.equal(lockOnServer(repo), null)
  })
})

describe('runStage', () => {
  // the handlers were restored in the order the runs began, not ended:
  // once the second ended, SIGTERM no longer reached the first's command
  test('overlapping runStage() calls in one process: SIGTERM reaches the command still running', SLOW, async () => {
    const repo = await seededRepo('run-overlapping')
    const work = tempDir('sls-overlap-')
    const started = join(work, 'started')
    const secondDone = join(work, 'second-done')
    const trap = join(work, 'trap.mjs')
    writeFileSync(
      trap,
      `import { writeFileSync } from 'node:fs'
process.on('SIGTERM', () => process.exit(143))
writeFileSync(process.argv[2], '')
setTimeout(() => process.exit(0), 60000)
`,
    )
    const options = (stage) => ({ stage, cwd: ciClone(repo.open), configDir: join(tempDir('sls-cfg-'), 'sst'), branch: 'main' })
    const script = `import { existsSync, readFileSync, writeFileSync } from 'node:fs'
const { runStage } = await import(${JSON.stringify(join(REPO_ROOT, 'index.mjs'))})
const first = runStage({ ...${JSON.stringify(options('dev'))}, command: [process.execPath, ${JSON.stringify(trap)}, ${JSON.stringify(started)}] })
while (!existsSync(${JSON.stringify(started)})) await new Promise((r) => setTimeout(r, 50))
const second = await runStage({ ...${JSON.stringify(options('qa'))}, command: ['true'] })
writeFileSync(${JSON.stringify(secondDone)}, String(second.exitCode))
console.log(JSON.stringify({ first: (await first).exitCode }))
`
    const child = spawn('node', ['--input-type=module', '-e', script], { env: BASE_ENV, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    const exited = new Promise((resolve) => child.on('close', (status, signal) => resolve({ status, signal })))
    assert.ok(await waitUntil(() => existsSync(secondDone), 60_000), `the second run did not end:\n${stderr}`)
    assert.equal(readFileSync(secondDone, 'utf8'), '0')
    child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000)
    const res = await exited
    clearTimeout(timer)
    assert.equal(res.status, 0, `${res.status} ${res.signal}\n${stderr}`)
    assert.deepEqual(JSON.parse(stdout), { first: 143 })
    assert.equal(lockOnServer(repo), null)
  })


  test('resolves with the exit code once the state is saved; the lock is released', SLOW, async () => {
    const { runStage } = await import('../index.mjs')
    const script = deployScript()
    const repo = await seededRepo('run-js')
    const dir = ciClone(repo.open)
    const configDir = join(tempDir('sls-cfg-'), 'sst')
    const result = await runStage({
      stage: 'dev',
      cwd: dir,
      configDir,
      branch: 'main',
      lockTimeout: '30s',
      command: [process.execPath, script, configCheckpoint(configDir), 'from-js', '3'],
    })
    assert.equal(result.exitCode, 3)
    assert.equal(result.prepare.lock.lockRef, LOCK)
    assert.equal(result.commit.pushed, true)
    assert.equal(result.commit.lockReleased, true)
    assert.ok(resourcesOnBranch(repo).includes('from-js'))
    assert.equal(lockOnServer(repo), null)
    await assert.rejects(runStage({ stage: 'dev', cwd: dir, command: ['true'], lockTimeout: 'soon' }), (e) => e.code === 'INVALID_OPTION')
    await assert.rejects(runStage({ stage: 'dev', cwd: dir, command: ['true'], lock: true }), (e) => e.code === 'INVALID_OPTION')
  })
})
