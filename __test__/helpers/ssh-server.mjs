// Real OpenSSH server, keys, ssh-agent and a fake ~/.ssh for tests.
// Works under `node --test` and `bun test`. See scripts/ssh-server.sh.
//
//   const server = await startSshServer()
//   const key = makeKey(dir)                       // ed25519, OpenSSH format
//   server.authorize(key.publicLine)
//   const repo = server.newRepo('state')           // bare, branch main
//   repo.url    -> ssh://root@127.0.0.1:PORT/tmp/sst-ssh-server-XXXX/repos/state.git
//   server.knownHostsLine -> "[127.0.0.1]:PORT ssh-ed25519 AAAA..."
//   const agent = await startAgent(); agent.add(key.privatePath)
//   const env = sshEnvFor({ home, knownHosts: server.knownHostsLine })
//   server.stop(); agent.stop()
//
// Nothing here registers test hooks: each test file calls stop() (or
// cleanup()) from its own after hook. Processes left behind by a test process
// that dies without running its exit handlers are ended by watchdogs.
import { spawn, spawnSync } from 'node:child_process'
import {
  appendFileSync,
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir, userInfo } from 'node:os'
import { dirname, isAbsolute, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const SCRIPT = resolve(dirname(fileURLToPath(import.meta.url)), '../../scripts/ssh-server.sh')

const running = new Set() // servers and agents: everything with a stop()
let hooksInstalled = false

function runScript(args, env = {}) {
  const res = spawnSync('bash', [SCRIPT, ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  if (res.error) throw res.error
  if (res.status !== 0) {
    throw new Error(`ssh-server.sh ${args[0]} failed (exit ${res.status ?? res.signal}):\n${res.stderr}${res.stdout}`)
  }
  return res.stdout.trim()
}

function runTool(cmd, args, options = {}) {
  const res = spawnSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], ...options })
  if (res.error) throw res.error
  if (res.status !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} failed (exit ${res.status ?? res.signal}):\n${res.stderr}${res.stdout}`)
  }
  return res.stdout
}

/** Stop every server and agent this module started and has not stopped yet. */
export function cleanup() {
  for (const item of [...running]) {
    try {
      item.stop()
    } catch {
      // best effort
    }
  }
}

function installHooks() {
  if (hooksInstalled) return
  hooksInstalled = true
  process.on('exit', cleanup)
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.once(signal, () => {
      cleanup()
      process.kill(process.pid, signal)
    })
  }
}

function sshBin(name) {
  for (const dir of (process.env.PATH ?? '').split(':').concat(['/usr/bin', '/usr/sbin', '/bin', '/sbin'])) {
    if (dir && isAbsolute(dir) && existsSync(join(dir, name))) return join(dir, name)
  }
  throw new Error(`${name} not found (run: bash scripts/ssh-server.sh install)`)
}

/**
 * The current user's login name. Not os.userInfo().username alone: bun
 * answers "unknown" there when $USER is unset (as in CI).
 */
export function currentUser() {
  const res = spawnSync('id', ['-un'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
  const name = res.status === 0 ? res.stdout.trim() : ''
  if (name) return name
  const uid = process.getuid?.()
  for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
    const fields = line.split(':')
    if (fields.length >= 7 && Number(fields[2]) === uid) return fields[0]
  }
  return userInfo().username
}

/** Is pid alive and running a command whose command line contains `name`? */
function pidMatches(pid, name) {
  try {
    process.kill(pid, 0)
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ')
    return cmd.includes(name)
  } catch {
    return false
  }
}

/**
 * Start sshd on 127.0.0.1 in a fresh temp dir. Only public-key logins of the
 * current user, with keys given to authorize().
 * @param {{ install?: boolean }} [options] install: run `ssh-server.sh install` first (default true; fast when installed)
 */
export async function startSshServer({ install = true } = {}) {
  if (install) runScript(['install'])
  installHooks()
  const root = mkdtempSync(join(tmpdir(), 'sst-ssh-server-'))
  let port
  try {
    // The watchdog stops sshd (and deletes root) should this process die
    // without running exit handlers (e.g. SIGKILL).
    port = Number(
      runScript(['start', root], {
        SSH_SERVER_WATCH_PID: String(process.pid),
        SSH_SERVER_WATCH_RM_ROOT: '1',
      }),
    )
  } catch (err) {
    rmSync(root, { recursive: true, force: true })
    throw err
  }
  const [type, blob] = readFileSync(join(root, 'ssh_host_ed25519_key.pub'), 'utf8').trim().split(/\s+/)
  const hostKeyLine = `${type} ${blob}`
  const user = currentUser()
  let stopped = false

  const server = {
    port,
    root,
    /** The login name the server accepts: the user running the tests. */
    user,
    /** "ssh-ed25519 AAAA..." (no comment). */
    hostKeyLine,
    /** "[127.0.0.1]:<port> ssh-ed25519 AAAA...", a line for known_hosts. */
    knownHostsLine: `[127.0.0.1]:${port} ${hostKeyLine}`,
    /** A known_hosts file holding knownHostsLine. */
    knownHostsPath: join(root, 'known_hosts'),
    /** sshd's log (LogLevel VERBOSE): accepted/refused keys, sessions. */
    logPath: join(root, 'sshd.log'),
    log() {
      try {
        return readFileSync(join(root, 'sshd.log'), 'utf8')
      } catch {
        return ''
      }
    },
    /** Allow a public key ("ssh-ed25519 AAAA... comment") to log in. */
    authorize(publicKeyLine) {
      if (stopped) throw new Error('ssh server already stopped')
      const line = String(publicKeyLine).trim()
      if (!/^\S+ \S+/.test(line) || line.includes('\n')) throw new Error(`not a public key line: ${line}`)
      appendFileSync(join(root, 'authorized_keys'), `${line}\n`)
    },
    /** Create the bare repository <root>/repos/<name>.git (branch main). */
    newRepo(name) {
      if (stopped) throw new Error('ssh server already stopped')
      const base = String(name).replace(/\.git$/, '')
      if (!base || base.startsWith('/') || base.includes('..')) throw new Error(`bad repo name: ${name}`)
      const path = join(root, 'repos', `${base}.git`)
      if (existsSync(path)) throw new Error(`${path} already exists`)
      mkdirSync(dirname(path), { recursive: true })
      const env = { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1' }
      runTool('git', ['init', '-q', '--bare', path], { env })
      runTool('git', ['--git-dir', path, 'symbolic-ref', 'HEAD', 'refs/heads/main'], { env })
      return { name: base, path, url: `ssh://${user}@127.0.0.1:${port}${path}` }
    },
    /** Stop sshd (and its sessions) and delete the temp dir. Safe to call repeatedly. */
    stop() {
      if (stopped) return
      stopped = true
      running.delete(server)
      try {
        runScript(['stop', root])
      } finally {
        rmSync(root, { recursive: true, force: true })
      }
    },
  }
  running.add(server)
  return server
}

/**
 * Generate a key pair with ssh-keygen, no passphrase.
 * @param {string} dir where to write the key (created if missing)
 * @param {{ type?: 'ed25519' | 'rsa' | 'ecdsa', format?: 'openssh' | 'pem', name?: string, comment?: string }} [options]
 *   format 'pem' ("-----BEGIN RSA PRIVATE KEY-----", ssh-keygen -m PEM) needs type 'rsa' or 'ecdsa':
 *   OpenSSH always writes ed25519 private keys in its own format.
 *   name: file name, default id_<type> (the default key file names of ssh).
 * @returns {{ privatePath: string, publicPath: string, publicLine: string }}
 */
export function makeKey(dir, { type = 'ed25519', format = 'openssh', name, comment } = {}) {
  if (!['ed25519', 'rsa', 'ecdsa'].includes(type)) throw new Error(`unsupported key type: ${type}`)
  if (!['openssh', 'pem'].includes(format)) throw new Error(`unsupported key format: ${format}`)
  if (format === 'pem' && type === 'ed25519') throw new Error('ssh-keygen cannot write ed25519 keys as PEM')
  mkdirSync(dir, { recursive: true })
  const privatePath = resolve(dir, name ?? `id_${type}`)
  rmSync(privatePath, { force: true })
  rmSync(`${privatePath}.pub`, { force: true })
  const args = ['-q', '-t', type, '-N', '', '-C', comment ?? `test-${type}-${format}`, '-f', privatePath]
  if (type === 'rsa') args.push('-b', '2048') // faster than the 3072 default; fine for tests
  if (format === 'pem') args.push('-m', 'PEM')
  runTool(sshBin('ssh-keygen'), args)
  chmodSync(privatePath, 0o600)
  const publicLine = readFileSync(`${privatePath}.pub`, 'utf8').trim()
  return { privatePath, publicPath: `${privatePath}.pub`, publicLine }
}

/**
 * Start an ssh-agent listening on a socket in a fresh temp dir.
 * A watchdog kills it (and removes the dir) once this process is gone.
 * @returns {Promise<{ sock: string, pid: number, add(privatePath: string): void, list(): string, stop(): void }>}
 */
export async function startAgent() {
  installHooks()
  const dir = mkdtempSync(join(tmpdir(), 'sst-ssh-agent-'))
  const sock = join(dir, 'agent.sock')
  let pid
  try {
    // Without a command ssh-agent forks into the background and prints
    // "SSH_AGENT_PID=<pid>; ..." (sh syntax with -s).
    const out = runTool(sshBin('ssh-agent'), ['-s', '-a', sock])
    const match = /SSH_AGENT_PID=(\d+)/.exec(out)
    if (!match) throw new Error(`ssh-agent printed no pid:\n${out}`)
    pid = Number(match[1])
  } catch (err) {
    rmSync(dir, { recursive: true, force: true })
    throw err
  }
  const watchdog = spawn(
    'bash',
    [
      '-c',
      'while kill -0 "$1" 2>/dev/null; do sleep 1; done; ' +
        'if tr "\\0" " " </proc/"$2"/cmdline 2>/dev/null | grep -q ssh-agent; then kill "$2"; fi; rm -rf -- "$3"',
      'ssh-agent-watchdog',
      String(process.pid),
      String(pid),
      dir,
    ],
    { detached: true, stdio: 'ignore' },
  )
  watchdog.unref()
  const agentEnv = () => {
    const env = { ...process.env, SSH_AUTH_SOCK: sock }
    delete env.SSH_ASKPASS
    delete env.DISPLAY
    return env
  }
  let stopped = false
  const agent = {
    sock,
    pid,
    /** ssh-add a private key (no passphrase). */
    add(privatePath) {
      if (stopped) throw new Error('ssh-agent already stopped')
      runTool(sshBin('ssh-add'), [privatePath], { env: agentEnv() })
    },
    /** ssh-add -L: the public keys the agent holds ('' when none). */
    list() {
      const res = spawnSync(sshBin('ssh-add'), ['-L'], { env: agentEnv(), encoding: 'utf8' })
      return res.status === 0 ? res.stdout.trim() : ''
    },
    /** Kill the agent and its watchdog, remove the socket dir. Safe to call repeatedly. */
    stop() {
      if (stopped) return
      stopped = true
      running.delete(agent)
      if (pidMatches(pid, 'ssh-agent')) {
        try {
          process.kill(pid, 'SIGTERM')
        } catch {
          // already gone
        }
      }
      if (watchdog.pid && pidMatches(watchdog.pid, 'ssh-agent-watchdog')) {
        try {
          process.kill(-watchdog.pid, 'SIGKILL') // its own process group (detached)
        } catch {
          // already gone
        }
      }
      rmSync(dir, { recursive: true, force: true })
    },
  }
  running.add(agent)
  return agent
}

function findNssWrapper() {
  const candidates = []
  for (const base of ['/usr/lib', '/usr/lib64', '/lib']) {
    candidates.push(join(base, 'libnss_wrapper.so'))
    try {
      for (const entry of readdirSync(base)) candidates.push(join(base, entry, 'libnss_wrapper.so'))
    } catch {
      // no such dir
    }
  }
  return candidates.find((file) => existsSync(file))
}

/**
 * A fake home for ssh: writes <home>/.ssh/known_hosts (and .ssh/config) and
 * returns the environment variables that make ssh (and git) use it.
 *
 * OpenSSH takes "~" from the passwd entry of the current user, never from
 * $HOME, so HOME alone is not enough: the returned variables preload
 * nss_wrapper (Debian package libnss-wrapper, installed by ssh-server.sh
 * install) with a copy of /etc/passwd in which the current user's home is
 * <home>. Every process started with them (node, git, ssh) sees that home.
 *
 * Put private keys as <home>/.ssh/id_ed25519 etc. with makeKey(join(home, '.ssh')).
 *
 * @param {{ home: string, knownHosts?: string | string[], config?: string, agentSock?: string }} options
 *   knownHosts: line(s) for ~/.ssh/known_hosts (default none: an empty file);
 *   config: contents of ~/.ssh/config (default: no file);
 *   agentSock: SSH_AUTH_SOCK to use (default '': no agent, even if the caller has one).
 * @returns {{ HOME: string, SSH_AUTH_SOCK: string, LD_PRELOAD: string, NSS_WRAPPER_PASSWD: string, NSS_WRAPPER_GROUP: string }}
 *   merge into an environment: { ...process.env, ...sshEnvFor(...) }
 */
export function sshEnvFor({ home, knownHosts = [], config, agentSock } = {}) {
  if (!home || !isAbsolute(home)) throw new Error('sshEnvFor: home must be an absolute path')
  const lib = findNssWrapper()
  if (!lib) throw new Error('libnss_wrapper.so not found (run: bash scripts/ssh-server.sh install)')
  const sshDir = join(home, '.ssh')
  mkdirSync(sshDir, { recursive: true })
  chmodSync(sshDir, 0o700)
  const lines = (Array.isArray(knownHosts) ? knownHosts : [knownHosts]).map((l) => String(l).trim()).filter(Boolean)
  writeFileSync(join(sshDir, 'known_hosts'), lines.length ? `${lines.join('\n')}\n` : '', { mode: 0o644 })
  if (config !== undefined) writeFileSync(join(sshDir, 'config'), config, { mode: 0o600 })

  const { uid, gid } = userInfo()
  const username = currentUser()
  const nssDir = join(home, '.nss-wrapper')
  mkdirSync(nssDir, { recursive: true })
  let found = false
  const passwd = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const fields = line.split(':')
      if (fields.length >= 7 && Number(fields[2]) === uid && !found) {
        found = true
        fields[5] = home
        return fields.join(':')
      }
      return line
    })
  if (!found) passwd.push(`${username}:x:${uid}:${gid}::${home}:/bin/sh`)
  const group = readFileSync('/etc/group', 'utf8').split('\n').filter(Boolean)
  if (!group.some((line) => Number(line.split(':')[2]) === gid)) group.push(`${username}:x:${gid}:`)
  const passwdFile = join(nssDir, 'passwd')
  const groupFile = join(nssDir, 'group')
  writeFileSync(passwdFile, `${passwd.join('\n')}\n`)
  writeFileSync(groupFile, `${group.join('\n')}\n`)

  const preload = process.env.LD_PRELOAD ? `${lib} ${process.env.LD_PRELOAD}` : lib
  return {
    HOME: home,
    SSH_AUTH_SOCK: agentSock ?? '',
    LD_PRELOAD: preload,
    NSS_WRAPPER_PASSWD: passwdFile,
    NSS_WRAPPER_GROUP: groupFile,
  }
}
