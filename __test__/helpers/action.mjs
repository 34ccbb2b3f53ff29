// The GitHub Action's test harness (action/main.mjs and post.mjs run as the
// runner runs a JavaScript action): a job on a fresh runner with a checkout
// of a repository on the local git server, and a deploy script standing in
// for SST. Used by __test__/action*.test.mjs.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

import { BASE_ENV, assertOk, cli, git, gitOk, tempDir } from './common.mjs'
import { REPO_ROOT } from './sst.mjs'
import { keyValues } from '../../action/lib.mjs'
import { showBlob } from './state-repo.mjs'

export const LOCK = 'refs/heads/sst-local-state/lock/demo-app/dev'
const MAIN = join(REPO_ROOT, 'action', 'main.mjs')
const POST = join(REPO_ROOT, 'action', 'post.mjs')

/**
 * A deploy: adds resource `name` to the checkpoint at once (SST writes as it
 * goes), sleeps `sleep` ms (or, when `sleep` is a path, until that file
 * exists), exits `code`.
 */
export function deployScript() {
  const script = join(tempDir('sls-action-script-'), 'deploy.mjs')
  writeFileSync(
    script,
    `import { existsSync, readFileSync, writeFileSync } from 'node:fs'
const [file, name, code = '0', sleep = '200'] = process.argv.slice(2)
const state = JSON.parse(readFileSync(file, 'utf8'))
state.checkpoint.latest.resources.push({ urn: 'urn:pulumi:dev::demo-app::sst:aws:Bucket$aws:s3/bucketV2:BucketV2::' + name, custom: true, type: 'aws:s3/bucketV2:BucketV2', id: name })
writeFileSync(file, JSON.stringify(state, null, 2))
console.log('deploying ' + name)
if (Number.isNaN(Number(sleep))) while (!existsSync(sleep)) await new Promise((r) => setTimeout(r, 50))
else await new Promise((r) => setTimeout(r, Number(sleep)))
console.log('deployed ' + name)
process.exit(Number(code))
`,
  )
  return script
}

export const resourcesOnBranch = (repo, rev = 'main') => JSON.parse(showBlob(repo.path, rev).toString()).checkpoint.latest.resources.map((r) => r.urn.split('::').pop())
export const lockOnServer = (repo) => {
  const res = git(['--git-dir', repo.path, 'rev-parse', '--verify', '-q', LOCK])
  return res.status === 0 ? res.stdout.trim() : null
}
export const stateCommits = (repo) => gitOk(['--git-dir', repo.path, 'log', '--format=%s', 'main']).split('\n').filter((s) => s.startsWith('chore(sst-state)')).length

/**
 * One job on a fresh runner: a checkout as actions/checkout makes it, the
 * package installed in the project (`installed: false`: not installed, and
 * the project's lockfile lacks it), its own HOME (so its own SST config dir)
 * and runner files; `env`: more of the runner's environment. main(inputs) /
 * post() run the entries.
 */
export async function job(repo, name, server, { installed = true, env = {} } = {}) {
  const root = tempDir('sls-action-job-')
  const workspace = join(root, 'work', 'app')
  const temp = join(root, 'runner-temp')
  const home = join(root, 'home')
  for (const d of [workspace, temp, home]) mkdirSync(d, { recursive: true })
  const origin = repo.basic
  gitOk(['init', '-q'], workspace)
  gitOk(['remote', 'add', 'origin', origin], workspace)
  gitOk(['config', '--local', `http.${server.url}/.extraheader`, `AUTHORIZATION: ${server.basicHeader}`], workspace)
  gitOk(['-c', 'protocol.version=2', 'fetch', '--no-tags', '--prune', '--no-recurse-submodules', '--depth=1', 'origin', '+refs/heads/main:refs/remotes/origin/main'], workspace)
  gitOk(['checkout', '-q', '--force', '-B', 'main', 'refs/remotes/origin/main'], workspace)
  const version = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')).version
  const locked = {}
  if (installed) {
    mkdirSync(join(workspace, 'node_modules'))
    symlinkSync(REPO_ROOT, join(workspace, 'node_modules', 'sst-local-state'), 'junction')
    locked['node_modules/sst-local-state'] = { version }
  }
  writeFileSync(join(workspace, 'package-lock.json'), JSON.stringify({ name: 'demo-app', lockfileVersion: 3, packages: { '': { name: 'demo-app' }, ...locked } }))
  const files = { output: join(temp, 'output'), state: join(temp, 'state'), summary: join(temp, 'summary') }
  const runnerEnv = {
    ...BASE_ENV,
    HOME: home,
    XDG_CONFIG_HOME: join(home, '.config'),
    CI: 'true',
    GITHUB_ACTIONS: 'true',
    GITHUB_WORKSPACE: workspace,
    GITHUB_OUTPUT: files.output,
    GITHUB_STATE: files.state,
    GITHUB_STEP_SUMMARY: files.summary,
    GITHUB_SERVER_URL: server.url,
    GITHUB_REPOSITORY: `basic/${repo.name}`,
    GITHUB_REF: 'refs/heads/main',
    GITHUB_REF_NAME: 'main',
    GITHUB_REF_TYPE: 'branch',
    GITHUB_EVENT_NAME: 'push',
    GITHUB_SHA: gitOk(['rev-parse', 'HEAD'], workspace).trim(),
    GITHUB_RUN_ID: String(Math.floor(Math.random() * 1e9)),
    GITHUB_RUN_ATTEMPT: '1',
    GITHUB_WORKFLOW: 'Deploy',
    GITHUB_JOB: name,
    RUNNER_TEMP: temp,
    RUNNER_OS: 'Linux',
    ...env,
  }
  const configDir = JSON.parse(assertOk(cli(['config-dir', '--json'], workspace, runnerEnv), 'config-dir').stdout).configDir
  const checkpoint = join(configDir, 'state', 'app', 'demo-app', 'dev.json')
  let inputs = {}
  const inputEnv = () => Object.fromEntries(Object.entries(inputs).map(([k, v]) => [`INPUT_${k.toUpperCase()}`, v]))
  /** Runs `entry` with `given` inputs (none: the last ones, as post gets main's). */
  const start = (entry, extraEnv = {}, given = undefined) => {
    if (given) inputs = given
    const child = spawn(process.execPath, [entry], { cwd: workspace, env: { ...runnerEnv, ...inputEnv(), ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    const done = new Promise((resolve) => child.on('close', (status, signal) => resolve({ status, signal, stdout, stderr })))
    return { child, done }
  }
  return {
    workspace,
    env: runnerEnv,
    files,
    checkpoint,
    outputs: () => keyValues(files.output),
    state: () => keyValues(files.state),
    summary: () => (existsSync(files.summary) ? readFileSync(files.summary, 'utf8') : ''),
    /** Starts main with these inputs (stage dev unless given). */
    main(given) {
      return start(MAIN, {}, { stage: 'dev', ...given })
    },
    /**
     * Starts main with a deploy that adds resource `name`, then waits until
     * `sleep` (ms, or a file's path) has passed; resolves to main's
     * { child, done } once the command has started and written its resource.
     */
    async deploying(name, sleep = '60000') {
      const running = start(MAIN, {}, { stage: 'dev', command: `node ${deployScript()} ${checkpoint} ${name} 0 ${sleep}` })
      const started = () => keyValues(files.state).phase === 'command' && existsSync(checkpoint) && readFileSync(checkpoint, 'utf8').includes(name)
      assert.ok(await waitUntil(started), 'the command did not start')
      return running
    },
    /** Runs post as the runner does: main's inputs (or `given`, when main did not run here), main's state as STATE_<name>. */
    post(given) {
      const state = Object.fromEntries(Object.entries(keyValues(files.state)).map(([k, v]) => [`STATE_${k}`, v]))
      return start(POST, state, given && { stage: 'dev', ...given }).done
    },
  }
}

export const show = (res) => `exit ${res.status} ${res.signal ?? ''}\n--- stdout\n${res.stdout}\n--- stderr\n${res.stderr}`

export async function waitUntil(check, ms = 30_000) {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 100))) if (check()) return true
  return false
}

