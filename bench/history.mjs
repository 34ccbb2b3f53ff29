// The history row of the benchmark: `sst-local-state history` and
// `stageHistory()` over a repository of 10,000 commits (one in 20 a state
// commit of one of 3 stages, the rest monorepo work), against
// `git log --format=%H -- <the stage's paths>` in the same run. The
// repository is written with `git fast-import` (seconds).
import { closeSync, mkdirSync, openSync, writeFileSync, writeSync } from 'node:fs'
import { join } from 'node:path'

import { rounds, runProcess, timeCall } from './measure.mjs'
import { APP, SST_CONFIG_TS, fastImport, git } from './repos.mjs'

export const HISTORY_COMMITS = 10000
const STAGES = ['dev', 'prod', 'staging']
const STATE_EVERY = 20

function checkpointOf(stage, n) {
  const resources = []
  for (let j = n; j < n + 40; j++) {
    resources.push({ urn: `urn:pulumi:${stage}::${APP}::sst:aws:Function::f${j}`, type: 'sst:aws:Function', inputs: { handler: `src/f${j}.handler` }, outputs: { arn: `arn:aws:lambda:us-east-1:123456789012:function:f${j}`, version: j === n + 20 ? n : 0 } })
  }
  return JSON.stringify({ version: 3, checkpoint: { stack: `organization/${APP}/${stage}`, latest: { resources } } }, null, 2)
}

/** A non-bare repository at `dir` with `commits` commits on main; returns the number of state commits of `stage`. */
export function historyRepo(dir, { commits = HISTORY_COMMITS, stage = 'dev', env, tmp }) {
  mkdirSync(dir, { recursive: true })
  git(['init', '-q', '-b', 'main', dir], { env })
  const streamFile = join(tmp, 'history-fast-import.stream')
  const fd = openSync(streamFile, 'w')
  const write = (s) => writeSync(fd, s)
  const data = (s) => {
    const buf = Buffer.from(s)
    write(`data ${buf.length}\n`)
    writeSync(fd, buf)
    write('\n')
  }
  const when = 1735689600 // 2025-01-01
  let ofStage = 0
  const steps = Object.fromEntries(STAGES.map((s) => [s, 0]))
  for (let i = 0; i < commits; i++) {
    const t = when + i * 60
    let msg = `feat: change ${i}\n`
    const files = []
    if (i === 0) {
      files.push(['sst.config.ts', SST_CONFIG_TS], ['package.json', `{ "name": "${APP}", "private": true }\n`])
    } else if (i % STATE_EVERY === 0) {
      const s = STAGES[(i / STATE_EVERY) % STAGES.length]
      const n = ++steps[s]
      if (s === stage) ofStage++
      msg = `chore(sst-state): ${APP}/${s} deploy [skip ci]\n\nSST-App: ${APP}\nSST-Stage: ${s}\nSST-Update-Id: ${(0xffffffff - i).toString(16).padStart(24, '0')}\nSST-Command: deploy\nSST-Resources: 40 -> 40\n`
      files.push([`infra/state/app/${s}.json`, checkpointOf(s, n)])
    } else {
      files.push([`packages/pkg-${i % 40}/src/d${i % 7}/file-${i % 25}.ts`, `export const v = ${i};\n`])
    }
    write(`commit refs/heads/main\nauthor Dev <dev@example.com> ${t} +0000\ncommitter Dev <dev@example.com> ${t} +0000\n`)
    data(msg)
    for (const [path, content] of files) {
      write(`M 100644 inline ${path}\n`)
      data(content)
    }
  }
  write('done\n')
  closeSync(fd)
  fastImport(dir, streamFile, env)
  git(['checkout', '-q', '-f', 'main'], { cwd: dir, env })
  writeFileSync(join(dir, '.git', 'info', 'exclude'), 'node_modules\n')
  return ofStage
}

/** The history section: { results, commits, entries }. */
export async function historySection({ lib, cli, work, tmp, env, runs }) {
  const dir = join(work, 'history-repo')
  const stage = 'dev'
  const expected = historyRepo(dir, { stage, env, tmp })
  const paths = ['app', 'passphrase', 'passphrase', 'secret'].map((k, i) => `infra/state/${k}/${stage}.${i === 1 ? 'age' : 'json'}`)
  const count = (r, n) => {
    if (n !== expected) throw new Error(`${r}: ${n} entries, expected ${expected}`)
  }
  const tag = `h${HISTORY_COMMITS}`
  const results = await rounds(
    [
      {
        key: `tool:${tag}`,
        label: 'sst-local-state history --json (whole process)',
        run: () => runProcess([cli, 'history', '--stage', stage, '--json'], { cwd: dir, env, tmp }),
        verify: (r) => count('history', JSON.parse(r.stdout).entries.length),
      },
      {
        key: `inproc:${tag}`,
        label: 'stageHistory() in-process',
        run: async () => {
          const r = await timeCall(() => lib.stageHistory({ stage, cwd: dir }))
          count('stageHistory()', r.value.entries.length)
          return r
        },
      },
      {
        key: `git:${tag}`,
        label: '`git log --format=%H -- <paths>` (baseline)',
        run: () => runProcess(['git', 'log', '--format=%H', '--', ...paths], { cwd: dir, env, tmp }),
        verify: (r) => count('git log', r.stdout.trim().split('\n').filter(Boolean).length),
      },
    ],
    runs,
  )
  return { results, commits: HISTORY_COMMITS, entries: expected }
}
