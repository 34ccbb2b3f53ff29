// The action's main step: under the stage lock, prepare, run the command
// (its output streamed to the log), commit and release the lock, all by
// `sst-local-state run`; with no command, `prepare --lock` only (the post
// step commits and releases). Progress is recorded in GITHUB_STATE so that
// post saves the state when this step was cancelled or killed half-way.
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

import {
  addSummary,
  annotate,
  childEnv,
  inputs,
  log,
  mask,
  projectDir,
  readState,
  reportChange,
  resolveCli,
  runCli,
  saveState,
  setOutput,
  stageFlags,
  summary,
} from './lib.mjs'

/** The command as words when it is plain words, else through the shell. */
function commandArgv(command) {
  if (/^[\w@%+=:,./-]+( +[\w@%+=:,./-]+)*$/.test(command)) return command.split(/ +/)
  return [process.platform === 'win32' ? 'bash' : 'sh', '-c', command]
}

function lockFlags(inp) {
  return [
    ...(inp.lockTimeout ? ['--lock-timeout', inp.lockTimeout] : []),
    ...(inp.lockTtl ? ['--lock-ttl', inp.lockTtl] : []),
    ...(inp.remote ? ['--remote', inp.remote] : []),
    ...(inp.branch ? ['--branch', inp.branch] : []),
  ]
}

/** The lock could not be had, or the run failed before its command: outputs, and the step fails. */
function refused(error) {
  if (error.code === 'LOCK_HELD') setOutput('lock-holder', error.holder || error.runUrl || '')
  annotate('error', `sst-local-state ${error.code}: ${error.message}`)
  addSummary(`### sst-local-state: ${error.code}\n\n${error.message}\n`)
}

async function deploy(inp, cli, dir, env) {
  if (inp.requireState) {
    const shown = await runCli(cli.script, ['show', ...stageFlags(inp), '--json'], { cwd: dir, env })
    if (shown.status !== 0) {
      refused(shown.json?.error ?? { code: 'STATE_MISSING', message: 'the repository holds no state of the stage' })
      return 1
    }
  }
  saveState('phase', 'started')
  const wrapper = join(dirname(fileURLToPath(import.meta.url)), 'command.mjs')
  const res = await runCli(cli.script, ['run', ...stageFlags(inp), '--json', ...lockFlags(inp), '--', process.execPath, wrapper, ...commandArgv(inp.command)], { cwd: dir, env })
  const commandStarted = readState().phase === 'command'
  const exitCode = res.json?.exitCode
  if (exitCode !== undefined) setOutput('exit-code', exitCode)
  if (res.json && !res.json.error) {
    saveState('done', 'true')
    const commit = res.json.commit
    setOutput('state-commit', commit.commit ?? '')
    setOutput('changed', Boolean(commit.committed))
    const extra = ['--run-command', inp.command, '--exit-code', String(exitCode), '--lock-wait-ms', String(res.json.prepare?.lock?.waitedMs ?? 0)]
    reportChange(await summary(cli.script, inp, dir, env, [...(commit.commit ? ['--rev', commit.commit] : ['--unchanged']), ...extra]))
    log(`sst-local-state action: the command exited with ${exitCode}; ${commit.commit ? `state commit ${commit.commit}` : 'the state did not change'}; the lock is released`)
    if (exitCode !== 0) annotate('error', `the command exited with ${exitCode} (its state is saved)`)
    return exitCode
  }
  const error = res.json?.error ?? { code: 'FAILED', message: `sst-local-state run ended with ${res.status ?? res.signal}` }
  setOutput('changed', false)
  if (error.rescueBranch) {
    saveState('done', 'true')
    setOutput('rescue-branch', error.rescueBranch)
    annotate('error', `sst-local-state ${error.code}: the state is on the rescue branch ${error.rescueBranch}`)
    addSummary(`### sst-local-state: ${inp.stage}\n\n${error.code}: the state is on the rescue branch \`${error.rescueBranch}\`.\n`)
    return res.status || 1
  }
  if (!commandStarted) {
    // nothing ran: run released what it took
    saveState('done', 'true')
    refused(error)
    return res.status || 1
  }
  annotate('error', `sst-local-state ${error.code}: ${error.message} (the post step tries to save the state again)`)
  return res.status || 1
}

async function prepareOnly(inp, cli, dir, env) {
  saveState('phase', 'started')
  const res = await runCli(cli.script, ['prepare', ...stageFlags(inp), '--lock', '--json', ...lockFlags(inp), ...(inp.requireState ? ['--require-state'] : [])], { cwd: dir, env })
  if (res.status !== 0 || !res.json || res.json.error) {
    saveState('done', 'true') // a refused prepare releases the lock it took
    refused(res.json?.error ?? { code: 'FAILED', message: `sst-local-state prepare ended with ${res.status ?? res.signal}` })
    return res.status || 1
  }
  saveState('phase', 'prepared')
  log(`sst-local-state action: prepared ${inp.stage} under the stage lock; the post step saves the state and releases the lock`)
  return 0
}

async function main() {
  const inp = inputs()
  if (inp.ageKey) mask(inp.ageKey)
  if (!inp.stage) throw new Error('the input `stage` is required')
  const dir = projectDir(inp)
  const cli = resolveCli(dir, inp.version)
  log(`sst-local-state action: using sst-local-state ${cli.version} from ${cli.from}`)
  saveState('cli', cli.script)
  const env = childEnv(inp)
  return inp.command ? deploy(inp, cli, dir, env) : prepareOnly(inp, cli, dir, env)
}

main().then(
  (code) => {
    process.exitCode = code
  },
  (err) => {
    annotate('error', err?.message ?? err)
    process.exitCode = 1
  },
)
