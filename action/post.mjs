// The action's post step (post-if: always()): when main did not finish its
// own commit (the job was cancelled or timed out and main was stopped
// half-way, or there was no command and the job's own steps deployed),
// saves whatever state SST left: `commit` in the checkout that holds the
// lock pushes it and releases the lock in one push; a conflict or a lost
// lock puts it on a rescue branch. Says which. Does nothing when main saved.
import { existsSync } from 'node:fs'

import { addSummary, annotate, childEnv, inputs, log, projectDir, reportChange, resolveCli, runCli, setOutput, stageFlags, state, summary } from './lib.mjs'

/**
 * main stopped before its command started: nothing was deployed, so nothing
 * is committed (the config dir may hold an older run's checkpoint); the lock
 * this checkout took is released.
 */
async function releaseOnly(script, inp, dir, env, place) {
  const res = await runCli(script, ['unlock', ...stageFlags(inp), '--json', ...place], { cwd: dir, env })
  const report = res.json
  if (res.status === 0 && report && !report.error) {
    const what = report.released ? 'released the stage lock' : 'this checkout held no stage lock'
    log(`sst-local-state action: the command never started: nothing was deployed; ${what}`)
    addSummary(`### sst-local-state: ${inp.stage}\n\nThe command never started: nothing was deployed; ${what}.\n`)
    return 0
  }
  const error = report?.error ?? { code: 'FAILED', message: `sst-local-state unlock ended with ${res.status ?? res.signal}` }
  if (error.code === 'LOCK_NOT_HELD') {
    // another run's lock (main was still waiting for it), or ours taken but not recorded
    log(`sst-local-state action: the command never started: nothing was deployed; ${error.message}`)
    return 0
  }
  annotate('error', `sst-local-state ${error.code}: the command never started, but the stage lock could not be released: ${error.message}`)
  return 1
}

async function post() {
  const phase = state('phase')
  if (state('done') === 'true') {
    log('sst-local-state action: nothing to do (main saved the state and released the lock)')
    return 0
  }
  if (!phase) {
    log('sst-local-state action: nothing to do (main took no lock)')
    return 0
  }
  const inp = inputs()
  const dir = projectDir(inp)
  const env = childEnv(inp)
  const script = existsSync(state('cli')) ? state('cli') : resolveCli(dir, inp.version).script
  const place = [...(inp.remote ? ['--remote', inp.remote] : [])]
  if (phase === 'started') return releaseOnly(script, inp, dir, env, place)
  log(`sst-local-state action: main did not finish (${phase === 'prepared' ? 'prepare only' : `stopped at ${phase}`}): saving the state`)
  const res = await runCli(script, ['commit', ...stageFlags(inp), '--json', ...place, ...(inp.branch ? ['--branch', inp.branch] : [])], { cwd: dir, env })
  const report = res.json
  if (res.status === 0 && report && !report.error) {
    setOutput('state-commit', report.commit ?? '')
    setOutput('changed', Boolean(report.committed))
    reportChange(await summary(script, inp, dir, env, report.commit ? ['--rev', report.commit] : ['--unchanged']))
    log(`sst-local-state action: ${report.commit ? `saved the state as ${report.commit}` : 'the state did not change'}; ${report.lockReleased ? 'released the stage lock' : 'no stage lock was held here'}`)
    return 0
  }
  const error = report?.error ?? { code: 'FAILED', message: `sst-local-state commit ended with ${res.status ?? res.signal}` }
  if (error.rescueBranch) {
    setOutput('rescue-branch', error.rescueBranch)
    setOutput('changed', false)
    annotate('error', `sst-local-state ${error.code}: the state was pushed to the rescue branch ${error.rescueBranch}`)
    addSummary(`### sst-local-state: ${inp.stage}\n\n${error.code}: the state is on the rescue branch \`${error.rescueBranch}\`.\n`)
    return 1
  }
  annotate('error', `sst-local-state ${error.code}: ${error.message} (the stage lock stays held so that no other run deploys from an older state: run \`sst-local-state commit\` in a checkout, or \`unlock --force\`)`)
  return 1
}

post().then(
  (code) => {
    process.exitCode = code
  },
  (err) => {
    annotate('error', err?.message ?? err)
    process.exitCode = 1
  },
)
