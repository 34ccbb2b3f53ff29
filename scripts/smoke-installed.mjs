#!/usr/bin/env node
// The release's packages as a user installs them, on the machine this runs
// on: the release workflow's test job of each target runs it on a runner of
// that target (before anything is published), and the arm64 test here runs
// it with arm64 Node under qemu.
//
//   node scripts/smoke-installed.mjs <dir> [--cpu <cpu>] [--libc <libc>]
//
// <dir> holds the tarballs of scripts/pack.mjs (the root package and any of
// the platform packages). In a fresh project, npm installs the root package
// with every platform tarball offered through `overrides`, so npm itself
// picks the one for this platform (os, cpu, libc), as it will from the
// registry (--cpu/--libc: npm's flags, to pick for another one). Then, with
// `node`/`npx` from PATH: `npx sst-local-state --version` prints the
// version, and `prepareStage()` restores a stage of a fixture project (a git
// repository with an sst.config.ts and its infra/state/) into a fresh config
// dir, byte for byte. Exit 0 and a summary line, or an error.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, mkdirSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'

const { values: opts, positionals } = parseArgs({
  allowPositionals: true,
  options: { cpu: { type: 'string' }, libc: { type: 'string' } },
})
if (positionals.length !== 1) {
  console.error('usage: node scripts/smoke-installed.mjs <dir> [--cpu <cpu>] [--libc <libc>]')
  process.exit(2)
}
const dist = resolve(positionals[0])
const fail = (message) => {
  console.error(`smoke-installed: ${message}`)
  process.exit(1)
}

/** Runs `cmd` (found on PATH, through the shell on Windows for npm.cmd/npx.cmd) in `cwd`. */
function run(cmd, args, cwd, env = {}) {
  const res = spawnSync(cmd, args, {
    cwd,
    encoding: 'utf8',
    shell: process.platform === 'win32',
    env: { ...process.env, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false', ...env },
    timeout: 600_000,
  })
  if (res.error) fail(`${cmd} ${args.join(' ')}: ${res.error.message}`)
  if (res.status !== 0) fail(`${cmd} ${args.join(' ')} failed (exit ${res.status}):\n${res.stdout}${res.stderr}`)
  return res.stdout
}

const tarballs = readdirSync(dist).filter((f) => f.endsWith('.tgz'))
const roots = tarballs.filter((f) => /^sst-local-state-\d[^/]*\.tgz$/.test(f))
if (roots.length !== 1) fail(`expected one root tarball sst-local-state-<version>.tgz in ${dist}, found: ${roots.join(', ') || 'none'}`)
const version = roots[0].slice('sst-local-state-'.length, -'.tgz'.length)
const overrides = {}
for (const f of tarballs) {
  const m = /^(sst-local-state-(?:linux|darwin|win32)-[a-z0-9-]+?)-(\d.*)\.tgz$/.exec(f)
  if (m && m[2] === version) overrides[m[1]] = `file:${join(dist, f)}`
}

// the fixture: an SST app with home "local" whose stage dev is in infra/state/
const project = mkdtempSync(join(tmpdir(), 'sls-smoke-'))
const configDir = mkdtempSync(join(tmpdir(), 'sls-smoke-config-'))
try {
  const checkpoint = JSON.stringify({ version: 3, checkpoint: { stack: 'organization/smoke/dev', latest: { resources: [{ urn: 'urn:pulumi:dev::smoke::pulumi:pulumi:Stack::smoke-dev', custom: false, type: 'pulumi:pulumi:Stack' }] } } })
  writeFileSync(join(project, 'package.json'), `${JSON.stringify({ name: 'smoke', private: true, dependencies: { 'sst-local-state': `file:${join(dist, roots[0])}` }, overrides }, null, 2)}\n`)
  writeFileSync(join(project, 'sst.config.ts'), 'export default $config({\n  app() {\n    return { name: "smoke", home: "local" };\n  },\n  async run() {},\n});\n')
  mkdirSync(join(project, 'infra', 'state', 'app'), { recursive: true })
  mkdirSync(join(project, 'infra', 'state', 'passphrase'), { recursive: true })
  writeFileSync(join(project, 'infra', 'state', 'app', 'dev.json'), checkpoint)
  writeFileSync(join(project, 'infra', 'state', 'passphrase', 'dev.json'), Buffer.alloc(32, 7).toString('base64'))
  writeFileSync(join(project, '.gitignore'), 'node_modules\n')
  const git = (...args) => run('git', ['-c', 'user.name=smoke', '-c', 'user.email=smoke@example.com', '-c', 'commit.gpgsign=false', ...args], project)
  git('init', '-q')
  git('add', '-A')
  git('commit', '-q', '-m', 'state')

  const flags = [...(opts.cpu ? [`--cpu=${opts.cpu}`] : []), ...(opts.libc ? [`--libc=${opts.libc}`] : [])]
  run('npm', ['install', '--no-audit', '--no-fund', ...flags], project)
  const installed = readdirSync(join(project, 'node_modules')).filter((d) => d.startsWith('sst-local-state-'))
  if (installed.length !== 1) fail(`npm installed ${installed.length} platform packages (${installed.join(', ')}); expected the one for this platform`)

  const shown = run('npx', ['sst-local-state', '--version'], project).trim()
  if (shown !== `sst-local-state ${version}`) fail(`npx sst-local-state --version printed "${shown}", not "sst-local-state ${version}"`)

  const script = `import { prepareStage } from 'sst-local-state'
const report = await prepareStage({ stage: 'dev', configDir: process.argv[2] })
console.log(JSON.stringify({ arch: process.arch, platform: process.platform, files: report.files.map((f) => f.kind + ':' + f.action) }))
`
  writeFileSync(join(project, 'smoke.mjs'), script)
  const out = JSON.parse(run('node', ['smoke.mjs', configDir], project))
  const restored = join(configDir, 'state', 'app', 'smoke', 'dev.json')
  if (!existsSync(restored) || readFileSync(restored, 'utf8') !== checkpoint) fail(`prepareStage did not restore ${restored}: ${JSON.stringify(out)}`)
  console.log(`smoke-installed: ${installed[0]} ${version} on ${out.platform}-${out.arch}: npx sst-local-state --version, prepareStage (${out.files.join(', ')}) ok`)
} finally {
  rmSync(project, { recursive: true, force: true })
  rmSync(configDir, { recursive: true, force: true })
}
