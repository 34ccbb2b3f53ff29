// The GitHub Actions workflows (.github/workflows/ci.yml, release.yml): clean
// under actionlint (scripts/actionlint.sh, with shellcheck on the run:
// scripts), proof that the linter really reports a broken copy, and what the
// workflows promise, checked against the repository and by running their
// steps' scripts here (bash, with the programs they call stubbed where they
// would build, publish or start containers): the tag check stops a wrong
// tag; node --test gets files, on every Node of the matrix; macOS and Windows
// get every file that needs no Linux-only server; each release package is
// tested on a runner npm would install it on, before publishing, which
// depends on every test; a prerelease is never `latest`; the dry run uploads
// nothing.
import { test, describe, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

import { REPO_ROOT } from './helpers/sst.mjs'
import { SLOW, assertOk, cleanup, tempDir } from './helpers/common.mjs'
import { testFiles } from '../scripts/js-tests.mjs'

after(cleanup)

const WORKFLOWS = join(REPO_ROOT, '.github', 'workflows')
const PKG = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8'))

/** bash scripts/actionlint.sh <args> from the repository root (installs the tools when missing). */
function actionlint(args) {
  const res = spawnSync('bash', [join(REPO_ROOT, 'scripts', 'actionlint.sh'), ...args], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    timeout: 300_000,
  })
  if (res.error) throw res.error
  return res
}

/**
 * Lints a copy of ci.yml with `from` replaced by `to` (in a temp dir), which
 * actionlint must reject; its findings as JSON: [{ message, kind, line, ... }].
 */
function brokenCopyFindings(from, to) {
  const src = readFileSync(join(WORKFLOWS, 'ci.yml'), 'utf8')
  const broken = src.replace(from, to)
  assert.notEqual(broken, src, `ci.yml has no ${from}`)
  const file = join(tempDir('sls-actionlint-'), 'ci.yml')
  writeFileSync(file, broken)
  const res = actionlint(['-format', '{{json .}}', file])
  assert.equal(res.status, 1, `actionlint found nothing in the copy (exit ${res.status}):\n${res.stdout}${res.stderr}`)
  return JSON.parse(res.stdout)
}

// --------------------------------------------------- a reader for the YAML --
// Enough YAML for these workflows, which are written in block style: mapping
// keys, `- ` sequences, `|` scripts, [a, b] flow sequences. Each node is the
// list of its lines, { indent, text }, comments and blank lines left out.

function yamlLines(src) {
  return src
    .split(/\r?\n/)
    .filter((line) => line.trim() !== '' && !line.trim().startsWith('#'))
    .map((line) => ({ indent: line.search(/\S/), text: line.trim() }))
}

/** The indent of the direct children in `lines`: its smallest. */
const topIndent = (lines) => Math.min(...lines.map((l) => l.indent))

/** The lines of the block that starts at lines[i] (the lines indented under it). */
function blockAt(lines, i) {
  let end = i + 1
  while (end < lines.length && lines[end].indent > lines[i].indent) end++
  return lines.slice(i + 1, end)
}

/** The mapping keys directly in `lines`. */
function keys(lines) {
  const indent = topIndent(lines)
  return lines.filter((l) => l.indent === indent && /^[\w-]+:( |$)/.test(l.text)).map((l) => l.text.split(':')[0])
}

/** `key` under `lines`, following `path`: { value (after the colon, unquoted, no comment), body (its lines) }, or undefined. */
function get(lines, ...path) {
  let node = { value: undefined, body: lines }
  for (const key of path) {
    if (node.body.length === 0) return undefined
    const indent = topIndent(node.body)
    const i = node.body.findIndex((l) => l.indent === indent && (l.text === `${key}:` || l.text.startsWith(`${key}: `)))
    if (i === -1) return undefined
    const value = node.body[i].text.slice(key.length + 1).trim()
    const plain = /^["']/.test(value) ? value.replace(/^(["'])(.*)\1$/, '$2') : value.replace(/\s+#.*$/, '')
    node = { value: plain, body: blockAt(node.body, i) }
  }
  return node
}

/** get() that must find the key; its node. */
function must(lines, ...path) {
  const node = get(lines, ...path)
  assert.ok(node, `no ${path.join('.')}`)
  return node
}

/** The items of the block sequence `lines` (each an item's lines, `- ` taken off the first). */
function items(lines) {
  const indent = topIndent(lines)
  const out = []
  lines.forEach((l, i) => {
    if (l.indent !== indent || !l.text.startsWith('- ')) return
    out.push([{ indent: indent + 2, text: l.text.slice(2) }, ...blockAt(lines, i)])
  })
  return out
}

/** A [a, b] flow sequence's items. */
const flow = (value) => value.replace(/^\[|\]$/g, '').split(',').map((s) => s.trim())

/** A step's run: script ('|' block or one line). */
const script = (step) => {
  const run = get(step, 'run')
  if (!run) return ''
  return run.value === '|' ? run.body.map((l) => l.text).join('\n') : run.value
}

/** The steps of a job, each with its run script and uses. */
function steps(job) {
  return items(must(job, 'steps').body).map((step) => ({
    lines: step,
    name: get(step, 'name')?.value,
    if: get(step, 'if')?.value,
    uses: get(step, 'uses')?.value,
    run: script(step),
  }))
}

const read = (name) => yamlLines(readFileSync(join(WORKFLOWS, name), 'utf8'))
const ci = read('ci.yml')
const release = read('release.yml')

// -------------------------------------------------------------- actionlint --

describe('actionlint', () => {
  test('the workflows have no findings (shellcheck included where installed)', SLOW, () => {
    const res = actionlint([])
    assert.equal(res.status, 0, `actionlint (exit ${res.status}):\n${res.stdout}${res.stderr}`)
    assert.equal(res.stdout, '')
  })

  test('it really lints: a broken copy of ci.yml is reported', SLOW, () => {
    const found = brokenCopyFindings('node-version: ${{ matrix.node }}', 'node-version: ${{ matrix.nope }}')
    assert.ok(
      found.some((f) => f.kind === 'expression' && /"nope" is not defined/.test(f.message)),
      JSON.stringify(found, null, 2),
    )
  })

  test('it runs shellcheck on run: scripts', SLOW, (t) => {
    const installed = assertOk(actionlint(['--install']), 'actionlint.sh --install')
    if (!/^shellcheck /m.test(installed.stdout)) {
      t.skip('no shellcheck could be installed or found on PATH')
      return
    }
    const found = brokenCopyFindings('run: cargo test', 'run: cargo test $CARGO_ARGS')
    assert.ok(found.some((f) => f.kind === 'shellcheck' && /SC2086/.test(f.message)), JSON.stringify(found, null, 2))
  })
})

// ---------------------------------------------------- running a step here --

/**
 * Runs a step's `run:` script as GitHub does (bash -eo pipefail) in `cwd`,
 * with `env`, and the programs in `stubs` ({ name: sh script }) first on
 * PATH. Returns { status, stdout, stderr, calls }: `calls` are the stubs'
 * invocations, each [name, ...args] (a stub records then runs its script).
 */
function runStep(script, { cwd = REPO_ROOT, env = {}, stubs = {} } = {}) {
  const dir = tempDir('sls-step-')
  const bin = join(dir, 'bin')
  mkdirSync(bin)
  const log = join(dir, 'calls')
  writeFileSync(log, '')
  for (const [name, body] of Object.entries(stubs)) {
    const file = join(bin, name)
    // records with this process's runtime by its path: a stub may be named node
    writeFileSync(file, `#!/usr/bin/env bash\n${JSON.stringify(process.execPath)} -e 'require("fs").appendFileSync(process.argv[1], JSON.stringify(process.argv.slice(2)) + "\\n")' ${JSON.stringify(log)} ${name} "$@"\n${body}\n`)
    chmodSync(file, 0o755)
  }
  const res = spawnSync('bash', ['--noprofile', '--norc', '-eo', 'pipefail', '-c', script], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, ...env, PATH: `${bin}:${process.env.PATH}` },
  })
  if (res.error) throw res.error
  const calls = readFileSync(log, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l))
  return { status: res.status, stdout: res.stdout, stderr: res.stderr, calls }
}

/** The step of `job` named `name` (its `name:` starts with it). */
function step(job, name) {
  const found = steps(job).find((s) => s.name?.startsWith(name))
  assert.ok(found, `no step "${name}"`)
  return found
}

/** The `needs` of a job: [] or the job names. */
const needsOf = (wf, job) => {
  const v = get(wf, 'jobs', job, 'needs')?.value
  return v ? (v.startsWith('[') ? flow(v) : [v]) : []
}

/** Every job `job` waits for, directly or not. */
function upstream(wf, job) {
  const seen = new Set()
  const visit = (j) => needsOf(wf, j).forEach((n) => seen.has(n) || (seen.add(n), visit(n)))
  visit(job)
  return seen
}

const onWindows = process.platform === 'win32'
const needsBash = { skip: onWindows ? 'runs the steps with bash and sh stubs (POSIX)' : false }

// ------------------------------------------------------------------ ci.yml --

describe('ci.yml', () => {
  const test_ = must(ci, 'jobs', 'test').body
  const matrix = must(test_, 'strategy', 'matrix').body
  const include = items(must(matrix, 'include').body)
  const nodes = flow(must(matrix, 'node').value).map(Number)

  test('runs on push and pull_request, read-only, one run per ref; every job has a timeout', () => {
    assert.deepEqual(keys(must(ci, 'on').body).sort(), ['pull_request', 'push'])
    assert.deepEqual(keys(must(ci, 'permissions').body), ['contents'])
    assert.equal(must(ci, 'permissions', 'contents').value, 'read')
    assert.equal(must(ci, 'concurrency', 'cancel-in-progress').value, 'true')
    for (const job of keys(must(ci, 'jobs').body)) assert.match(must(ci, 'jobs', job, 'timeout-minutes').value, /^\d+$/, job)
  })

  test('lint: rustfmt, clippy with warnings denied, cargo test', () => {
    const runs = steps(must(ci, 'jobs', 'lint').body).map((s) => s.run)
    for (const cmd of ['cargo fmt --check', 'cargo clippy --all-targets -- -D warnings', 'cargo test']) {
      assert.ok(runs.includes(cmd), `lint runs no \`${cmd}\`: ${runs}`)
    }
  })

  test('macOS and Windows: clippy, and the platform unit tests, whose filters name modules that hold tests', () => {
    const native = must(ci, 'jobs', 'native').body
    assert.deepEqual(flow(must(native, 'strategy', 'matrix', 'os').value), ['macos-latest', 'windows-latest'])
    const runs = steps(native).map((s) => s.run)
    assert.ok(runs.includes('cargo clippy --all-targets -- -D warnings'))
    const cargoTest = runs.find((r) => r.startsWith('cargo test --lib -- --include-ignored '))
    assert.ok(cargoTest, runs.join('\n'))
    const filters = cargoTest.replace('cargo test --lib -- --include-ignored ', '').split(' ')
    assert.ok(filters.length >= 3, cargoTest)
    for (const filter of filters) {
      // a filter that matches nothing would run nothing and pass
      const mod = filter.replace(/::$/, '').split('::')
      const file = [join(REPO_ROOT, 'src', ...mod) + '.rs', join(REPO_ROOT, 'src', ...mod, 'mod.rs')].find((f) => existsSync(f))
      assert.ok(file, `no module for the filter ${filter}`)
      assert.match(readFileSync(file, 'utf8'), /#\[test\]/, `${file} has no test`)
    }
  })

  test('the matrix: Linux, macOS and Windows x the supported Node versions; one full cell runs bash .ci/run', () => {
    assert.deepEqual(flow(must(matrix, 'os').value), ['ubuntu-latest', 'macos-latest', 'windows-latest'])
    assert.deepEqual(nodes, [18, 20, 22, 24])
    assert.equal(must(test_, 'strategy', 'fail-fast').value, 'false')
    const full = include.filter((i) => get(i, 'full')?.value === 'true')
    assert.deepEqual(full.map((i) => [must(i, 'os').value, must(i, 'node').value]), [['ubuntu-latest', '20']])
    assert.equal(steps(test_).find((s) => s.run === 'bash .ci/run')?.if, '${{ matrix.full }}')
    assert.equal(readFileSync(join(REPO_ROOT, '.ci', 'run'), 'utf8').trim().split('\n').at(-1), 'npm test')
    assert.equal(PKG.scripts.test, 'bash scripts/test.sh')
  })

  test('the build runs under a Node the napi CLI supports; the tests under the matrix Node', () => {
    const all = steps(test_)
    const cli = JSON.parse(readFileSync(join(REPO_ROOT, 'node_modules', '@napi-rs', 'cli', 'package.json'), 'utf8'))
    const needed = Number(/(\d+)/.exec(cli.engines.node)[1])
    const setups = all.map((s, i) => [s, i]).filter(([s]) => s.uses?.startsWith('actions/setup-node@'))
    assert.equal(setups.length, 2)
    const [first, second] = setups
    const build = all.findIndex((s) => s.run === 'bash scripts/build.sh')
    const tests = all.findIndex((s) => s.name?.startsWith('JS tests (node --test'))
    assert.ok(first[1] < build && build < second[1] && second[1] < tests, 'setup-node (build), build, setup-node (tests), tests')
    assert.equal(must(second[0].lines, 'with', 'node-version').value, '${{ matrix.node }}')
    // the build's Node, for every cell: `matrix.full && matrix.node || <n>`
    const m = /^\$\{\{ matrix\.full && matrix\.node \|\| (\d+) \}\}$/.exec(must(first[0].lines, 'with', 'node-version').value)
    assert.ok(m, 'the build Node: the full cell its own, the others a fixed one')
    for (const os of flow(must(matrix, 'os').value)) {
      for (const node of nodes) {
        const full = include.some((i) => get(i, 'full')?.value === 'true' && must(i, 'os').value === os && Number(must(i, 'node').value) === node)
        const built = full ? node : Number(m[1])
        assert.ok(built >= needed, `${os}, node ${node}: built under Node ${built}, the napi CLI needs ${cli.engines.node}`)
      }
    }
  })

  test('the test step gives node --test the files, one run per file on Node 18, and fails when a file fails', needsBash, () => {
    const js = step(test_, 'JS tests (node --test')
    const files = testFiles().all
    // a stub node: records its arguments; fails for a file whose name says so
    const stubs = { node: 'case "$*" in *--version*) echo v0 ;; *fails.test.mjs*) exit 1 ;; esac' }
    for (const major of nodes) {
      const res = runStep(js.run, { env: { NODE_MAJOR: String(major), JS_TESTS: files.join(' ') }, stubs })
      assert.equal(res.status, 0, res.stderr)
      const runs = res.calls.filter((c) => c.includes('--test'))
      const given = runs.flatMap((c) => c.slice(1).filter((a) => !a.startsWith('--')))
      assert.deepEqual(given, files, `Node ${major}: each file, once`)
      for (const f of given) assert.ok(existsSync(join(REPO_ROOT, f)) && f.endsWith('.test.mjs'), `${f}: a file, not a folder (Node >= 21 takes a folder for a glob)`)
      if (major === 18) {
        // no --test-concurrency before Node 20
        assert.equal(runs.length, files.length)
        assert.ok(runs.every((c) => !c.some((a) => a.startsWith('--test-concurrency'))))
      } else {
        assert.deepEqual(runs, [['node', '--test', '--test-concurrency=1', ...files]])
      }
      const failing = runStep(js.run, { env: { NODE_MAJOR: String(major), JS_TESTS: `${files[0]} __test__/fails.test.mjs ${files[1]}` }, stubs })
      assert.notEqual(failing.status, 0, `Node ${major}: a failing file fails the step`)
    }
  })

  test('Linux runs every test file; macOS and Windows every file that starts neither the git server nor sshd', needsBash, () => {
    const list = step(test_, "the JS tests' files")
    const files = testFiles()
    assert.ok(files.servers.includes('__test__/git-server.test.mjs'), files.servers.join(' '))
    assert.ok(files.servers.includes('__test__/safety.test.mjs'), 'state-repo.mjs starts the git server')
    assert.ok(files.servers.includes('__test__/installed.test.mjs'))
    assert.deepEqual([...files.servers, ...files.noServers].sort(), files.all)
    for (const file of files.noServers) {
      const src = readFileSync(join(REPO_ROOT, file), 'utf8')
      assert.doesNotMatch(src, /\b(?:startGitServer|startSshServer|seededRepo|gitServer)\(/, `${file} starts a server`)
    }
    for (const [os, expected] of [['Linux', files.all], ['macOS', files.noServers], ['Windows', files.noServers]]) {
      const out = join(tempDir('sls-github-env-'), 'env')
      writeFileSync(out, '')
      const res = runStep(list.run, { env: { RUNNER_OS: os, GITHUB_ENV: out } })
      assert.equal(res.status, 0, res.stderr)
      assert.equal(readFileSync(out, 'utf8'), `JS_TESTS=${expected.join(' ')}\n`, os)
    }
    // the bun step gets the same files, as paths
    const bun = runStep(step(test_, 'JS tests (bun test)').run, { env: { JS_TESTS: files.noServers.join(' ') }, stubs: { npx: '' } })
    assert.equal(bun.status, 0, bun.stderr)
    assert.deepEqual(bun.calls, [['npx', '--no', 'bun', 'test', '--timeout', '600000', ...files.noServers.map((f) => `./${f}`)]])
  })
})

// ------------------------------------------------------------- release.yml --

describe('release.yml', () => {
  const jobs = keys(must(release, 'jobs').body)
  const build = must(release, 'jobs', 'build').body
  const testJob = must(release, 'jobs', 'test').body
  const publish = must(release, 'jobs', 'publish').body

  test('runs on v* tags, and by hand (workflow_dispatch: a dry run); read-only but for provenance; timeouts', () => {
    assert.deepEqual(keys(must(release, 'on').body).sort(), ['push', 'workflow_dispatch'])
    assert.deepEqual(items(must(release, 'on', 'push', 'tags').body).map((i) => i[0].text), ['"v*"'])
    assert.equal(must(release, 'permissions', 'contents').value, 'read')
    assert.equal(must(publish, 'permissions', 'contents').value, 'write') // the action's major tag
    for (const job of jobs) assert.match(must(release, 'jobs', job, 'timeout-minutes').value, /^\d+$/, job)
    assert.equal(must(publish, 'permissions', 'id-token').value, 'write')
    for (const job of jobs.filter((j) => j !== 'publish')) assert.equal(get(release, 'jobs', job, 'permissions'), undefined, job)
  })

  test('the tag is checked first: nothing builds before it passes; a wrong tag fails, a dispatch is a dry run', needsBash, () => {
    assert.deepEqual(needsOf(release, 'version'), [])
    for (const job of jobs.filter((j) => j !== 'version')) assert.ok(upstream(release, job).has('version'), `${job} does not wait for the tag check`)
    const check = steps(must(release, 'jobs', 'version').body).find((s) => s.run.includes('GITHUB_OUTPUT'))
    const run = (env) => {
      const out = join(tempDir('sls-github-out-'), 'out')
      writeFileSync(out, '')
      return { ...runStep(check.run, { env: { ...env, GITHUB_OUTPUT: out } }), output: readFileSync(out, 'utf8') }
    }
    const right = run({ EVENT: 'push', REF_TYPE: 'tag', TAG: `v${PKG.version}` })
    assert.equal(right.status, 0, right.stderr)
    assert.equal(right.output, `version=${PKG.version}\n`)
    for (const env of [{ EVENT: 'push', REF_TYPE: 'tag', TAG: `v${PKG.version}.1` }, { EVENT: 'push', REF_TYPE: 'tag', TAG: PKG.version }, { EVENT: 'push', REF_TYPE: 'branch', TAG: `v${PKG.version}` }]) {
      const wrong = run(env)
      assert.equal(wrong.status, 1, JSON.stringify(env))
      assert.match(wrong.stdout, /::error::tag .* does not match package.json version/)
    }
    const dispatch = run({ EVENT: 'workflow_dispatch', REF_TYPE: 'branch', TAG: 'main' })
    assert.equal(dispatch.status, 0, dispatch.stderr)
    assert.match(dispatch.stdout, /dry run/)
  })

  test('builds exactly the napi.targets of package.json, each by scripts/release-build.sh on its OS; Windows builds checked for C runtime DLLs', () => {
    const include = items(must(build, 'strategy', 'matrix', 'include').body)
    assert.deepEqual(include.map((i) => must(i, 'target').value), PKG.napi.targets)
    for (const cell of include) {
      const target = must(cell, 'target').value
      const os = target.includes('-linux-') ? 'ubuntu-latest' : target.includes('-apple-') ? 'macos-latest' : 'windows-latest'
      assert.equal(must(cell, 'os').value, os, target)
    }
    const all = steps(build)
    const rb = all.find((s) => s.run.includes('scripts/release-build.sh'))
    assert.equal(rb.run.split('\n')[0], 'bash scripts/release-build.sh --target "$TARGET" --out artifacts')
    assert.equal(must(rb.lines, 'env', 'TARGET').value, '${{ matrix.target }}')
    // release-build.sh knows how to build each target (the same script __test__/release/ and release-test.sh run)
    const script = readFileSync(join(REPO_ROOT, 'scripts', 'release-build.sh'), 'utf8')
    assert.match(script, /\*-linux-gnu\) extra=\(--use-napi-cross\)/)
    assert.match(script, /\*-linux-musl\) extra=\(--cross-compile\)/)
    const pe = all.find((s) => s.run.includes('scripts/pe-check.mjs'))
    assert.equal(pe?.if, "${{ runner.os == 'Windows' }}")
    assert.equal(pe.run, 'node scripts/pe-check.mjs artifacts/*.node')
    const upload = all.find((s) => s.uses?.startsWith('actions/upload-artifact@'))
    assert.equal(must(upload.lines, 'with', 'name').value, 'bindings-${{ matrix.target }}')
  })

  test('each platform package is tested on a runner npm would install it on (os, cpu, libc), after packing and before publishing', () => {
    // GitHub's runner images: the OS and CPU of each label used
    const RUNNERS = {
      'ubuntu-24.04': ['linux', 'x64'],
      'ubuntu-24.04-arm': ['linux', 'arm64'],
      'macos-15-intel': ['darwin', 'x64'],
      'macos-latest': ['darwin', 'arm64'],
      'windows-latest': ['win32', 'x64'],
      'windows-11-arm': ['win32', 'arm64'],
    }
    const include = items(must(testJob, 'strategy', 'matrix', 'include').body)
    const platforms = include.map((i) => must(i, 'platform').value)
    assert.deepEqual([...platforms].sort(), readdirSync(join(REPO_ROOT, 'npm')).sort())
    for (const cell of include) {
      const platform = must(cell, 'platform').value
      const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'npm', platform, 'package.json'), 'utf8'))
      const runner = RUNNERS[must(cell, 'os').value]
      assert.ok(runner, `${platform}: unknown runner ${must(cell, 'os').value}`)
      assert.deepEqual([runner[0], runner[1]], [pkg.os[0], pkg.cpu[0]], platform)
      const alpine = get(cell, 'alpine')?.value === 'true'
      assert.equal(alpine, (pkg.libc ?? []).includes('musl'), `${platform}: musl packages run in Alpine, the others not`)
    }
    assert.deepEqual(needsOf(release, 'test'), ['pack'])
    assert.deepEqual(needsOf(release, 'pack'), ['build'])
    assert.equal(must(testJob, 'strategy', 'fail-fast').value, 'false')
    // publish waits for every job, the tests of all eight platforms included
    assert.deepEqual([...upstream(release, 'publish')].sort(), jobs.filter((j) => j !== 'publish').sort())
  })

  test('the test jobs run scripts/smoke-installed.mjs on the packed tarballs, and fail when npm picked another platform package', needsBash, () => {
    const line = (p) => `smoke-installed: sst-local-state-${p} ${PKG.version} on linux-arm64: npx sst-local-state --version, prepareStage (app:written) ok`
    for (const [name, stubs] of [
      ['install and run (', { node: `echo "${line('$PLATFORM_SEEN')}"` }],
      ['install and run in node:22-alpine', { docker: `echo "${line('$PLATFORM_SEEN')}"` }],
    ]) {
      const s = step(testJob, name)
      assert.match(s.run, /node scripts\/smoke-installed\.mjs dist/)
      const ok = runStep(s.run, { env: { PLATFORM: 'linux-arm64-musl', PLATFORM_SEEN: 'linux-arm64-musl' }, stubs })
      assert.equal(ok.status, 0, ok.stderr)
      const wrong = runStep(s.run, { env: { PLATFORM: 'linux-arm64-musl', PLATFORM_SEEN: 'linux-arm64-gnu' }, stubs })
      assert.notEqual(wrong.status, 0, `${name}: npm picking the gnu package must fail the musl job`)
      if (stubs.docker) {
        const args = ok.calls[0]
        assert.deepEqual(args.slice(0, 3), ['docker', 'run', '--rm'])
        assert.ok(args.includes('node:22-alpine'), args.join(' '))
      }
    }
    const download = steps(testJob).find((s) => s.uses?.startsWith('actions/download-artifact@'))
    assert.equal(must(download.lines, 'with', 'name').value, 'packages')
    assert.equal(must(download.lines, 'with', 'path').value, 'dist')
  })

  test('publish: scripts/publish.sh (tested against a local registry) on a tag, with provenance; a dispatch only with --dry-run', needsBash, () => {
    const node = steps(publish).find((s) => s.uses?.startsWith('actions/setup-node@'))
    assert.equal(must(node.lines, 'with', 'registry-url').value, 'https://registry.npmjs.org')
    const real = step(publish, 'npm publish (')
    const dry = step(publish, 'npm publish --dry-run')
    assert.equal(real.if, "${{ github.event_name == 'push' }}")
    assert.equal(dry.if, "${{ github.event_name == 'workflow_dispatch' }}")
    assert.equal(must(real.lines, 'env', 'NODE_AUTH_TOKEN').value, '${{ secrets.NPM_TOKEN }}')
    assert.equal(must(real.lines, 'env', 'NPM_CONFIG_PROVENANCE').value, 'true')
    assert.equal(get(dry.lines, 'env'), undefined, 'the dry run gets no token')
    // run both steps against a stub scripts/publish.sh: what it is given
    const cwd = tempDir('sls-publish-step-')
    mkdirSync(join(cwd, 'scripts'))
    writeFileSync(join(cwd, 'scripts', 'publish.sh'), 'echo "args: $* provenance: ${NPM_CONFIG_PROVENANCE:-unset}"\n')
    const a = runStep(real.run, { cwd, env: { NPM_CONFIG_PROVENANCE: 'true' } })
    assert.equal(a.stdout, 'args: dist provenance: true\n')
    const b = runStep(dry.run, { cwd })
    assert.equal(b.stdout, 'args: dist --dry-run provenance: unset\n')
    // the script itself: prerelease -> next, platform packages first, skip what is there
    const script = readFileSync(join(REPO_ROOT, 'scripts', 'publish.sh'), 'utf8')
    assert.match(script, /\*-\*\) tag=next ;;/)
    assert.match(script, /for tgz in "\$\{platform\[@\]\}" "\$root"; do/)
  })

  test('after publishing, a release moves the major tag (the GitHub Action\'s @v0, @v1) to its commit; a prerelease does not', needsBash, () => {
    const names = steps(publish).map((s) => s.name ?? s.uses)
    const move = step(publish, 'move the major tag')
    assert.ok(names.indexOf(move.name) > names.indexOf(step(publish, 'npm publish (').name), names.join(' | '))
    assert.equal(move.if, "${{ github.event_name == 'push' }}")
    assert.equal(must(publish, 'permissions', 'contents').value, 'write')
    const sha = 'a'.repeat(40)
    const stubs = { git: 'exit 0' }
    const release_ = runStep(move.run, { env: { VERSION: '1.4.2', GITHUB_SHA: sha }, stubs })
    assert.equal(release_.status, 0, release_.stderr)
    assert.deepEqual(release_.calls, [
      ['git', 'tag', '-f', 'v1', sha],
      ['git', 'push', '-f', 'origin', 'refs/tags/v1'],
    ])
    const zero = runStep(move.run, { env: { VERSION: '0.1.0', GITHUB_SHA: sha }, stubs })
    assert.equal(zero.status, 0, zero.stderr)
    assert.deepEqual(zero.calls, [
      ['git', 'tag', '-f', 'v0', sha],
      ['git', 'push', '-f', 'origin', 'refs/tags/v0'],
    ])
    const pre = runStep(move.run, { env: { VERSION: '2.0.0-rc.1', GITHUB_SHA: sha }, stubs })
    assert.equal(pre.status, 0, pre.stderr)
    assert.deepEqual(pre.calls, [])
  })
})

test('actions are pinned to a major version', () => {
  const uses = [...ci, ...release].filter((l) => /^(- )?uses: /.test(l.text)).map((l) => l.text.replace(/^(- )?uses: /, ''))
  assert.ok(uses.length > 10)
  for (const u of uses) assert.match(u, /^[\w-]+\/[\w-]+@(v\d+|stable)$/, u)
})
