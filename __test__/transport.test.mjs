// How commit reaches the remote: through the git CLI wherever it is
// installed (the explicit token only through a credential helper, never on
// a command line), and through libgit2 over HTTPS where no git is on PATH
// (a slim CI container), with a clear error for ssh there.
// Runs under `node --test` and `bun test`, against the local smart-HTTP server.
import { test, describe, after } from 'node:test'
import assert from 'node:assert/strict'
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

import {
  SLOW,
  STATE,
  assertOk,
  ciClone,
  cleanup,
  cli,
  commitCli,
  deploy,
  gitOk,
  gitServer,
  prepare,
  revParse,
  seededRepo,
  showBlob,
  tempDir,
} from './helpers/state-repo.mjs'

after(cleanup)

/** A PATH holding no git at all (node itself is run by absolute path). */
const noGitPath = () => tempDir('sls-no-git-path-')

describe('git CLI transport', () => {
  test('SST_LOCAL_STATE_GIT_TOKEN reaches git through a credential helper, never on a command line', SLOW, async () => {
    const srv = await gitServer()
    const repo = await seededRepo('token-helper')
    const dir = ciClone(repo.basic, { config: [`http.extraheader=AUTHORIZATION: ${srv.basicHeader}`] })
    // a git that records every command line it is given, then runs the real one
    const log = join(tempDir('sls-git-log-'), 'argv.log')
    const shim = join(tempDir('sls-git-shim-'), 'git')
    const realGit = gitOk(['--exec-path'], dir).replace(/libexec\/git-core$/, 'bin/git')
    writeFileSync(shim, `#!/bin/sh\nprintf '%s\\n' "$*" >> '${log}'\nexec '${realGit}' "$@"\n`)
    chmodSync(shim, 0o755)
    const configDir = prepare(dir)
    const ours = deploy(configDir, 2, 'token')
    const env = { SST_LOCAL_STATE_GIT_TOKEN: srv.token, SST_LOCAL_STATE_GIT: shim }

    const res = assertOk(commitCli(dir, configDir, ['--branch', 'main', '--json'], env), 'commit')
    assert.equal(res.json.pushed, true)
    assert.deepEqual(showBlob(repo.path, 'main'), ours)
    const argv = readFileSync(log, 'utf8')
    assert.match(argv, /^push --porcelain --no-verify --force-with-lease=refs\/heads\/main:[0-9a-f]{40} origin /m)
    assert.ok(!argv.includes(srv.token), 'the token was on a command line')
    assert.ok(!(res.stdout + res.stderr).includes(srv.token), 'the token was printed')
  })
})

describe('no git on PATH (a slim CI container)', () => {
  test('prepare and commit still work over HTTPS: extraheader, and a token in the URL', SLOW, async () => {
    const srv = await gitServer()
    for (const style of ['extraheader', 'url-token']) {
      const repo = await seededRepo(`no-git-${style}`)
      const header = `AUTHORIZATION: ${srv.basicHeader}`
      const dir = style === 'extraheader' ? ciClone(repo.basic, { config: [`http.extraheader=${header}`] }) : ciClone(repo.basicWithToken)
      if (style === 'extraheader') gitOk(['config', `http.${srv.url}/.extraheader`, header], dir)
      const configDir = join(tempDir('sls-cfg-'), 'sst')
      const env = { PATH: noGitPath() }
      assertOk(cli(['prepare', '--stage', 'dev', '--config-dir', configDir], dir, env), `prepare (${style})`)
      const ours = deploy(configDir, 2, style)
      const res = assertOk(commitCli(dir, configDir, ['--branch', 'main', '--json'], env), `commit (${style})`)
      assert.equal(res.json.pushed, true)
      assert.equal(res.json.commit, revParse(repo.path))
      assert.deepEqual(showBlob(repo.path, 'main'), ours)
      assert.ok(!(res.stdout + res.stderr).includes(srv.token), 'the token was printed')
    }
  })

  test('an ssh remote without git: GIT_NOT_FOUND naming what is missing, nothing changed', SLOW, async () => {
    const repo = await seededRepo('no-git-ssh')
    const dir = ciClone(repo.open)
    gitOk(['remote', 'set-url', 'origin', 'ssh://git@127.0.0.1:1/repo.git'], dir)
    const configDir = prepare(dir)
    const before = readFileSync(join(dir, STATE))
    deploy(configDir, 2, 'ssh')
    const res = commitCli(dir, configDir, ['--branch', 'main', '--json'], { PATH: noGitPath() })
    assert.equal(res.status, 1, res.stdout + res.stderr)
    assert.equal(res.json.error.code, 'GIT_NOT_FOUND')
    assert.match(res.json.error.message, /git command-line tool/)
    assert.match(res.json.error.message, /ssh/)
    assert.deepEqual(readFileSync(join(dir, STATE)), before)
    assert.ok(!existsSync(join(dir, '.git', 'refs', 'heads', 'sst-local-state')))
  })
})
