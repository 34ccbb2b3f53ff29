#!/usr/bin/env node
// Packs the npm packages of a release, as `napi pre-publish` would lay them
// out, without publishing anything:
//
//   node scripts/pack.mjs --binaries <dir> --out <dir> [--json]
//
// - one tarball per platform package npm/<platform>/ whose binary
//   `sst-local-state.<platform>.node` is in --binaries (the release workflow
//   downloads all eight there; a local run has the linux-x64-gnu one);
// - the root package, whose package.json gains `optionalDependencies` on all
//   eight platform packages at the root's version (npm installs only the one
//   whose os/cpu/libc match).
//
// In GitHub Actions, every package's `repository` names $GITHUB_REPOSITORY
// (npm provenance checks it). Every package must have the root's version; a platform package without its
// binary is an error only with --all (the release workflow passes it).
// Prints the tarballs' paths (root last), or one JSON object with --json.
import { execFileSync } from 'node:child_process'
import { copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const { values: args } = parseArgs({
  options: {
    binaries: { type: 'string' },
    out: { type: 'string' },
    all: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  },
})
if (!args.binaries || !args.out) {
  console.error('usage: node scripts/pack.mjs --binaries <dir> --out <dir> [--all] [--json]')
  process.exit(2)
}
const binaries = resolve(args.binaries)
const out = resolve(args.out)

const readJson = (file) => JSON.parse(readFileSync(file, 'utf8'))
const rootPkg = readJson(join(ROOT, 'package.json'))
const { version } = rootPkg
const binaryName = rootPkg.napi.binaryName
// npm provenance requires `repository` to name the repository that built the
// package: in GitHub Actions, the one running the workflow.
const repository = process.env.GITHUB_REPOSITORY
  ? { type: 'git', url: `git+https://github.com/${process.env.GITHUB_REPOSITORY}.git` }
  : rootPkg.repository
/** `pkg` with `repository` set when known. */
const withRepository = (pkg) => (repository ? { ...pkg, repository } : pkg)

/** `npm pack` of the folder `dir` into `out`; returns the tarball's path. */
function npmPack(dir) {
  const stdout = execFileSync('npm', ['pack', '--json', '--pack-destination', out], {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, npm_config_ignore_scripts: 'true', npm_config_update_notifier: 'false' },
  })
  return join(out, JSON.parse(stdout)[0].filename)
}

const stage = join(out, 'stage')
rmSync(stage, { recursive: true, force: true })
mkdirSync(stage, { recursive: true })

const platforms = readdirSync(join(ROOT, 'npm')).sort()
const optionalDependencies = {}
const tarballs = []
const missing = []
for (const platform of platforms) {
  const pkg = readJson(join(ROOT, 'npm', platform, 'package.json'))
  if (pkg.version !== version) throw new Error(`npm/${platform}/package.json has version ${pkg.version}, the root ${version}`)
  optionalDependencies[pkg.name] = version
  const binary = join(binaries, `${binaryName}.${platform}.node`)
  if (!existsSync(binary)) {
    missing.push(platform)
    continue
  }
  const dir = join(stage, platform)
  cpSync(join(ROOT, 'npm', platform), dir, { recursive: true })
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify(withRepository(pkg), null, 2)}\n`)
  copyFileSync(binary, join(dir, `${binaryName}.${platform}.node`))
  tarballs.push(npmPack(dir))
}
if (args.all && missing.length) throw new Error(`no binary in ${binaries} for: ${missing.join(', ')}`)
if (tarballs.length === 0) throw new Error(`no ${binaryName}.<platform>.node in ${binaries}`)

// The root package: its `files` (docs/ among them: the README links its pages)
// plus README/CHANGELOG, and the optional dependencies. devDependencies, scripts and
// overrides are for developing it.
const dir = join(stage, 'root')
mkdirSync(dir)
for (const file of [...rootPkg.files, 'README.md', 'CHANGELOG.md', 'LICENSE']) {
  if (existsSync(join(ROOT, file))) cpSync(join(ROOT, file), join(dir, file), { recursive: true })
  else if (rootPkg.files.includes(file)) throw new Error(`${file} (listed in package.json "files") does not exist: run the napi build first`)
}
const { devDependencies, scripts, overrides, ...published } = rootPkg
writeFileSync(join(dir, 'package.json'), `${JSON.stringify(withRepository({ ...published, optionalDependencies }), null, 2)}\n`)
tarballs.push(npmPack(dir))
rmSync(stage, { recursive: true, force: true })

if (args.json) console.log(JSON.stringify({ version, tarballs, root: tarballs.at(-1), missing }))
else for (const t of tarballs) console.log(t)
