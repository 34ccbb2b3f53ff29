// doctor through the CLI with the real SST CLI: a lock that a crashed
// deploy leaves is an error (exit 1) naming `sst unlock`, and after the real
// `sst unlock` the same project passes (exit 0, warnings only); the
// installed sst package is the version this release is tested with.
import assert from 'node:assert/strict'
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'

import { REPO_ROOT, SST_VERSION, makeSstProject, runSst } from './helpers/sst.mjs'
import { SLOW, assertOk, cleanup, cli, gitOk, removeAtCleanup, tempDir } from './helpers/common.mjs'

after(cleanup)

const byName = (json, name) => json.checks.filter((c) => c.name === name)

describe('doctor', () => {
  test("SST's lock of a crashed deploy fails it; the real `sst unlock` fixes it", SLOW, async () => {
    const project = await makeSstProject()
    removeAtCleanup(project.dir)
    symlinkSync(join(REPO_ROOT, 'node_modules'), join(project.dir, 'node_modules'))
    gitOk(['init', '-q', '-b', 'main'], project.dir)
    gitOk(['add', '-A'], project.dir)
    gitOk(['commit', '-q', '-m', 'app'], project.dir)
    const configHome = tempDir('sls-doctor-home-')
    const configDir = join(configHome, 'sst')
    const doctor = () => cli(['doctor', '--stage', 'dev', '--config-dir', configDir, '--json'], project.dir)

    const lockDir = join(configDir, 'state', 'lock', 'demo-app')
    mkdirSync(lockDir, { recursive: true })
    writeFileSync(join(lockDir, 'dev.json'), JSON.stringify({ created: '2024-01-01T00:00:00Z', updateID: 'x', runID: 'y', command: 'deploy', ignore: true }))
    const failing = doctor()
    assert.equal(failing.status, 1, failing.stdout + failing.stderr)
    const [lock] = byName(failing.json, 'crashed-deploy')
    assert.equal(lock.level, 'error')
    assert.match(lock.fix, /sst unlock --stage dev/)

    assertOk(runSst(['unlock', '--stage', 'dev'], { cwd: project.dir, configHome }), 'sst unlock')
    const passing = assertOk(doctor(), 'doctor after sst unlock')
    assert.equal(passing.json.errors, 0)
    assert.equal(byName(passing.json, 'crashed-deploy')[0].level, 'ok')
    assert.deepEqual(byName(passing.json, 'sst-version')[0], { name: 'sst-version', level: 'ok', message: `sst ${SST_VERSION} (tested)` })
    assert.equal(byName(passing.json, 'sst-config')[0].level, 'ok')
    assert.equal(byName(passing.json, 'config-dir')[0].level, 'ok')

    const human = cli(['doctor', '--stage', 'dev', '--config-dir', configDir], project.dir)
    assert.equal(human.status, 0)
    assert.match(human.stdout, /^ok\s+sst-config\s+/m)
    assert.match(human.stdout, /^warning\s+passphrase-mode .*\n\s+fix: run `sst-local-state init`/m)
    assert.match(human.stdout, /0 error\(s\), \d+ warning\(s\)\n$/)
  })
})

describe('doctor: the push remote', () => {
  test('a dry-run push: accepted on the open URL, AUTH_FAILED without credentials; never the token', SLOW, async () => {
    const { gitServer, seededRepo, ciClone } = await import('./helpers/state-repo.mjs')
    const repo = await seededRepo('doctor')
    const server = await gitServer()
    const configDir = join(tempDir('sls-doctor-cfg-'), 'sst')
    const run = (dir, env = {}) => cli(['doctor', '--stage', 'dev', '--config-dir', configDir, '--json'], dir, { SST_LOCAL_STATE_BRANCH: 'main', ...env })

    const open = ciClone(repo.open)
    const ok = run(open)
    const [push] = byName(ok.json, 'git-push')
    assert.equal(push.level, 'ok', JSON.stringify(push))
    assert.match(push.message, /a push to main is accepted \(dry run/)
    assert.equal(gitOk(['--git-dir', repo.path, 'rev-parse', 'main']), gitOk(['rev-parse', 'HEAD'], open), 'a dry run changes nothing')

    const locked = ciClone(repo.open)
    gitOk(['remote', 'set-url', 'origin', repo.basic], locked)
    const denied = run(locked)
    assert.equal(denied.status, 1)
    const [fail] = byName(denied.json, 'git-push')
    assert.equal(fail.code, 'AUTH_FAILED', JSON.stringify(fail))
    assert.match(fail.fix, /contents: write/)

    const withToken = run(locked, { SST_LOCAL_STATE_GIT_TOKEN: server.token })
    const [granted] = byName(withToken.json, 'git-push')
    assert.equal(granted.level, 'ok', JSON.stringify(granted))
    assert.match(granted.message, /SST_LOCAL_STATE_GIT_TOKEN/)
    assert.ok(!withToken.stdout.includes(server.token), 'the token is never printed')
  })
})
