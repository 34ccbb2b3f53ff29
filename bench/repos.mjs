// Git fixtures for the benchmark: a repository with exactly N tracked files
// (an SST app with its state in infra/state/ plus monorepo sources), written
// straight into a bare repository with `git fast-import` (seconds for 50,000
// files, where `git add` would take much longer), then a CI-style checkout.
import { spawnSync } from 'node:child_process'
import { closeSync, openSync, rmSync, symlinkSync, writeSync } from 'node:fs'
import { join } from 'node:path'

import { prng, sourceFile } from './fixtures.mjs'

export const APP = 'observability'

export const SST_CONFIG_TS = `/// <reference path="./.sst/platform/config.d.ts" />

export default $config({
  app(input) {
    return {
      name: "${APP}",
      removal: input?.stage === "production" ? "retain" : "remove",
      home: "local",
    };
  },
  async run() {
    new sst.aws.Function("Api", { handler: "packages/pkg-0/src/d0/file-0.handler", url: true });
  },
});
`

/** Runs git; throws with its output on failure; returns stdout. */
export function git(args, { cwd, env, input } = {}) {
  const res = spawnSync('git', args, {
    cwd,
    env,
    input,
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
    stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  })
  if (res.error) throw res.error
  if (res.status !== 0) throw new Error(`git ${args.join(' ')} failed (${res.status}):\n${res.stdout}${res.stderr}`)
  return res.stdout
}

/**
 * Fills the bare repository `bare` (branch main, one commit) with exactly
 * `files` tracked files: the project files, `stateFiles` ({ repoRelPath: Buffer|string }),
 * and generated sources for the rest. Returns the commit id.
 */
export function fillRepo(bare, { files, stateFiles, tmp, env, seed = 1 }) {
  const fixed = {
    '.gitignore': 'node_modules\n.sst\n',
    'package.json': `${JSON.stringify({ name: APP, private: true, type: 'module', devDependencies: { sst: '4.17.1' } }, null, 2)}\n`,
    'sst.config.ts': SST_CONFIG_TS,
    'tsconfig.json': '{ "compilerOptions": { "strict": true, "module": "esnext", "moduleResolution": "bundler" } }\n',
    ...stateFiles,
  }
  const fillers = files - Object.keys(fixed).length
  if (fillers < 0) throw new Error(`a repository of ${files} files cannot hold ${Object.keys(fixed).length} fixed files`)
  const streamFile = join(tmp, `fast-import-${files}.stream`)
  const fd = openSync(streamFile, 'w')
  const write = (s) => writeSync(fd, s)
  const when = 1761955200 // 2025-11-01
  const msg = `app with its deploy state (${files} files)\n`
  write(`commit refs/heads/main\nmark :1\nauthor Bench <bench@example.com> ${when} +0000\ncommitter Bench <bench@example.com> ${when} +0000\n`)
  write(`data ${Buffer.byteLength(msg)}\n${msg}`)
  const add = (path, content) => {
    const buf = Buffer.isBuffer(content) ? content : Buffer.from(content)
    write(`M 100644 inline ${path}\ndata ${buf.length}\n`)
    writeSync(fd, buf)
    write('\n')
  }
  for (const [path, content] of Object.entries(fixed)) add(path, content)
  const rnd = prng(seed * 1000 + files)
  for (let i = 0; i < fillers; i++) {
    // 250 files per package, 25 per directory, like a real monorepo
    const pkg = Math.floor(i / 250)
    const dir = Math.floor((i % 250) / 25)
    add(`packages/pkg-${pkg}/src/d${dir}/file-${i % 25}.ts`, sourceFile(rnd, i))
  }
  write('done\n')
  closeSync(fd)
  fastImport(bare, streamFile, env)
  const count = Number(git(['ls-tree', '-r', '--name-only', 'main'], { cwd: bare, env }).trim().split('\n').length)
  if (count !== files) throw new Error(`expected ${files} tracked files, got ${count}`)
  return git(['rev-parse', 'main'], { cwd: bare, env }).trim()
}

/** Feeds `streamFile` (then removed) to `git fast-import` in `dir`, then packs everything into one pack, as a hosted remote would have. */
export function fastImport(dir, streamFile, env) {
  const fdIn = openSync(streamFile, 'r')
  try {
    const res = spawnSync('git', ['fast-import', '--quiet', '--done'], { cwd: dir, env, stdio: [fdIn, 'pipe', 'pipe'], encoding: 'utf8' })
    if (res.status !== 0) throw new Error(`git fast-import failed:\n${res.stderr}`)
  } finally {
    closeSync(fdIn)
    rmSync(streamFile, { force: true })
  }
  git(['repack', '-a', '-d', '-q'], { cwd: dir, env })
}

/**
 * A CI-style checkout of `bare`: depth 1, detached HEAD, no local branch,
 * `origin` pointing at `remoteUrl` (the smart-HTTP server), node_modules
 * linked to this repository's (where the real `sst` package is).
 */
export function ciCheckout(bare, dest, { remoteUrl, env, nodeModules }) {
  const times = {}
  let t = Date.now()
  const lap = (name) => {
    times[name] = Date.now() - t
    t = Date.now()
  }
  git(['clone', '-q', '--depth', '1', '--no-local', `file://${bare}`, dest], { env })
  lap('clone')
  git(['remote', 'set-url', 'origin', remoteUrl], { cwd: dest, env })
  git(['checkout', '-q', '--detach'], { cwd: dest, env })
  git(['branch', '-D', '-q', 'main'], { cwd: dest, env })
  symlinkSync(nodeModules, join(dest, 'node_modules'))
  lap('detach')
  // a fresh, non-racy index, as after a checkout made minutes before the deploy
  spawnSync('sleep', ['1.1'])
  git(['update-index', '-q', '--refresh'], { cwd: dest, env })
  git(['status', '--porcelain'], { cwd: dest, env })
  lap('index')
  return { head: git(['rev-parse', 'HEAD'], { cwd: dest, env }).trim(), times }
}

/**
 * Puts a checkout and its remote back where every commit run starts: the
 * remote's main at `base`, the checkout detached at `base` with a clean
 * worktree, no local main (the seed's `git checkout -b main` needs that),
 * origin/main known at `base`.
 */
export function resetCommitFixture(checkout, bare, base, env) {
  git(['update-ref', 'refs/heads/main', base], { cwd: bare, env })
  git(['checkout', '-q', '--detach'], { cwd: checkout, env })
  git(['reset', '-q', '--hard', base], { cwd: checkout, env })
  spawnSync('git', ['branch', '-D', '-q', 'main'], { cwd: checkout, env, stdio: 'ignore' })
  spawnSync('git', ['config', '--remove-section', 'branch.main'], { cwd: checkout, env, stdio: 'ignore' })
  git(['update-ref', 'refs/remotes/origin/main', base], { cwd: checkout, env })
  git(['clean', '-q', '-fd', '--', 'infra'], { cwd: checkout, env })
}
