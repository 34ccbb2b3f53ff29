// Shared by the action's main and post steps (action.yml). Node built-ins
// only: the runner runs these files as they are in the action's tagged
// checkout, with no npm install. The runner's protocol: inputs arrive as
// INPUT_<NAME> (upper-cased, dashes kept), outputs, state and the step
// summary are appended to the files named by GITHUB_OUTPUT, GITHUB_STATE and
// GITHUB_STEP_SUMMARY; post reads main's state as STATE_<name>.
import { spawn, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { appendFileSync, copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs'
import { dirname, isAbsolute, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const ACTION_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const PACKAGE = 'sst-local-state'

/** An input's value ('' when not given). */
export function input(name) {
  return (process.env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] ?? '').trim()
}

/** The inputs, read once. */
export function inputs() {
  return {
    stage: input('stage'),
    command: input('command'),
    workingDirectory: input('working-directory') || '.',
    ageKey: input('age-key'),
    passphraseMode: input('passphrase-mode'),
    lockTimeout: input('lock-timeout'),
    lockTtl: input('lock-ttl'),
    branch: input('branch'),
    remote: input('remote'),
    requireState: /^(true|yes|1)$/i.test(input('require-state')),
    version: input('version'),
  }
}

/** Appends `name=value` (heredoc form: any value) to the file the runner names in `variable`. */
function appendKeyValue(variable, name, value) {
  const file = process.env[variable]
  if (!file) return
  const delimiter = `ghadelimiter_${randomBytes(12).toString('hex')}`
  appendFileSync(file, `${name}<<${delimiter}\n${value}\n${delimiter}\n`)
}

export const setOutput = (name, value) => appendKeyValue('GITHUB_OUTPUT', name, String(value ?? ''))
export const saveState = (name, value) => appendKeyValue('GITHUB_STATE', name, String(value ?? ''))
export const state = (name) => process.env[`STATE_${name}`] ?? ''

/** A file in the runner's `name<<delimiter` format (GITHUB_OUTPUT, GITHUB_STATE), parsed: the last value of each name. */
export function keyValues(file) {
  const out = {}
  const lines = file && existsSync(file) ? readFileSync(file, 'utf8').split('\n') : []
  for (let i = 0; i < lines.length; i++) {
    const m = lines[i].match(/^([^<=]+)<<(.+)$/)
    if (!m) continue
    const value = []
    for (i++; i < lines.length && lines[i] !== m[2]; i++) value.push(lines[i])
    out[m[1]] = value.join('\n')
  }
  return out
}

/** What this step saved in GITHUB_STATE so far. */
export const readState = () => keyValues(process.env.GITHUB_STATE)

/** Appends Markdown to the job's summary page. */
export function addSummary(markdown) {
  const file = process.env.GITHUB_STEP_SUMMARY
  if (file) appendFileSync(file, markdown.endsWith('\n') ? markdown : `${markdown}\n`)
}

/** A line in the log (stdout: workflow commands go there too). */
export const log = (line) => process.stdout.write(`${line}\n`)
/** An annotation: `::error::` / `::warning::` / `::notice::`. */
export const annotate = (level, message) => log(`::${level}::${String(message).replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A')}`)

/** Has the runner mask every line of `secret` in the log. */
export function mask(secret) {
  for (const line of secret.split(/\r?\n/)) if (line.trim()) log(`::add-mask::${line.trim()}`)
}

/** The project's directory: working-directory in the workspace. */
export function projectDir(inp) {
  const workspace = process.env.GITHUB_WORKSPACE || process.cwd()
  return isAbsolute(inp.workingDirectory) ? inp.workingDirectory : resolve(workspace, inp.workingDirectory)
}

/** The environment of the CLI and the command: no INPUT_* (they hold the key), the key as SST_LOCAL_STATE_AGE_KEY. */
export function childEnv(inp) {
  const env = {}
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('INPUT_')) env[k] = v
  if (inp.ageKey) env.SST_LOCAL_STATE_AGE_KEY = inp.ageKey
  return env
}

// ------------------------------------------------------------ the package --

/** The version of the package the project's lockfile pins ('' when none), and whether it is installed. */
export function lockedVersion(dir) {
  for (let d = dir; ; d = dirname(d)) {
    const lock = join(d, 'package-lock.json')
    if (existsSync(lock)) {
      try {
        const pkg = JSON.parse(readFileSync(lock, 'utf8')).packages?.[`node_modules/${PACKAGE}`]
        if (pkg) return { version: pkg.version ?? '', root: d }
      } catch {
        // not JSON: ignored
      }
    }
    for (const name of ['bun.lock', 'pnpm-lock.yaml', 'yarn.lock']) {
      const file = join(d, name)
      if (!existsSync(file)) continue
      const text = readFileSync(file, 'utf8')
      const m = text.match(new RegExp(`${PACKAGE}@(?:npm:)?(\\d+\\.\\d+\\.\\d+[\\w.+-]*)`))
      if (m) return { version: m[1], root: d }
    }
    if (existsSync(join(d, '.git')) || dirname(d) === d) return { version: '', root: d }
  }
}

/** The CLI script of the installed package below `root` (null when absent). */
function installedCli(root) {
  for (let d = root; ; d = dirname(d)) {
    const pkg = join(d, 'node_modules', PACKAGE, 'package.json')
    if (existsSync(pkg)) {
      const bin = JSON.parse(readFileSync(pkg, 'utf8')).bin
      return join(dirname(pkg), typeof bin === 'string' ? bin : bin[PACKAGE])
    }
    if (existsSync(join(d, '.git')) || dirname(d) === d) return null
  }
}

/** The project's .npmrc (the nearest from `dir` up to the repository's root), or null. */
function projectNpmrc(dir) {
  for (let d = dir; ; d = dirname(d)) {
    if (existsSync(join(d, '.npmrc'))) return join(d, '.npmrc')
    if (existsSync(join(d, '.git')) || dirname(d) === d) return null
  }
}

/**
 * The CLI to run: the project's own when its lockfile has the package and
 * it is installed, else `version` (or the pinned one, else the action's)
 * installed with npm into RUNNER_TEMP (the registry from npm's config:
 * the environment, the user's, and the project's .npmrc, which npm reads
 * from the install prefix, so it is copied there).
 */
export function resolveCli(dir, wanted) {
  const locked = lockedVersion(dir)
  if (locked.version && !wanted) {
    const script = installedCli(dir)
    if (script) return { script, version: locked.version, from: 'the project' }
  }
  const version = wanted || locked.version || JSON.parse(readFileSync(join(ACTION_ROOT, 'package.json'), 'utf8')).version
  const prefix = join(process.env.RUNNER_TEMP || join(dir, '.tmp'), `${PACKAGE}-${version}`)
  let script = installedCli(prefix)
  if (!script) {
    mkdirSync(prefix, { recursive: true })
    const npmrc = projectNpmrc(dir)
    if (npmrc) copyFileSync(npmrc, join(prefix, '.npmrc'))
    log(`installing ${PACKAGE}@${version} into ${prefix}`)
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'
    const res = spawnSync(npm, ['install', '--prefix', prefix, '--no-save', '--no-audit', '--no-fund', '--no-package-lock', `${PACKAGE}@${version}`], {
      stdio: ['ignore', 'inherit', 'inherit'],
      shell: process.platform === 'win32',
    })
    if (res.status !== 0) throw new Error(`npm install ${PACKAGE}@${version} failed (exit ${res.status ?? res.signal})`)
    script = installedCli(prefix)
    if (!script) throw new Error(`npm install ${PACKAGE}@${version} installed no ${PACKAGE} CLI`)
  }
  return { script, version, from: 'npm' }
}

/** Flags every command of the stage takes. */
export function stageFlags(inp) {
  return ['--stage', inp.stage, ...(inp.passphraseMode ? ['--passphrase', inp.passphraseMode] : [])]
}

/**
 * Runs the CLI with `args` in `dir`: stderr streamed to ours as it comes
 * (`onStderr` sees each chunk), stdout streamed line by line except the
 * `--json` result line, which is parsed. Forwards SIGINT and SIGTERM.
 * Resolves to { status, signal, json, stderr }.
 */
export function runCli(script, args, { cwd, env, onStderr = () => {} }) {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [script, ...args], { cwd, env, stdio: ['inherit', 'pipe', 'pipe'] })
    const forward = (signal) => {
      log(`sst-local-state action: ${signal} received: stopping the command; the state is saved after it`)
      child.kill(signal)
    }
    process.on('SIGINT', forward)
    process.on('SIGTERM', forward)
    let json
    let pending = ''
    let stderr = ''
    const line = (text) => {
      if (text.startsWith('{')) {
        try {
          const value = JSON.parse(text)
          if (value && typeof value === 'object' && (value.error || 'exitCode' in value || 'stage' in value)) {
            json = value
            return
          }
        } catch {
          // the command's own output
        }
      }
      process.stdout.write(`${text}\n`)
    }
    child.stdout.on('data', (chunk) => {
      pending += chunk
      const lines = pending.split('\n')
      pending = lines.pop()
      for (const l of lines) line(l)
    })
    child.stderr.on('data', (chunk) => {
      stderr += chunk
      process.stderr.write(chunk)
      onStderr(String(chunk), stderr)
    })
    child.on('error', reject)
    child.on('close', (status, signal) => {
      process.off('SIGINT', forward)
      process.off('SIGTERM', forward)
      if (pending) line(pending)
      resolvePromise({ status, signal, json, stderr })
    })
  })
}

/** `summary --json` for the stage: { markdown, added, removed, changed }, or null when it fails. */
export async function summary(script, inp, dir, env, extra) {
  const res = await runCli(script, ['summary', ...stageFlags(inp), ...(inp.remote ? ['--remote', inp.remote] : []), '--json', ...extra], { cwd: dir, env })
  return res.status === 0 && res.json && typeof res.json.markdown === 'string' ? res.json : null
}

/** The outputs and the step summary of a state change. */
export function reportChange(report) {
  setOutput('resources-added', report ? report.added.length : 0)
  setOutput('resources-removed', report ? report.removed.length : 0)
  setOutput('resources-changed', report ? report.changed.length : 0)
  if (report) addSummary(report.markdown)
}
