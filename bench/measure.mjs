// Measurement helpers for bench/run.mjs: whole processes under a wrapper
// that reports wall time, CPU time and peak RSS (bench/rusage.py, else GNU
// /usr/bin/time), in-process calls, and round-robin rounds so that every
// figure is paired with its baselines in the same run.
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, readFileSync, rmSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const TIME_BIN = '/usr/bin/time'
const RUSAGE_PY = join(dirname(fileURLToPath(import.meta.url)), 'rusage.py')

/**
 * The wrapper used for whole processes: { kind: 'python', bin } (bench/rusage.py,
 * precise: the clock excludes the wrapper's own start-up) or { kind: 'time' }
 * (GNU time: wall measured around the spawn, CPU time in 10 ms steps).
 * The real interpreter is resolved once so that no pyenv-style shim runs per call.
 */
export const WRAPPER = (() => {
  try {
    const bin = execFileSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()
    if (bin && existsSync(bin)) return { kind: 'python', bin }
  } catch {
    // no python3
  }
  if (existsSync(TIME_BIN)) return { kind: 'time', bin: TIME_BIN }
  return null
})()

let seq = 0

/**
 * Runs argv once under the wrapper and returns
 * { ms, cpuMs, rssKb, status, stdout, stderr }; throws when the exit status
 * is not in `okStatus`. cpuMs is user + system time of the process and of
 * every descendant it waited for; rssKb the largest single process's peak.
 */
export function runProcess(argv, { cwd, env, tmp, timeout = 600_000, okStatus = [0] }) {
  if (!WRAPPER) throw new Error('need python3 or /usr/bin/time to measure processes')
  const outFile = join(tmp, `usage-${process.pid}-${seq++}.txt`)
  const wrapped =
    WRAPPER.kind === 'python'
      ? [WRAPPER.bin, [RUSAGE_PY, outFile, ...argv]]
      : [WRAPPER.bin, ['-f', '%e %U %S %M', '-o', outFile, ...argv]]
  const t0 = process.hrtime.bigint()
  const res = spawnSync(wrapped[0], wrapped[1], {
    cwd,
    env,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 64 * 1024 * 1024,
    timeout,
    killSignal: 'SIGKILL',
  })
  const outerMs = Number(process.hrtime.bigint() - t0) / 1e6
  let usage = []
  try {
    const lines = readFileSync(outFile, 'utf8').trim().split('\n')
    usage = lines[lines.length - 1].trim().split(/\s+/).map(Number)
  } catch {
    // reported below through the exit status
  }
  rmSync(outFile, { force: true })
  if (res.error) throw res.error
  if (!okStatus.includes(res.status)) {
    throw new Error(`${argv.join(' ')} (in ${cwd}) exited ${res.status ?? res.signal}:\n${res.stdout}${res.stderr}`)
  }
  const [wall, user, sys, rssKb] = usage
  const python = WRAPPER.kind === 'python'
  return {
    ms: python ? wall : outerMs,
    cpuMs: python ? user + sys : (user + sys) * 1000,
    rssKb,
    status: res.status,
    stdout: res.stdout,
    stderr: res.stderr,
  }
}

/** Times an in-process async call: { ms, cpuMs } (cpuMs: this process, all threads). */
export async function timeCall(fn) {
  const c0 = process.cpuUsage()
  const t0 = process.hrtime.bigint()
  const value = await fn()
  const ms = Number(process.hrtime.bigint() - t0) / 1e6
  const c = process.cpuUsage(c0)
  return { ms, cpuMs: (c.user + c.system) / 1000, value }
}

/** Median, min, max of numbers. */
export function stats(values) {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b)
  if (v.length === 0) return { median: NaN, min: NaN, max: NaN, n: 0 }
  const mid = Math.floor(v.length / 2)
  const median = v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2
  return { median, min: v[0], max: v[v.length - 1], n: v.length }
}

/**
 * Measures several methods round-robin: one warm-up round (discarded), then
 * `runs` rounds; in each round every method runs once, after its own
 * untimed setup and before its untimed verify. The order rotates each round.
 *
 * method: { key, label, setup?(), run() -> { ms, cpuMs?, rssKb? } | Promise, verify?(result) }
 * Returns { [key]: { label, ms, cpuMs, rssKb (stats), samples, cpu, rss (raw) } }.
 */
export async function rounds(methods, runs, { onRound } = {}) {
  const out = Object.fromEntries(methods.map((m) => [m.key, { label: m.label, samples: [], cpu: [], rss: [] }]))
  for (let round = 0; round <= runs; round++) {
    const order = methods.map((_, i) => methods[(i + round) % methods.length])
    for (const m of order) {
      if (m.setup) await m.setup()
      const r = await m.run()
      if (m.verify) await m.verify(r)
      if (round > 0) {
        out[m.key].samples.push(r.ms)
        if (r.cpuMs !== undefined) out[m.key].cpu.push(r.cpuMs)
        if (r.rssKb !== undefined) out[m.key].rss.push(r.rssKb)
      }
    }
    if (onRound) onRound(round)
  }
  for (const key of Object.keys(out)) {
    out[key].ms = stats(out[key].samples)
    out[key].cpuMs = stats(out[key].cpu)
    out[key].rssKb = stats(out[key].rss)
  }
  return out
}
