// The GitHub Actions workflows (.github/workflows/ci.yml, release.yml): clean
// under actionlint (scripts/actionlint.sh, with shellcheck on the run:
// scripts), proof that the linter really reports a broken copy, and the facts
// the workflows exist for, read from their YAML: the CI matrix, the release
// targets (exactly package.json napi.targets), npm provenance.
import { test, describe, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

import { REPO_ROOT } from './helpers/sst.mjs'
import { SLOW, assertOk, cleanup, tempDir } from './helpers/common.mjs'

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

// ------------------------------------------------------------------ ci.yml --

/** Test files that start the git or ssh test server (through any helper that does). */
function serverTestFiles() {
  const dir = join(REPO_ROOT, '__test__')
  const importsOf = (file) => [...readFileSync(file, 'utf8').matchAll(/^import [^;]*? from '\.\/(?:helpers\/)?([\w-]+\.mjs)'/gm)].map((m) => m[1])
  const servers = new Set(['git-server.mjs', 'ssh-server.mjs'])
  const helpers = readdirSync(join(dir, 'helpers'))
  for (let grew = true; grew; ) {
    grew = false
    for (const h of helpers) {
      if (!servers.has(h) && importsOf(join(dir, 'helpers', h)).some((i) => servers.has(i))) {
        servers.add(h)
        grew = true
      }
    }
  }
  return readdirSync(dir)
    .filter((f) => f.endsWith('.test.mjs') && importsOf(join(dir, f)).some((i) => servers.has(i)))
    .map((f) => `__test__/${f}`)
}

describe('ci.yml', () => {
  const test_ = must(ci, 'jobs', 'test').body
  const matrix = must(test_, 'strategy', 'matrix').body

  test('runs on push and pull_request, read-only, one run per ref', () => {
    assert.deepEqual(keys(must(ci, 'on').body).sort(), ['pull_request', 'push'])
    assert.equal(must(ci, 'permissions', 'contents').value, 'read')
    assert.deepEqual(keys(must(ci, 'permissions').body), ['contents'])
    assert.equal(must(ci, 'concurrency', 'group').value, 'ci-${{ github.ref }}')
    assert.equal(must(ci, 'concurrency', 'cancel-in-progress').value, 'true')
  })

  test('every job has a timeout', () => {
    const jobs = keys(must(ci, 'jobs').body)
    assert.deepEqual(jobs, ['lint', 'test'])
    for (const job of jobs) assert.match(must(ci, 'jobs', job, 'timeout-minutes').value, /^\d+$/, job)
  })

  test('lint: rustfmt, clippy with warnings denied, cargo test', () => {
    const runs = steps(must(ci, 'jobs', 'lint').body).map((s) => s.run)
    for (const cmd of ['cargo fmt --check', 'cargo clippy --all-targets -- -D warnings', 'cargo test']) {
      assert.ok(runs.includes(cmd), `lint runs no \`${cmd}\`: ${runs}`)
    }
  })

  test('test matrix: three OSes x Node 18, 20, 22, 24', () => {
    assert.deepEqual(flow(must(matrix, 'os').value), ['ubuntu-latest', 'macos-latest', 'windows-latest'])
    assert.deepEqual(flow(must(matrix, 'node').value), ['18', '20', '22', '24'])
    assert.equal(must(test_, 'runs-on').value, '${{ matrix.os }}')
    assert.equal(must(test_, 'defaults', 'run', 'shell').value, 'bash')
    assert.equal(must(test_, 'strategy', 'fail-fast').value, 'false')
  })

  test('the ubuntu + Node 20 cell runs bash .ci/run; the others build and run the JS tests', () => {
    const include = items(must(matrix, 'include').body)
    const full = include.filter((i) => get(i, 'full')?.value === 'true')
    assert.equal(full.length, 1)
    assert.equal(must(full[0], 'os').value, 'ubuntu-latest')
    assert.equal(must(full[0], 'node').value, '20')

    assert.equal(PKG.scripts['build:debug'], 'bash scripts/build.sh', 'the build step runs npm run build:debug')
    const all = steps(test_)
    const byRun = (cmd) => all.find((s) => s.run.split('\n').includes(cmd))
    assert.equal(byRun('bash .ci/run')?.if, '${{ matrix.full }}')
    for (const cmd of ['npm ci --no-audit --no-fund', 'bash scripts/build.sh', 'node --test --test-concurrency=1 $JS_TESTS']) {
      assert.equal(byRun(cmd)?.if, '${{ !matrix.full }}', cmd)
    }
    const bun = byRun('npx --no bun test --timeout 600000 $JS_TESTS')
    assert.equal(bun?.if, '${{ matrix.bun }}')
    // Bun on macOS and on Windows (Linux: .ci/run runs it)
    const bunCells = include.filter((i) => get(i, 'bun')?.value === 'true').map((i) => must(i, 'os').value)
    assert.deepEqual(bunCells.sort(), ['macos-latest', 'windows-latest'])
  })

  test('macOS and Windows run no test file that needs the git or ssh server', () => {
    const env = must(test_, 'env', 'JS_TESTS').value
    const m = /^\$\{\{ matrix\.os == 'ubuntu-latest' && '([^']+)' \|\| '([^']+)' \}\}$/.exec(env)
    assert.ok(m, `JS_TESTS is not "Linux: all, else: a list": ${env}`)
    assert.equal(m[1], '__test__/')
    const others = m[2].split(' ')
    const serverFiles = serverTestFiles()
    assert.ok(serverFiles.includes('__test__/git-server.test.mjs'), `${serverFiles}`)
    assert.ok(serverFiles.includes('__test__/safety.test.mjs'), 'state-repo.mjs starts the git server')
    for (const file of others) {
      assert.ok(readdirSync(join(REPO_ROOT, '__test__')).includes(file.replace('__test__/', '')), `${file} does not exist`)
      assert.ok(!serverFiles.includes(file), `${file} needs a test server`)
    }
    // Linux installs the servers before running every file
    const install = steps(test_).find((s) => s.run.includes('bash scripts/git-server.sh install'))
    assert.ok(install?.run.includes('bash scripts/ssh-server.sh install'))
    assert.equal(install.if, "${{ !matrix.full && matrix.os == 'ubuntu-latest' }}")
  })
})

// ------------------------------------------------------------- release.yml --

describe('release.yml', () => {
  const build = must(release, 'jobs', 'build').body
  const publish = must(release, 'jobs', 'publish').body

  test('runs on v* tags only', () => {
    assert.deepEqual(keys(must(release, 'on').body), ['push'])
    assert.deepEqual(keys(must(release, 'on', 'push').body), ['tags'])
    assert.deepEqual(items(must(release, 'on', 'push', 'tags').body).map((i) => i[0].text), ['"v*"'])
    assert.equal(must(release, 'permissions', 'contents').value, 'read')
    for (const job of keys(must(release, 'jobs').body)) {
      assert.match(must(release, 'jobs', job, 'timeout-minutes').value, /^\d+$/, job)
    }
  })

  test('builds exactly the napi.targets of package.json, each on its OS with its cross toolchain', () => {
    const include = items(must(build, 'strategy', 'matrix', 'include').body)
    const targets = include.map((i) => must(i, 'target').value)
    assert.equal(PKG.napi.targets.length, 8)
    assert.deepEqual(targets, PKG.napi.targets)
    for (const cell of include) {
      const target = must(cell, 'target').value
      const os = target.includes('-linux-') ? 'ubuntu-latest' : target.includes('-apple-') ? 'macos-latest' : 'windows-latest'
      assert.equal(must(cell, 'os').value, os, target)
      const cross = target.endsWith('-linux-gnu') ? '--use-napi-cross' : target.endsWith('-linux-musl') ? '--cross-compile' : ''
      assert.equal(must(cell, 'build').value.replace(/^""$/, ''), cross, target)
    }
    assert.equal(must(build, 'runs-on').value, '${{ matrix.os }}')
  })

  test('each build is a release build of its target (scripts/release-build.sh), uploaded as bindings-<target>', () => {
    const all = steps(build)
    const napi = all.find((s) => s.run.includes('bash scripts/release-build.sh'))
    assert.ok(napi, 'no release build step')
    assert.match(napi.run, /bash scripts\/release-build\.sh --target "\$TARGET" --out artifacts \$CROSS/)
    assert.equal(must(napi.lines, 'env', 'TARGET').value, '${{ matrix.target }}')
    assert.equal(must(napi.lines, 'env', 'CROSS').value, '${{ matrix.build }}')
    assert.match(must(build, 'steps').body.map((l) => l.text).join('\n'), /targets: \$\{\{ matrix\.target \}\}/)

    const zig = all.filter((s) => s.if === "${{ matrix.build == '--cross-compile' }}")
    assert.ok(zig.some((s) => s.uses?.startsWith('mlugg/setup-zig@')), 'zig for the musl targets')
    assert.ok(zig.some((s) => /cargo install --locked cargo-zigbuild@[\d.]+$/.test(s.run)), 'pinned cargo-zigbuild')

    const upload = all.find((s) => s.uses?.startsWith('actions/upload-artifact@'))
    assert.equal(must(upload.lines, 'with', 'name').value, 'bindings-${{ matrix.target }}')
    assert.equal(must(upload.lines, 'with', 'path').value, 'artifacts/*.node')
  })

  test('the linux-x64-gnu binary goes through scripts/release-check.sh (run by release-build.sh for that target)', () => {
    const name = `${PKG.napi.binaryName}.linux-x64-gnu.node`
    const script = readFileSync(join(REPO_ROOT, 'scripts', 'release-build.sh'), 'utf8')
    assert.match(script, /if \[ "\$target" = x86_64-unknown-linux-gnu \]; then\n\s+bash scripts\/release-check\.sh "\$out\/sst-local-state\.linux-x64-gnu\.node"/)
    // the release build step writes it where the upload takes *.node from
    assert.ok(steps(build).some((s) => s.run.includes('--out artifacts') && s.run.includes('release-build.sh')), name)
  })

  test('publish: after every build, with provenance, the tag checked first, the root package last', () => {
    assert.equal(must(publish, 'needs').value, 'build')
    assert.equal(must(publish, 'runs-on').value, 'ubuntu-latest')
    assert.equal(must(publish, 'permissions', 'id-token').value, 'write')
    assert.equal(must(publish, 'permissions', 'contents').value, 'read')
    const all = steps(publish)
    const index = (pred, what) => {
      const i = all.findIndex(pred)
      assert.notEqual(i, -1, what)
      return i
    }
    const node = all[index((s) => s.uses?.startsWith('actions/setup-node@'), 'setup-node')]
    assert.equal(must(node.lines, 'with', 'registry-url').value, 'https://registry.npmjs.org')

    const tag = index((s) => /if \[ "\$TAG" != "v\$version" \]/.test(s.run), 'the tag check')
    assert.equal(must(all[tag].lines, 'env', 'TAG').value, '${{ github.ref_name }}')
    const download = index((s) => s.uses?.startsWith('actions/download-artifact@'), 'download')
    assert.equal(must(all[download].lines, 'with', 'merge-multiple').value, 'true')
    assert.equal(must(all[download].lines, 'with', 'path').value, 'artifacts')
    assert.equal(must(all[download].lines, 'with', 'pattern').value, 'bindings-*')
    const pack = index((s) => s.run.includes('node scripts/pack.mjs --all --binaries artifacts --out dist'), 'pack.mjs')
    const pub = index((s) => s.run.includes('npm publish --provenance --access public "$tgz"'), 'npm publish')
    assert.ok(tag < pub && download < pack && pack < pub, 'order: tag check, download, pack, publish')
    assert.equal(must(all[pub].lines, 'env', 'NODE_AUTH_TOKEN').value, '${{ secrets.NPM_TOKEN }}')
    assert.match(all[pub].run, /root="dist\/sst-local-state-\$version\.tgz"/)
    assert.match(all[pub].run, /for tgz in "\$\{platform\[@\]\}" "\$root"; do/)
  })
})

test('actions are pinned to a major version', () => {
  const uses = [...ci, ...release].filter((l) => /^(- )?uses: /.test(l.text)).map((l) => l.text.replace(/^(- )?uses: /, ''))
  assert.ok(uses.length > 10)
  for (const u of uses) assert.match(u, /^[\w-]+\/[\w-]+@(v\d+|stable)$/, u)
})
