// Self-test of the local smart-HTTP git server used by the integration tests.
// Runs under both `node --test` and `bun test`.
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'

import { cleanup, git, gitFails, gitOk, localRepo, revParse, tempDir } from './helpers/common.mjs'
import { basicAuth, startGitServer } from './helpers/git-server.mjs'

describe('local git server', () => {
  let server
  let work

  before(async () => {
    server = await startGitServer()
    work = tempDir('sst-git-work-')
  })

  after(() => {
    server?.stop()
    server?.stop() // idempotent
    cleanup()
  })

  test('server basics', () => {
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/)
    assert.ok(server.port > 0)
    assert.match(server.token, /^[0-9a-f]{40}$/)
    assert.ok(existsSync(join(server.root, 'repos')))
  })

  test('push to /open works without credentials', () => {
    const repo = server.newRepo('open-push')
    const dir = localRepo(work, 'open')
    gitOk(['push', '-q', repo.open, 'main'], dir)
    assert.equal(revParse(repo.path), revParse(join(dir, '.git')))
    // default branch of the bare repo is main, so a clone checks it out
    const clone = join(work, 'open-clone')
    gitOk(['clone', '-q', repo.open, clone])
    assert.equal(gitOk(['rev-parse', '--abbrev-ref', 'HEAD'], clone), 'main')
  })

  test('clone via /basic needs the basic Authorization header', () => {
    const repo = server.newRepo('basic-clone')
    gitOk(['push', '-q', repo.open, 'main'], localRepo(work, 'basic'))

    const noAuth = gitFails(['clone', '-q', repo.basic, join(work, 'basic-noauth')])
    assert.match(noAuth, /terminal prompts disabled|Authentication failed|401/)

    const wrong = `AUTHORIZATION: basic ${basicAuth('wrong-token')}`
    gitFails(['-c', `http.extraheader=${wrong}`, 'clone', '-q', repo.basic, join(work, 'basic-wrong')])

    const clone = join(work, 'basic-ok')
    gitOk(['-c', `http.extraheader=AUTHORIZATION: basic ${basicAuth(server.token)}`, 'clone', '-q', repo.basic, clone])
    assert.equal(revParse(join(clone, '.git')), revParse(repo.path))
    assert.equal(server.basicHeader, `basic ${basicAuth(server.token)}`)
  })

  test('push via /basic with the header', () => {
    const repo = server.newRepo('basic-push')
    const dir = localRepo(work, 'basic-push')
    gitFails(['push', '-q', repo.basic, 'main'], dir)
    gitOk(['-c', `http.extraheader=Authorization: Basic ${basicAuth(server.token)}`, 'push', '-q', repo.basic, 'main'], dir)
    assert.equal(revParse(repo.path), revParse(join(dir, '.git')))
  })

  test('token in the URL works for /basic, a wrong one does not', () => {
    const repo = server.newRepo('basic-url')
    const dir = localRepo(work, 'url')
    const url = `http://x-access-token:${server.token}@${server.url.slice('http://'.length)}/basic/basic-url.git`
    assert.equal(repo.basicWithToken, url)
    gitOk(['push', '-q', url, 'main'], dir)
    assert.equal(revParse(repo.path), revParse(join(dir, '.git')))
    gitOk(['clone', '-q', url, join(work, 'url-clone')])
    gitFails(['ls-remote', url.replace(server.token, 'nope'), 'main'])
  })

  test('push via /bearer with the bearer header, wrong token fails', () => {
    const repo = server.newRepo('bearer-push')
    const dir = localRepo(work, 'bearer')

    gitFails(['push', '-q', repo.bearer, 'main'], dir)
    gitFails(['-c', 'http.extraheader=AUTHORIZATION: bearer wrong', 'push', '-q', repo.bearer, 'main'], dir)
    // a basic header is not accepted on the bearer location
    gitFails(['-c', `http.extraheader=AUTHORIZATION: basic ${basicAuth(server.token)}`, 'push', '-q', repo.bearer, 'main'], dir)
    assert.notEqual(git(['--git-dir', repo.path, 'rev-parse', '--verify', '-q', 'main']).status, 0)

    gitOk(['-c', `http.extraheader=AUTHORIZATION: bearer ${server.token}`, 'push', '-q', repo.bearer, 'main'], dir)
    assert.equal(revParse(repo.path), revParse(join(dir, '.git')))

    // scheme is case-insensitive, token is not
    const clone = join(work, 'bearer-clone')
    gitOk(['-c', `http.extraheader=Authorization: Bearer ${server.token}`, 'clone', '-q', repo.bearer, clone])
    assert.equal(revParse(join(clone, '.git')), revParse(repo.path))
    gitFails(['-c', `http.extraheader=Authorization: Bearer ${server.token.toUpperCase()}`, 'ls-remote', repo.bearer])
    assert.equal(server.bearerHeader, `bearer ${server.token}`)
  })

  test('/open, /basic and /bearer serve the same repository', () => {
    const repo = server.newRepo('shared')
    const dir = localRepo(work, 'shared')
    gitOk(['push', '-q', repo.open, 'main'], dir)
    const sha = revParse(repo.path)
    const lsBasic = gitOk(['-c', `http.extraheader=AUTHORIZATION: basic ${basicAuth(server.token)}`, 'ls-remote', repo.basic, 'main'])
    const lsBearer = gitOk(['-c', `http.extraheader=AUTHORIZATION: bearer ${server.token}`, 'ls-remote', repo.bearer, 'main'])
    assert.equal(lsBasic.split('\t')[0], sha)
    assert.equal(lsBearer.split('\t')[0], sha)
  })

  test('two servers at once, stop twice', async () => {
    const other = await startGitServer({ install: false })
    try {
      assert.notEqual(other.port, server.port)
      assert.notEqual(other.token, server.token)
      const repo = other.newRepo('second')
      gitOk(['push', '-q', repo.open, 'main'], localRepo(work, 'second'))
      // tokens are per server
      gitFails(['-c', `http.extraheader=AUTHORIZATION: bearer ${server.token}`, 'ls-remote', repo.bearer])
      gitOk(['-c', `http.extraheader=AUTHORIZATION: bearer ${other.token}`, 'ls-remote', repo.bearer])
    } finally {
      other.stop()
      other.stop()
    }
    assert.ok(!existsSync(other.root))
    gitFails(['ls-remote', `${other.url}/open/second.git`])
    // the first server is unaffected
    assert.equal(git(['ls-remote', `${server.url}/open/shared.git`]).status, 0)
  })
})
