// Where the time of one `sst-local-state prepare` goes, from the outside:
// the release build is stripped and src/ is not instrumented, so the whole
// process runs under `strace -f -ttt -T` (traced: file syscalls only, with
// seccomp-bpf so untraced syscalls do not stop the process) and the phases
// are cut at landmarks every prepare passes through in order:
//
//   exec ........... open of the .node addon        node start: node, cli.js, index.js
//   ... first open of infra/state/*                 addon loaded, project root found,
//                                                   sst.config.ts parsed, names checked
//   ... close of infra/state/app/<stage>.json       read: the repository's state files
//   ... open of sst-local-state/synced/*            check: checkpoint JSON, passphrases,
//                                                   secrets (and blob ids if hashed alongside)
//   ... open of <config>/state/lock/*               plan: blob ids, config-dir comparison;
//                                                   libgit2's global init (OpenSSL, CA
//                                                   bundle), if triggered, shown apart
//   ... first file created                          SST lock check
//   ... last rename/fsync                           write: temp file, write, fsync, rename
//                                                   (write and fsync syscall time shown apart)
//   ... exit                                        exit: result to JS, node teardown
//
// The labels say what the code did between two landmarks when this was
// written; the landmarks themselves are what is measured.
import { spawnSync } from 'node:child_process'
import { mkdirSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'

import { stats } from './measure.mjs'

function hasStrace() {
  const r = spawnSync('strace', ['-V'], { stdio: 'ignore' })
  return r.status === 0
}

function parse(text) {
  // "<pid> <ts> <call>(<args>) = <ret> <dur>" or unfinished/resumed pairs
  const events = []
  const pending = new Map()
  for (const line of text.split('\n')) {
    const m = /^(\d+)\s+(\d+\.\d+)\s+(.*)$/.exec(line)
    if (!m) continue
    const [, pid, tsText, rest] = m
    const ts = Number(tsText)
    if (rest.startsWith('+++') || rest.startsWith('---')) {
      events.push({ pid, ts, call: 'exit', args: rest, ret: '', dur: 0 })
      continue
    }
    let call
    let args
    let tail
    const resumed = /^<\.\.\. (\w+) resumed>(.*)$/.exec(rest)
    if (resumed) {
      const start = pending.get(pid)
      pending.delete(pid)
      if (!start) continue
      call = start.call
      args = start.args + resumed[2]
      tail = resumed[2]
      const r = /=\s*(-?\w+)(?:[^<]*)<([\d.]+)>\s*$/.exec(tail)
      events.push({ pid, ts: start.ts, call, args, ret: r ? r[1] : '?', dur: r ? Number(r[2]) : 0 })
      continue
    }
    const c = /^(\w+)\((.*)$/.exec(rest)
    if (!c) continue
    call = c[1]
    if (/<unfinished \.\.\.>\s*$/.test(rest)) {
      pending.set(pid, { call, args: c[2].replace(/<unfinished \.\.\.>\s*$/, ''), ts })
      continue
    }
    const r = /=\s*(-?\w+|\?)(?:[^<]*)(?:<([\d.]+)>)?\s*$/.exec(rest)
    events.push({ pid, ts, call, args: c[2], ret: r ? r[1] : '?', dur: r && r[2] ? Number(r[2]) : 0 })
  }
  return events.sort((a, b) => a.ts - b.ts)
}

function phases(events, { stage }) {
  const t0 = events[0].ts
  const find = (pred, from = 0) => {
    for (let i = from; i < events.length; i++) if (pred(events[i])) return i
    return -1
  }
  const opens = (e, re) => e.call === 'openat' && re.test(e.args)
  const iAddon = find((e) => opens(e, /\.node"/))
  const iState = find((e) => opens(e, /\/infra\/state\//))
  const iApp = find((e) => opens(e, new RegExp(`/infra/state/app/${stage}\\.json"`)))
  const appFd = iApp >= 0 ? events[iApp].ret : null
  const iClose = find((e) => e.call === 'close' && e.pid === events[iApp].pid && e.args.startsWith(`${appFd})`), iApp + 1)
  const iMarker = find((e) => opens(e, /\/sst-local-state\/synced\//), iClose)
  // read_sst_lock() runs right after the plan loop (hashes, config-dir checks)
  const iLock = find((e) => opens(e, /\/state\/lock\//), iMarker)
  const iWrite = find((e) => e.call === 'openat' && /O_CREAT/.test(e.args), iLock)
  // libgit2's global init on the first git2 call loads OpenSSL and the system
  // CA bundle (openssl.cnf, /dev/urandom, ca-certificates): shown apart
  let tlsInit = 0
  const tlsOpen = /(openssl\.cnf|\/dev\/urandom|ca-certificates|\/certs\/|cert\.pem)/
  const caOpen = /(ca-certificates|\/certs\/|cert\.pem)/
  const iTls = find((e) => opens(e, tlsOpen), iMarker)
  if (iTls >= 0 && iTls < iLock) {
    let endTs = events[iTls].ts + events[iTls].dur
    for (let i = iTls; i < iLock; i++) {
      if (!opens(events[i], caOpen)) continue
      const c = find((e) => e.call === 'close' && e.pid === events[i].pid && e.args.startsWith(`${events[i].ret})`), i + 1)
      if (c >= 0 && c < iLock) endTs = Math.max(endTs, events[c].ts + events[c].dur)
    }
    tlsInit = endTs - events[iTls].ts
  }
  let iLastWrite = -1
  for (let i = events.length - 1; i > iWrite; i--) {
    if (['rename', 'renameat', 'renameat2', 'fsync', 'fdatasync'].includes(events[i].call)) {
      iLastWrite = i
      break
    }
  }
  const end = events[events.length - 1].ts
  if ([iAddon, iState, iApp, iClose, iMarker, iLock, iWrite, iLastWrite].some((i) => i < 0) || iAddon > iState) return null
  const at = (i) => events[i].ts
  const endOf = (i) => events[i].ts + events[i].dur
  const sum = (calls, from, to) => events.slice(from, to + 1).filter((e) => calls.includes(e.call)).reduce((s, e) => s + e.dur, 0)
  const write = sum(['write'], iWrite, iLastWrite) // eventfd wake-ups are 8 bytes: negligible
  const fsync = sum(['fsync', 'fdatasync'], iWrite, iLastWrite)
  const writePhase = endOf(iLastWrite) - at(iWrite)
  const ms = (s) => s * 1000
  return {
    node: ms(at(iAddon) - t0),
    startup: ms(at(iState) - at(iAddon)),
    read: ms(endOf(iClose) - at(iState)),
    check: ms(at(iMarker) - endOf(iClose)),
    tlsInit: ms(tlsInit),
    plan: ms(at(iLock) - at(iMarker) - tlsInit),
    lock: ms(at(iWrite) - at(iLock)),
    writeSyscalls: ms(write),
    fsyncSyscalls: ms(fsync),
    writeOther: ms(writePhase - write - fsync),
    exit: ms(end - endOf(iLastWrite)),
    total: ms(end - t0),
  }
}

export const PHASES = [
  ['node', 'node start: exec to the addon\'s open (node, cli.js, index.js)'],
  ['startup', 'addon load, project root, sst.config.ts parsed, names checked'],
  ['read', 'read the repository state files (into fresh memory: page faults included)'],
  ['check', 'check the files (checkpoint JSON, passphrases, secrets; blob ids when hashed alongside)'],
  ['tlsInit', 'libgit2 global init: OpenSSL + the system CA bundle (when a git2 call triggers it)'],
  ['plan', 'plan: blob ids and config-dir comparison (marker read to SST lock check)'],
  ['lock', 'SST lock check'],
  ['writeSyscalls', 'write: write() syscalls'],
  ['fsyncSyscalls', 'write: fsync() syscalls (files + directories)'],
  ['writeOther', 'write: the rest (temp files, chmod, rename, mkdir)'],
  ['exit', 'exit: result back to JS, node teardown'],
  ['total', 'total (under strace)'],
]

/**
 * Runs `cli prepare --stage <stage>` `runs` times under strace (fresh config
 * dir each time) and returns the median of each phase, or { available: false }.
 */
export function profilePrepare({ cli, stage, cwd, xdg, env, tmp, runs, checkpointBytes }) {
  if (!hasStrace()) return { available: false, reason: 'strace not installed' }
  const samples = []
  for (let i = 0; i < runs + 1; i++) {
    rmSync(xdg, { recursive: true, force: true })
    mkdirSync(xdg, { recursive: true })
    spawnSync('sync')
    const out = join(tmp, `strace-${i}.txt`)
    const res = spawnSync(
      'strace',
      ['-f', '-ttt', '-T', '--seccomp-bpf', '-s', '0', '-e', 'trace=execve,openat,read,write,close,fsync,fdatasync,rename,renameat,renameat2,exit_group', '-o', out, cli, 'prepare', '--stage', stage, '--quiet'],
      { cwd, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
    )
    if (res.status !== 0) return { available: false, reason: `strace run failed: ${res.stderr.slice(-500)}` }
    const text = readFileSync(out, 'utf8')
    rmSync(out, { force: true })
    const p = phases(parse(text), { stage })
    if (!p) return { available: false, reason: 'could not find the phase landmarks in the trace' }
    if (i > 0) samples.push(p)
  }
  const result = { available: true, stage, checkpointBytes, runs, phases: {} }
  for (const [key] of PHASES) result.phases[key] = stats(samples.map((s) => s[key])).median
  return result
}
