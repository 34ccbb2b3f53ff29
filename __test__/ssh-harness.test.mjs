// Self-test of the ssh and redirect test harness (helpers/ssh-server.mjs,
// helpers/redirect-server.mjs, scripts/ssh-server.sh), with the git CLI only.
// Runs under both `node --test` and `bun test`.
//
// The redirect tests also document what git itself does with credentials
// when a remote redirects to another origin (printed as "redirect: ..." lines).
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { after, before, describe, test } from 'node:test'

import { GIT_ENV, cleanup, git, gitAsync, gitOk, localRepo, tempDir } from './helpers/common.mjs'
import { startGitServer } from './helpers/git-server.mjs'
import { startRecordingServer, startRedirectServer } from './helpers/redirect-server.mjs'
import { makeKey, sshEnvFor, startAgent, startSshServer } from './helpers/ssh-server.mjs'

const HERE = dirname(fileURLToPath(import.meta.url))

// git (common.mjs) runs isolated: no user/system config, no prompts, no
// askpass, a fixed identity, no agent unless a test passes one; and with a
// hard timeout, as a server may hang.
after(cleanup)

const shq = (s) => `'${String(s).replaceAll("'", "'\\''")}'`

function portOpen(port) {
  return new Promise((resolvePromise) => {
    const socket = connect({ host: '127.0.0.1', port })
    socket.once('connect', () => {
      socket.destroy()
      resolvePromise(true)
    })
    socket.once('error', () => resolvePromise(false))
  })
}

/** Running, not a zombie (an orphan waits for pid 1 to reap it, which may take a while). */
function isAlive(pid) {
  try {
    process.kill(pid, 0)
  } catch {
    return false
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z'
  } catch {
    return false
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

describe('ssh server harness', () => {
  let server
  let work
  let key
  let agent

  /** GIT_SSH_COMMAND as CI guides write it. */
  function sshCommand({ identity, knownHosts = server.knownHostsPath, extra = [] } = {}) {
    const parts = ['ssh']
    if (identity) parts.push('-i', shq(identity), '-o', 'IdentitiesOnly=yes')
    parts.push('-o', `UserKnownHostsFile=${shq(knownHosts)}`, '-o', 'BatchMode=yes', ...extra)
    return parts.join(' ')
  }

  before(async () => {
    server = await startSshServer()
    work = tempDir('sst-ssh-work-')
    key = makeKey(join(work, 'keys'), { name: 'deploy' })
    server.authorize(key.publicLine)
  })

  after(() => {
    agent?.stop()
    server?.stop()
    server?.stop() // idempotent
  })

  test('server basics', async () => {
    assert.ok(server.port > 0)
    assert.ok(await portOpen(server.port))
    assert.match(server.hostKeyLine, /^ssh-ed25519 AAAA[A-Za-z0-9+/=]+$/)
    assert.equal(server.knownHostsLine, `[127.0.0.1]:${server.port} ${server.hostKeyLine}`)
    assert.equal(readFileSync(server.knownHostsPath, 'utf8').trim(), server.knownHostsLine)
    assert.match(server.user, /^\S+$/)
    const repo = server.newRepo('basics')
    assert.equal(repo.url, `ssh://${server.user}@127.0.0.1:${server.port}${repo.path}`)
    assert.equal(gitOk(['--git-dir', repo.path, 'symbolic-ref', 'HEAD']), 'refs/heads/main')
    assert.equal(gitOk(['--git-dir', repo.path, 'rev-parse', '--is-bare-repository']), 'true')
    // listening on 127.0.0.1 only
    const config = readFileSync(join(server.root, 'sshd_config'), 'utf8')
    assert.match(config, new RegExp(`^ListenAddress 127\\.0\\.0\\.1:${server.port}$`, 'm'))
    assert.match(config, /^PasswordAuthentication no$/m)
  })

  test('(a) ls-remote and push with GIT_SSH_COMMAND="ssh -i <key> ..."', () => {
    const repo = server.newRepo('key-file')
    const env = { GIT_SSH_COMMAND: sshCommand({ identity: key.privatePath, extra: ['-o', 'StrictHostKeyChecking=yes'] }) }
    assert.equal(gitOk(['ls-remote', repo.url], { env }), '') // empty repo
    const dir = localRepo(work, 'key-file')
    gitOk(['push', '-q', repo.url, 'main'], { cwd: dir, env })
    const sha = gitOk(['rev-parse', 'HEAD'], { cwd: dir })
    assert.equal(gitOk(['--git-dir', repo.path, 'rev-parse', 'main']), sha)
    assert.equal(gitOk(['ls-remote', repo.url, 'refs/heads/main'], { env }), `${sha}\trefs/heads/main`)
    const fingerprint = spawnSync('ssh-keygen', ['-lf', key.publicPath], { encoding: 'utf8' }).stdout.split(' ')[1]
    assert.match(server.log(), new RegExp(`Accepted publickey for ${server.user} from 127\\.0\\.0\\.1 .*${fingerprint.replace(/[+/]/g, '\\$&')}`))
  })

  test('(b) the same key through ssh-agent, no -i', async () => {
    const repo = server.newRepo('agent')
    const dir = localRepo(work, 'agent')
    const env = { GIT_SSH_COMMAND: sshCommand() }
    // without an agent (and without -i) the key is not found
    const without = git(['ls-remote', repo.url], { env: { ...env, SSH_AUTH_SOCK: '' } })
    assert.notEqual(without.status, 0, 'ls-remote without the agent unexpectedly succeeded')
    assert.match(without.stderr, /Permission denied \(publickey\)/)

    agent = await startAgent()
    assert.ok(existsSync(agent.sock))
    assert.ok(agent.pid > 0)
    assert.equal(agent.list(), '')
    agent.add(key.privatePath)
    assert.equal(agent.list().split(/\s+/).slice(0, 2).join(' '), key.publicLine.split(/\s+/).slice(0, 2).join(' '))
    const withAgent = { ...env, SSH_AUTH_SOCK: agent.sock }
    gitOk(['push', '-q', repo.url, 'main'], { cwd: dir, env: withAgent })
    assert.match(gitOk(['ls-remote', repo.url], { env: withAgent }), /refs\/heads\/main$/m)

    agent.stop()
    agent.stop() // idempotent
    assert.ok(!existsSync(agent.sock))
    for (let i = 0; i < 40 && isAlive(agent.pid); i++) await sleep(50)
    assert.ok(!isAlive(agent.pid), 'ssh-agent still running after stop()')
  })

  test('(c) an unknown host key is refused', () => {
    const repo = server.newRepo('unknown-host')
    const empty = join(work, 'empty_known_hosts')
    writeFileSync(empty, '')
    const env = {
      GIT_SSH_COMMAND: sshCommand({ identity: key.privatePath, knownHosts: empty, extra: ['-o', 'StrictHostKeyChecking=yes'] }),
    }
    const res = git(['ls-remote', repo.url], { env })
    assert.notEqual(res.status, 0)
    assert.match(res.stderr, /Host key verification failed/)
    assert.equal(readFileSync(empty, 'utf8'), '', 'the unknown host key was written to known_hosts')
    // a wrong key for the host is refused too
    const wrong = join(work, 'wrong_known_hosts')
    const other = makeKey(join(work, 'keys'), { name: 'not-the-host' })
    writeFileSync(wrong, `[127.0.0.1]:${server.port} ${other.publicLine.split(' ').slice(0, 2).join(' ')}\n`)
    const res2 = git(['ls-remote', repo.url], {
      env: { GIT_SSH_COMMAND: sshCommand({ identity: key.privatePath, knownHosts: wrong, extra: ['-o', 'StrictHostKeyChecking=yes'] }) },
    })
    assert.notEqual(res2.status, 0)
    assert.match(res2.stderr, /REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed/)
  })

  test('(d) an unauthorized key fails quickly', () => {
    const repo = server.newRepo('unauthorized')
    const stranger = makeKey(join(work, 'keys'), { name: 'stranger' })
    const res = git(['ls-remote', repo.url], {
      env: { GIT_SSH_COMMAND: sshCommand({ identity: stranger.privatePath }) },
      timeout: 15_000,
    })
    assert.ok(!res.timedOut, 'git ls-remote hung with an unauthorized key')
    assert.notEqual(res.status, 0)
    assert.match(res.stderr, /Permission denied \(publickey\)/)
    assert.ok(res.ms < 5_000, `took ${res.ms} ms`)
  })

  test('(f) sshEnvFor: ssh reads ~/.ssh of a fake home (default key files, config alias)', () => {
    const repo = server.newRepo('fake-home')
    gitOk(['push', '-q', repo.url, 'main'], {
      cwd: localRepo(work, 'fake-home'),
      env: { GIT_SSH_COMMAND: sshCommand({ identity: key.privatePath }) },
    })
    const sha = gitOk(['--git-dir', repo.path, 'rev-parse', 'main'])

    // ed25519 default key file, no agent, no GIT_SSH_COMMAND
    const home1 = join(work, 'home-ed25519')
    mkdirSync(home1)
    const env1 = sshEnvFor({ home: home1, knownHosts: server.knownHostsLine })
    assert.equal(env1.SSH_AUTH_SOCK, '')
    const ed = makeKey(join(home1, '.ssh'), { type: 'ed25519' })
    assert.equal(ed.privatePath, join(home1, '.ssh', 'id_ed25519'))
    // not authorized yet: refused, so nothing else (the real ~/.ssh, an agent) logs us in
    const refused = git(['ls-remote', repo.url], { env: env1 })
    assert.notEqual(refused.status, 0)
    assert.match(refused.stderr, /Permission denied/)
    server.authorize(ed.publicLine)
    assert.equal(gitOk(['ls-remote', repo.url, 'main'], { env: env1 }).split('\t')[0], sha)

    // RSA key in PEM format as ~/.ssh/id_rsa
    const home2 = join(work, 'home-rsa')
    mkdirSync(home2)
    const env2 = sshEnvFor({ home: home2, knownHosts: [server.knownHostsLine] })
    const rsa = makeKey(join(home2, '.ssh'), { type: 'rsa', format: 'pem' })
    assert.match(readFileSync(rsa.privatePath, 'utf8'), /^-----BEGIN RSA PRIVATE KEY-----/)
    assert.match(rsa.publicLine, /^ssh-rsa /)
    server.authorize(rsa.publicLine)
    assert.equal(gitOk(['ls-remote', repo.url, 'main'], { env: env2 }).split('\t')[0], sha)
    const openssh = makeKey(join(work, 'keys'), { type: 'rsa', name: 'rsa-openssh' })
    assert.match(readFileSync(openssh.privatePath, 'utf8'), /^-----BEGIN OPENSSH PRIVATE KEY-----/)
    assert.throws(() => makeKey(work, { type: 'ed25519', format: 'pem' }), /ed25519/)

    // Host alias in ~/.ssh/config with HostName, Port, User, IdentityFile
    const home3 = join(work, 'home-config')
    mkdirSync(join(home3, 'keys'), { recursive: true })
    const aliasKey = makeKey(join(home3, 'keys'), { name: 'deploy-key' })
    server.authorize(aliasKey.publicLine)
    const env3 = sshEnvFor({
      home: home3,
      knownHosts: server.knownHostsLine,
      config: [
        'Host state-repo',
        '  HostName 127.0.0.1',
        `  Port ${server.port}`,
        `  User ${server.user}`,
        '  IdentityFile ~/keys/deploy-key',
        '  IdentitiesOnly yes',
        '',
      ].join('\n'),
    })
    assert.equal(gitOk(['ls-remote', `state-repo:${repo.path}`, 'main'], { env: env3 }).split('\t')[0], sha)
    // the alias exists only in that home
    assert.notEqual(git(['ls-remote', `state-repo:${repo.path}`], { env: env1, timeout: 15_000 }).status, 0)
  })

  test('start/stop from the script; watchdogs clean up after a killed test process', async () => {
    // A second test process (same runtime: node or bun) that starts a server
    // and an agent, then is killed.
    const script = join(work, 'child.mjs')
    const helper = pathToFileURL(join(HERE, 'helpers', 'ssh-server.mjs')).href
    writeFileSync(
      script,
      [
        `import { startAgent, startSshServer } from ${JSON.stringify(helper)}`,
        'const server = await startSshServer({ install: false })',
        'const agent = await startAgent()',
        'console.log(JSON.stringify({ root: server.root, port: server.port, sock: agent.sock, agentPid: agent.pid }))',
        'setInterval(() => {}, 1000)',
        '',
      ].join('\n'),
    )
    const child = spawn(process.execPath, [script], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: GIT_ENV,
    })
    let out = ''
    const info = await new Promise((resolvePromise, reject) => {
      child.stdout.on('data', (d) => {
        out += d
        const line = out.split('\n').find((l) => l.startsWith('{'))
        if (line && out.includes('\n')) resolvePromise(JSON.parse(line))
      })
      child.once('exit', (code) => reject(new Error(`child exited (${code}) before starting: ${out}`)))
    })
    assert.ok(existsSync(info.root))
    assert.ok(await portOpen(info.port))
    assert.ok(existsSync(info.sock))
    child.kill('SIGKILL') // no exit handlers run: only the watchdogs can clean up
    let gone = false
    for (let i = 0; i < 100 && !gone; i++) {
      await sleep(100)
      gone = !existsSync(info.root) && !existsSync(info.sock) && !isAlive(info.agentPid) && !(await portOpen(info.port))
    }
    assert.ok(gone, 'sshd, its root dir or the agent outlived the killed test process')
  })
})

describe('credentials and redirects (what git does)', () => {
  const EXTRA_USER = 'extra-user'
  const EXTRA_PASS = 'extraheader-secret-1'
  const EXTRA = `Basic ${Buffer.from(`${EXTRA_USER}:${EXTRA_PASS}`).toString('base64')}`
  const URL_TOKEN = 'url-token-secret-2'
  const HELPER_TOKEN = 'helper-token-secret-3'
  const SECRETS = [EXTRA, EXTRA_PASS, Buffer.from(`${EXTRA_USER}:${EXTRA_PASS}`).toString('base64'), URL_TOKEN, HELPER_TOKEN]
  let gitServer
  let seeded = false
  const servers = []

  /** Every place a secret shows up in what a server received: "<method> <url> <header>: ..." */
  function leaks(requests) {
    const found = []
    for (const req of requests) {
      const decoded = []
      for (const [name, value] of Object.entries(req.headers)) {
        const m = /^basic\s+(\S+)/i.exec(String(value))
        if (m) decoded.push([name, Buffer.from(m[1], 'base64').toString('utf8')])
      }
      for (const [name, value] of [['url', req.url], ...Object.entries(req.headers), ...decoded]) {
        if (SECRETS.some((secret) => String(value).includes(secret))) found.push(`${req.method} ${req.url.split('?')[0]} ${name}`)
      }
    }
    return [...new Set(found)]
  }

  const summary = (requests) =>
    requests.map((r) => `${r.method} ${r.url.split('?')[0]}${r.headers.authorization ? ` [Authorization: ${r.headers.authorization}]` : ''}`)

  /**
   * first (redirects) -> second (records; 401, or proxies to the git server).
   * @returns what each origin received and how git ended
   */
  async function experiment(label, { gitArgs = [], userinfo = false, extraheader = false, helper, proxy = false, path = '/open/repo.git' }) {
    const second = await startRecordingServer(proxy ? { upstream: gitServer.url } : {})
    servers.push(second)
    const first = await startRedirectServer(second.origin)
    servers.push(first)
    const base = userinfo ? `http://x-access-token:${URL_TOKEN}@127.0.0.1:${first.port}` : first.url
    const args = typeof gitArgs === 'function' ? gitArgs(first) : [...gitArgs]
    if (extraheader) args.push('-c', `http.extraHeader=Authorization: ${EXTRA}`)
    if (helper) args.push('-c', `credential.helper=${helper}`)
    args.push('ls-remote', `${base}${path}`)
    const res = await gitAsync(args)
    await first.stop()
    await second.stop()
    const result = {
      label,
      exit: res.status,
      stderr: res.stderr.trim(),
      first: first.requests,
      second: second.requests,
      firstLeaks: leaks(first.requests),
      secondLeaks: leaks(second.requests),
    }
    console.log(
      [
        `redirect: ${label}: git exit ${res.status}; ${res.stderr.trim().split('\n').pop()}`,
        ...summary(first.requests).map((s) => `redirect:    first  ${s}`),
        ...summary(second.requests).map((s) => `redirect:    second ${s}`),
        `redirect:    secrets at the second origin: ${result.secondLeaks.length ? result.secondLeaks.join(', ') : 'none'}`,
      ].join('\n'),
    )
    return result
  }

  before(async () => {
    gitServer = await startGitServer()
    const repo = gitServer.newRepo('repo')
    const dir = tempDir('sst-redirect-work-')
    gitOk(['init', '-q', '-b', 'main', dir])
    gitOk(['commit', '-q', '--allow-empty', '-m', 'seed'], { cwd: dir })
    gitOk(['push', '-q', repo.open, 'main'], { cwd: dir })
    seeded = true
  })

  after(async () => {
    for (const s of servers.splice(0)) await s.stop()
    gitServer?.stop()
  })

  test('the servers: 302 to the same path and query at the target; 401 Basic; all headers recorded', async () => {
    const second = await startRecordingServer()
    const first = await startRedirectServer(`${second.origin}/`)
    servers.push(first, second)
    assert.equal(first.url, `http://127.0.0.1:${first.port}`)
    const res = await fetch(`${first.url}/a/b.git/info/refs?service=git-upload-pack`, {
      redirect: 'manual',
      headers: { 'X-Probe': '1' },
    })
    assert.equal(res.status, 302)
    assert.equal(res.headers.get('location'), `${second.origin}/a/b.git/info/refs?service=git-upload-pack`)
    const res2 = await fetch(res.headers.get('location'), { headers: { Authorization: 'Basic eDp5', 'X-Probe': '2' } })
    assert.equal(res2.status, 401)
    assert.equal(res2.headers.get('www-authenticate'), 'Basic realm="x"')
    await res2.text()
    assert.equal(first.requests.length, 1)
    assert.equal(first.requests[0].headers['x-probe'], '1')
    assert.equal(second.requests.length, 1)
    assert.equal(second.requests[0].method, 'GET')
    assert.equal(second.requests[0].url, '/a/b.git/info/refs?service=git-upload-pack')
    assert.equal(second.requests[0].headers.authorization, 'Basic eDp5')
    assert.equal(second.requests[0].headers['x-probe'], '2')
    await first.stop()
    await second.stop()
    await first.stop() // idempotent
  })

  test('(e) extraheader + token in the URL, second origin answers 401: nothing reaches it', async () => {
    const r = await experiment('default, 401 at second, extraheader + URL token', { extraheader: true, userinfo: true })
    assert.notEqual(r.exit, 0)
    // git/curl: the first request carries the extraheader (the URL token is only sent after a 401)
    assert.deepEqual(r.firstLeaks, ['GET /open/repo.git/info/refs authorization'])
    assert.equal(r.second.length, 1, 'git followed the redirect once')
    assert.equal(r.second[0].headers.authorization, undefined)
    assert.deepEqual(r.secondLeaks, [])
    // with URL credentials, git treats the 401 as "these credentials were rejected"
    assert.match(r.stderr, /Authentication failed/)
  })

  test('(e) each credential alone, followRedirects default / true / false, 401 at the second origin', async () => {
    for (const follow of [undefined, 'true', 'false']) {
      const gitArgs = follow ? ['-c', `http.followRedirects=${follow}`] : []
      const tag = follow ? `followRedirects=${follow}` : 'default (initial)'
      const x = await experiment(`${tag}, 401 at second, extraheader`, { gitArgs, extraheader: true })
      const u = await experiment(`${tag}, 401 at second, URL token`, { gitArgs, userinfo: true })
      for (const r of [x, u]) {
        assert.notEqual(r.exit, 0)
        assert.deepEqual(r.secondLeaks, [])
        assert.equal(r.second.length, follow === 'false' ? 0 : 1)
      }
      assert.equal(x.first[0].headers.authorization, EXTRA)
      assert.equal(u.first[0].headers.authorization, undefined)
      if (follow === 'false') assert.match(x.stderr, /returned error: 302/)
      else assert.match(x.stderr, /could not read Username for 'http:\/\/127\.0\.0\.1:\d+': terminal prompts disabled/)
    }
  })

  test('(e) second origin serves the repo: git sends http.extraheader there after an initial redirect', async () => {
    assert.ok(seeded)
    for (const follow of [undefined, 'true', 'false']) {
      const gitArgs = follow ? ['-c', `http.followRedirects=${follow}`] : []
      const tag = follow ? `followRedirects=${follow}` : 'default (initial)'
      const x = await experiment(`${tag}, repo at second, extraheader`, { gitArgs, extraheader: true, proxy: true })
      const u = await experiment(`${tag}, repo at second, URL token`, { gitArgs, userinfo: true, proxy: true })
      if (follow === 'false') {
        for (const r of [x, u]) {
          assert.notEqual(r.exit, 0)
          assert.equal(r.second.length, 0)
        }
        continue
      }
      for (const r of [x, u]) {
        assert.equal(r.exit, 0, r.stderr)
        assert.match(r.stderr, /warning: redirecting to http:\/\/127\.0\.0\.1:\d+\/open\/repo\.git\//)
      }
      // curl drops the Authorization header on the redirected GET (other port), but git then
      // talks to the new base URL and adds http.extraheader to its own requests (the POST).
      assert.equal(x.second[0].method, 'GET')
      assert.equal(x.second[0].headers.authorization, undefined)
      assert.ok(x.second.some((q) => q.method === 'POST' && q.headers.authorization === EXTRA))
      assert.deepEqual(x.secondLeaks, ['POST /open/repo.git/git-upload-pack authorization'])
      // the URL token never does (no 401 here, and curl does not send it across origins)
      assert.deepEqual(u.secondLeaks, [])
    }
    // http.<url>.extraheader is matched against the URL given, once: it leaks the same way
    const scoped = await experiment('default, repo at second, URL-scoped extraheader', {
      gitArgs: (first) => ['-c', `http.${first.url}/.extraHeader=Authorization: ${EXTRA}`],
      proxy: true,
    })
    assert.equal(scoped.exit, 0, scoped.stderr)
    assert.deepEqual(scoped.secondLeaks, ['POST /open/repo.git/git-upload-pack authorization'])
  })

  test('(e) a credential helper is asked for the second origin: it must check host and port', async () => {
    // a helper that answers whatever it is asked gives its token to the second origin
    const careless = await experiment('default, 401 at second, helper answering any host', {
      helper: `!f() { echo username=x-access-token; echo password=${HELPER_TOKEN}; }; f`,
    })
    assert.notEqual(careless.exit, 0)
    assert.deepEqual(careless.secondLeaks, ['GET /open/repo.git/info/refs authorization'])

    // one that only answers for the first origin ("host=127.0.0.1:<port>") gives nothing
    const second = await startRecordingServer()
    const first = await startRedirectServer(second.origin)
    servers.push(first, second)
    const helper = `!f() { if grep -qx 'host=127.0.0.1:${first.port}'; then echo username=x-access-token; echo password=${HELPER_TOKEN}; fi; }; f`
    const res = await gitAsync(['-c', `credential.helper=${helper}`, 'ls-remote', `${first.url}/open/repo.git`])
    await first.stop()
    await second.stop()
    assert.notEqual(res.status, 0)
    assert.match(res.stderr, /could not read Username/)
    assert.equal(second.requests.length, 1)
    assert.deepEqual(leaks(second.requests), [])
    console.log(`redirect: default, 401 at second, helper checking host: secrets at the second origin: none`)
  })
})
