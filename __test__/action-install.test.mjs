// The GitHub Action's install path: a project whose lockfile lacks
// sst-local-state, so main installs the package with npm into RUNNER_TEMP
// from the registry of npm's config: a local verdaccio (helpers/registry.mjs)
// holding this version, packed with the linux-x64-gnu addon (the release
// build when there is one, else the debug addon, stripped) and stand-ins for
// the other platforms. The runner's environment names no registry: the
// project's .npmrc does, as a repository's own .npmrc would. Linux x64 only
// (the addon built here). Runs under `node --test` and `bun test`.
import { test, describe, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

import { SLOW, cleanup, gitOk } from './helpers/common.mjs'
import { REPO_ROOT } from './helpers/sst.mjs'
import { deployScript, job, lockOnServer, resourcesOnBranch, show } from './helpers/action.mjs'
import { gitServer, seededRepo } from './helpers/state-repo.mjs'
import { linuxX64Binary, packRelease, publish, startRegistry } from './helpers/registry.mjs'

after(cleanup)

const VERSION = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')).version
const binary = process.platform === 'linux' && process.arch === 'x64' ? linuxX64Binary() : null
const opts = { ...SLOW, skip: binary ? false : 'needs the linux-x64-gnu addon (Linux x64)' }

let registry

before(() => {
  if (opts.skip) return
  registry = startRegistry()
  const dist = packRelease(REPO_ROOT, { 'linux-x64-gnu': binary }, registry.env)
  const res = publish(REPO_ROOT, dist, registry.env)
  assert.equal(res.status, 0, `publish.sh failed:\n${res.stdout}\n${res.stderr}`)
})

describe('the GitHub Action without the package in the project', () => {
  test("the lockfile lacks sst-local-state, no version input: main installs the action's version from the project's registry into RUNNER_TEMP and deploys", opts, async () => {
    const server = await gitServer()
    const repo = await seededRepo('action-install')
    // the runner's own npm config (no registry named): npmjs.org is never asked
    const j = await job(repo, 'install', server, { installed: false, env: { npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' } })
    writeFileSync(join(j.workspace, '.npmrc'), `registry=${registry.url}\n`)
    const res = await j.main({ command: `node ${deployScript()} ${j.checkpoint} installed`, version: '' }).done
    assert.equal(res.status, 0, show(res))
    const prefix = join(j.env.RUNNER_TEMP, `sst-local-state-${VERSION}`)
    assert.match(res.stdout, new RegExp(`installing sst-local-state@${VERSION.replace(/\./g, '\\.')} into ${prefix}`))
    assert.match(res.stdout, new RegExp(`using sst-local-state ${VERSION.replace(/\./g, '\\.')} from npm`))
    const installed = join(prefix, 'node_modules')
    assert.equal(JSON.parse(readFileSync(join(installed, 'sst-local-state', 'package.json'), 'utf8')).version, VERSION)
    assert.deepEqual(readdirSync(installed).filter((d) => d.startsWith('sst-local-state-')), ['sst-local-state-linux-x64-gnu'])
    assert.equal(j.state().cli, join(installed, 'sst-local-state', 'cli.js'), 'main ran the installed CLI')
    assert.ok(!existsSync(join(j.workspace, 'node_modules')), 'nothing installed into the project')
    assert.ok(resourcesOnBranch(repo).includes('installed'))
    assert.equal(j.outputs()['state-commit'], gitOk(['--git-dir', repo.path, 'rev-parse', 'main']).trim())
    assert.equal(j.outputs().changed, 'true')
    assert.match(j.summary(), /\| exit code \| 0 \|/)
    assert.equal(lockOnServer(repo), null)
    const post = await j.post()
    assert.equal(post.status, 0, show(post))
  })
})
