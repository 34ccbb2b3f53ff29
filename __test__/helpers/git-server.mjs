// Real smart-HTTP git server (nginx + fcgiwrap + git-http-backend) for tests.
// Works under `node --test` and `bun test`. See scripts/git-server.sh.
//
//   const server = await startGitServer()
//   const repo = server.newRepo('state')
//   repo.open   -> http://127.0.0.1:PORT/open/state.git    (no auth)
//   repo.basic  -> http://127.0.0.1:PORT/basic/state.git   (user x-access-token, password server.token)
//   repo.bearer -> http://127.0.0.1:PORT/bearer/state.git  (Authorization: Bearer <server.token>)
//   repo.path   -> bare repository on disk
//   server.stop()
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const SCRIPT = resolve(dirname(fileURLToPath(import.meta.url)), '../../scripts/git-server.sh')

const running = new Set()
let hooksInstalled = false

function run(args, env = {}) {
  const res = spawnSync('bash', [SCRIPT, ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  if (res.error) throw res.error
  if (res.status !== 0) {
    throw new Error(
      `git-server.sh ${args[0]} failed (exit ${res.status ?? res.signal}):\n${res.stderr}${res.stdout}`,
    )
  }
  return res.stdout.trim()
}

function stopAll() {
  for (const server of [...running]) {
    try {
      server.stop()
    } catch {
      // best effort during shutdown
    }
  }
}

function installHooks() {
  if (hooksInstalled) return
  hooksInstalled = true
  process.on('exit', stopAll)
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.once(signal, () => {
      stopAll()
      // our listener was removed by once(): re-raise for the default behaviour
      process.kill(process.pid, signal)
    })
  }
}

/** Base64 of "x-access-token:<token>", for `Authorization: basic ...`. */
export function basicAuth(token, user = 'x-access-token') {
  return Buffer.from(`${user}:${token}`).toString('base64')
}

/**
 * Start a server in a fresh temp dir with a random token.
 * @param {{ install?: boolean }} [options] install: run `git-server.sh install` first (default true; fast when installed)
 */
export async function startGitServer({ install = true } = {}) {
  if (install) run(['install'])
  installHooks()
  const root = mkdtempSync(join(tmpdir(), 'sst-git-server-'))
  const token = randomBytes(20).toString('hex')
  let url
  try {
    // The watchdog stops the server (and deletes root) should this process die
    // without running exit hooks (e.g. SIGKILL).
    url = run(['start', root], {
      GIT_TEST_TOKEN: token,
      GIT_SERVER_WATCH_PID: String(process.pid),
      GIT_SERVER_WATCH_RM_ROOT: '1',
    })
  } catch (err) {
    rmSync(root, { recursive: true, force: true })
    throw err
  }
  const port = Number(new URL(url).port)
  const authority = url.replace(/^http:\/\//, '')
  let stopped = false

  const server = {
    url,
    port,
    root,
    token,
    /** Value for `Authorization: basic <...>` (also `http.extraheader`). */
    basicHeader: `basic ${basicAuth(token)}`,
    /** Value for `Authorization: bearer <...>`. */
    bearerHeader: `bearer ${token}`,
    /** Create a bare repo (branch main, pushes allowed) and return its URLs. */
    newRepo(name) {
      if (stopped) throw new Error('git server already stopped')
      const path = run(['new-repo', root, name])
      const rel = `${name.replace(/\.git$/, '')}.git`
      return {
        name,
        path,
        open: `${url}/open/${rel}`,
        basic: `${url}/basic/${rel}`,
        bearer: `${url}/bearer/${rel}`,
        /** Basic with the token embedded in the URL, GitHub Actions style. */
        basicWithToken: `http://x-access-token:${token}@${authority}/basic/${rel}`,
      }
    },
    /** Stop nginx + fcgiwrap and delete the temp dir. Safe to call repeatedly. */
    stop() {
      if (stopped) return
      stopped = true
      running.delete(server)
      try {
        run(['stop', root])
      } finally {
        rmSync(root, { recursive: true, force: true })
      }
    },
  }
  running.add(server)
  return server
}
