// How commit reaches the remote: through the git CLI wherever it is
// installed (ssh exactly as the user configured it, against a real sshd on
// 127.0.0.1; the explicit token only through a credential helper, never on
// a command line; no credential after a redirect to another origin), and
// through libgit2 over HTTPS where no git is on PATH (a slim CI
// container), with a clear error for ssh there.
// Runs under `node --test` and `bun test`, against the local smart-HTTP server.
import { test, describe, after } from 'node:test'
import assert from 'node:assert/strict'
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'

import { startRecordingServer, startRedirectServer } from './helpers/redirect-server.mjs'
import { startTlsProxy } from './helpers/tls-proxy.mjs'
import { cleanup as sshCleanup, makeKey, sshEnvFor, startAgent, startSshServer } from './helpers/ssh-server.mjs'

import { SLOW, assertOk, cleanup, cli, cliAsync, gitOk, revParse, tempDir } from './helpers/common.mjs'
import { STATE, ciClone, commitCli, deploy, gitServer, prepare, seededRepo, showBlob } from './helpers/state-repo.mjs'

after(cleanup)
after(sshCleanup)

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

describe('the libgit2 fallback (no git CLI) over HTTPS', () => {
  test('verifies the server certificate: refused when untrusted (nothing pushed), pushed when trusted through SSL_CERT_FILE', SLOW, async () => {
    const srv = await gitServer()
    const repo = await seededRepo('tls-fallback')
    const proxy = await startTlsProxy(srv.port)
    try {
      const dir = ciClone(repo.open)
      gitOk(['remote', 'set-url', 'origin', `${proxy.url}/open/${repo.name}.git`], dir)
      const configDir = prepare(dir)
      const ours = deploy(configDir, 2, 'tls')
      const before = revParse(repo.path)
      const untrusted = await commitAsync(dir, configDir, { SST_LOCAL_STATE_GIT: 'none' })
      assert.equal(untrusted.status, 1, untrusted.stdout + untrusted.stderr)
      assert.match(JSON.parse(untrusted.stdout).error.message, /certificate/i)
      assert.equal(revParse(repo.path), before)
      const trusted = await commitAsync(dir, configDir, { SST_LOCAL_STATE_GIT: 'none', SSL_CERT_FILE: proxy.certFile })
      assert.equal(trusted.status, 0, trusted.stdout + trusted.stderr)
      assert.equal(JSON.parse(trusted.stdout).pushed, true)
      assert.deepEqual(showBlob(repo.path, 'main'), ours)
    } finally {
      await proxy.stop()
    }
  })
})

describe('git CLI transport: the token wins over a helper already configured', () => {
  test('a CI runner\'s own credential helper (answering with a token that cannot push) is not asked when SST_LOCAL_STATE_GIT_TOKEN is set', SLOW, async () => {
    const srv = await gitServer()
    const repo = await seededRepo('token-over-helper')
    const dir = ciClone(repo.basic, { config: [`http.extraheader=AUTHORIZATION: ${srv.basicHeader}`] })
    // as GitLab Runner 18+ configures it: a helper answering with the job token
    gitOk(['config', 'credential.helper', '!f() { test "$1" = get || exit 0; echo username=gitlab-ci-token; echo password=job-token-that-cannot-push; }; f'], dir)
    const configDir = prepare(dir)
    const ours = deploy(configDir, 2, 'helper')
    // without the token, that helper answers and the push is refused
    const refused = commitCli(dir, configDir, ['--branch', 'main', '--json'])
    assert.equal(refused.status, 1, refused.stdout)
    assert.equal(refused.json.error.code, 'AUTH_FAILED')
    const res = assertOk(commitCli(dir, configDir, ['--branch', 'main', '--json'], { SST_LOCAL_STATE_GIT_TOKEN: srv.token }), 'commit')
    assert.equal(res.json.pushed, true)
    assert.deepEqual(showBlob(repo.path, 'main'), ours)
  })
})

describe('git CLI transport: never a hang, never the user\'s client hooks', () => {
  test('a remote that accepts the connection and never answers: NETWORK_ERROR after SST_LOCAL_STATE_GIT_TIMEOUT', SLOW, async () => {
    const sockets = new Set()
    const silent = createServer((socket) => sockets.add(socket)) // accepts, never answers
    await new Promise((resolve) => silent.listen(0, '127.0.0.1', resolve))
    try {
      const repo = await seededRepo('silent')
      const dir = ciClone(repo.open)
      gitOk(['remote', 'set-url', 'origin', `http://127.0.0.1:${silent.address().port}/silent.git`], dir)
      gitOk(['update-ref', '-d', 'refs/remotes/origin/main'], dir) // make commit fetch first
      const configDir = prepare(dir)
      deploy(configDir, 2, 'silent')
      const started = Date.now()
      const res = await commitAsync(dir, configDir, { SST_LOCAL_STATE_GIT_TIMEOUT: '2' })
      const took = Date.now() - started
      assert.equal(res.status, 1, res.stdout + res.stderr)
      const { error } = JSON.parse(res.stdout)
      assert.equal(error.code, 'NETWORK_ERROR')
      assert.match(error.message, /did not finish within 2 s/)
      assert.ok(took < 20_000, `took ${took} ms`)
    } finally {
      for (const socket of sockets) socket.destroy()
      await new Promise((resolve) => silent.close(resolve))
    }
  })

  test("the checkout's own pre-push hook (a husky test suite) does not run on our push; the server's hooks do", SLOW, async () => {
    const repo = await seededRepo('client-hook')
    const dir = ciClone(repo.open)
    const ran = join(tempDir('sls-hook-'), 'ran')
    writeFileSync(join(dir, '.git', 'hooks', 'pre-push'), `#!/bin/sh\ntouch '${ran}'\nexit 1\n`)
    chmodSync(join(dir, '.git', 'hooks', 'pre-push'), 0o755)
    const configDir = prepare(dir)
    const ours = deploy(configDir, 2, 'hooked')
    const res = assertOk(commitCli(dir, configDir, ['--branch', 'main', '--json']), 'commit')
    assert.equal(res.json.pushed, true)
    assert.ok(!existsSync(ran), 'the client pre-push hook ran')
    assert.deepEqual(showBlob(repo.path, 'main'), ours)
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

// ---------------------------------------------------------------------- ssh --

let sshd
/** One sshd for the file; each test gets its own bare repo on it, seeded over the file system. */
async function sshRepo(name) {
  sshd ??= await startSshServer()
  const repo = sshd.newRepo(name)
  const seedRepo = await seededRepo(`ssh-seed-${name}`)
  gitOk(['--git-dir', seedRepo.path, 'push', '-q', repo.path, 'main'])
  return repo
}

/** A CI-style checkout of `repo` whose origin is its ssh URL (or `url`). */
function sshCheckout(repo, url = repo.url) {
  const dir = ciClone(repo.path, { shallow: false })
  gitOk(['remote', 'set-url', 'origin', url], dir)
  return dir
}

/** prepare, deploy, commit over ssh with `env`; returns the commit result. */
function commitOverSsh(dir, env, tag) {
  const configDir = prepare(dir)
  const ours = deploy(configDir, 2, tag)
  const res = commitCli(dir, configDir, ['--branch', 'main', '--json'], env)
  return { res, ours }
}

describe('ssh, as the user configured it', () => {
  test('key in ssh-agent; default key files (ed25519, RSA in PEM); a Host alias with IdentityFile in ~/.ssh/config', SLOW, async () => {
    const keys = tempDir('sls-keys-')
    // agent
    {
      const repo = await sshRepo('agent')
      const key = makeKey(keys, { name: 'agent-key' })
      sshd.authorize(key.publicLine)
      const agent = await startAgent()
      agent.add(key.privatePath)
      const env = sshEnvFor({ home: tempDir('sls-home-'), knownHosts: sshd.knownHostsLine, agentSock: agent.sock })
      const { res, ours } = commitOverSsh(sshCheckout(repo), env, 'agent')
      agent.stop()
      assertOk(res, 'commit with the key in ssh-agent')
      assert.deepEqual(showBlob(repo.path, 'main'), ours)
    }
    // default key files in ~/.ssh, no agent
    for (const [type, format] of [['ed25519', 'openssh'], ['rsa', 'pem']]) {
      const repo = await sshRepo(`default-${type}`)
      const home = tempDir('sls-home-')
      const key = makeKey(join(home, '.ssh'), { type, format, name: `id_${type}` })
      sshd.authorize(key.publicLine)
      const env = sshEnvFor({ home, knownHosts: sshd.knownHostsLine })
      const { res, ours } = commitOverSsh(sshCheckout(repo), env, type)
      assertOk(res, `commit with ~/.ssh/id_${type}`)
      assert.deepEqual(showBlob(repo.path, 'main'), ours)
    }
    // Host alias
    {
      const repo = await sshRepo('alias')
      const home = tempDir('sls-home-')
      const key = makeKey(keys, { name: 'deploy-key-for-alias' })
      sshd.authorize(key.publicLine)
      const config = `Host state-remote\n  HostName 127.0.0.1\n  Port ${sshd.port}\n  User ${sshd.user}\n  IdentityFile ${key.privatePath}\n  IdentitiesOnly yes\n`
      const env = sshEnvFor({ home, knownHosts: sshd.knownHostsLine, config })
      const { res, ours } = commitOverSsh(sshCheckout(repo, `state-remote:${repo.path}`), env, 'alias')
      assertOk(res, 'commit through a Host alias')
      assert.deepEqual(showBlob(repo.path, 'main'), ours)
    }
  })

  test('GIT_SSH_COMMAND and core.sshCommand are honoured', SLOW, async () => {
    const keys = tempDir('sls-keys-')
    const key = makeKey(keys, { name: 'ci-key' })
    sshd ??= await startSshServer()
    sshd.authorize(key.publicLine)
    const known = join(keys, 'known_hosts')
    writeFileSync(known, `${sshd.knownHostsLine}\n`)
    const command = `ssh -i ${key.privatePath} -o IdentitiesOnly=yes -o UserKnownHostsFile=${known}`
    // no key anywhere ssh would look by itself: only the command gives it
    const bareHome = { HOME: tempDir('sls-home-'), SSH_AUTH_SOCK: '' }
    {
      const repo = await sshRepo('git-ssh-command')
      const { res, ours } = commitOverSsh(sshCheckout(repo), { ...bareHome, GIT_SSH_COMMAND: command }, 'env')
      assertOk(res, 'commit with GIT_SSH_COMMAND')
      assert.deepEqual(showBlob(repo.path, 'main'), ours)
    }
    {
      const repo = await sshRepo('core-ssh-command')
      const dir = sshCheckout(repo)
      gitOk(['config', 'core.sshCommand', command], dir)
      const { res, ours } = commitOverSsh(dir, bareHome, 'config')
      assertOk(res, 'commit with core.sshCommand')
      assert.deepEqual(showBlob(repo.path, 'main'), ours)
    }
  })

  test('an unknown host key is refused (HOST_KEY_REJECTED); a wrong key is AUTH_FAILED quickly, without hanging', SLOW, async () => {
    const repo = await sshRepo('refusals')
    const keys = tempDir('sls-keys-')
    const key = makeKey(keys, { name: 'known-key' })
    sshd.authorize(key.publicLine)
    const before = gitOk(['--git-dir', repo.path, 'rev-parse', 'main'])
    // the key is right but the host is unknown
    const home = tempDir('sls-home-')
    mkdirSync(join(home, '.ssh'), { recursive: true })
    const unknownHost = sshEnvFor({ home, knownHosts: [] })
    const dir = sshCheckout(repo)
    gitOk(['config', 'core.sshCommand', `ssh -i ${key.privatePath} -o IdentitiesOnly=yes -o BatchMode=yes`], dir)
    const { res } = commitOverSsh(dir, unknownHost, 'unknown-host')
    assert.equal(res.status, 1, res.stdout + res.stderr)
    assert.equal(res.json.error.code, 'HOST_KEY_REJECTED', res.stdout)
    // a key the server does not know
    const stranger = makeKey(keys, { name: 'stranger' })
    const wrongKey = sshEnvFor({ home: tempDir('sls-home-'), knownHosts: sshd.knownHostsLine })
    const dir2 = sshCheckout(repo)
    gitOk(['config', 'core.sshCommand', `ssh -i ${stranger.privatePath} -o IdentitiesOnly=yes`], dir2)
    const started = Date.now()
    const wrong = commitOverSsh(dir2, wrongKey, 'wrong-key').res
    assert.equal(wrong.status, 1, wrong.stdout + wrong.stderr)
    assert.equal(wrong.json.error.code, 'AUTH_FAILED', wrong.stdout)
    assert.ok(Date.now() - started < 30_000, `took ${Date.now() - started} ms`)
    assert.equal(gitOk(['--git-dir', repo.path, 'rev-parse', 'main']), before)
  })
})

// ---------------------------------------------------------------- redirects --

/** commit through the CLI without blocking this process (its servers answer meanwhile). */
function commitAsync(dir, configDir, env) {
  return cliAsync(['commit', '--stage', 'dev', '--config-dir', configDir, '--branch', 'main', '--json'], dir, env)
}

describe('a remote that redirects to another origin', () => {
  test('no credential of any kind reaches the second origin: extraheader, URL token, SST_LOCAL_STATE_GIT_TOKEN', SLOW, async () => {
    const srv = await gitServer()
    const secretParts = [srv.token, srv.basicHeader.split(' ')[1]]
    const cases = [
      { name: 'extraheader', header: true, url: (r) => r.url },
      { name: 'url-token', url: (r) => r.url.replace('http://', `http://x-access-token:${srv.token}@`) },
      { name: 'env-token', env: { SST_LOCAL_STATE_GIT_TOKEN: srv.token }, url: (r) => r.url },
    ]
    for (const c of cases) {
      for (const transport of ['git', 'libgit2']) {
        const repo = await seededRepo(`redirect-${c.name}-${transport}`)
        // the second origin serves the very repository (the dangerous case)
        const second = await startRecordingServer({ upstream: srv.url })
        const first = await startRedirectServer(second.origin)
        try {
          const dir = ciClone(repo.open)
          gitOk(['remote', 'set-url', 'origin', c.url({ url: `${first.url}/basic/${repo.name}.git` })], dir)
          if (c.header) gitOk(['config', 'http.extraheader', `AUTHORIZATION: ${srv.basicHeader}`], dir)
          const configDir = prepare(dir)
          deploy(configDir, 2, `${c.name}-${transport}`)
          const env = { ...(c.env ?? {}), ...(transport === 'libgit2' ? { SST_LOCAL_STATE_GIT: 'none' } : {}) }
          const out = await commitAsync(dir, configDir, env)
          assert.notEqual(out.status, 0, `${c.name}/${transport}: pushed through a redirect: ${out.stdout}`)
          assert.ok(first.requests.length > 0, 'the redirecting remote was never asked')
          if (transport === 'libgit2') assert.equal(JSON.parse(out.stdout).error.code, 'REDIRECT_REFUSED', out.stdout)
          for (const request of second.requests) {
            const seen = JSON.stringify(request)
            assert.ok(!/authorization/i.test(Object.keys(request.headers).join(' ')), `${c.name}/${transport}: an Authorization header reached the second origin: ${seen}`)
            for (const part of secretParts) assert.ok(!seen.includes(part), `${c.name}/${transport}: a credential reached the second origin`)
          }
          for (const part of secretParts) assert.ok(!(out.stdout + out.stderr).includes(part), 'a credential was printed')
        } finally {
          await first.stop()
          await second.stop()
        }
      }
    }
  })
})
