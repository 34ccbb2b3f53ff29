// `prepareStage()` called in `app()` of `sst.config.ts`, evaluated by the
// real `sst` CLI before every command: SST's own changes between two
// commits (`secret set`, a deploy) are kept, `commit` saves them, and a
// real divergence fails the next `sst` command with a line that
// `--print-logs` shows. (The package is loaded by a computed `import()`:
// SST bundles sst.config.ts with esbuild, which cannot bundle the native
// addon; see the README.)
// Runs under `node --test` and `bun test`.
import { test, describe, after } from 'node:test'
import assert from 'node:assert/strict'
import { cpSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

import { REPO_ROOT, makeSstProject, runSst } from './helpers/sst.mjs'
import { SLOW, assertOk, cleanup, cli, gitOk, removeAtCleanup, tempDir } from './helpers/common.mjs'

after(cleanup)

const CONFIG = `/// <reference path="./.sst/platform/config.d.ts" />
export default $config({
  async app(input) {
    // restore this stage's state before SST reads it (a computed specifier:
    // esbuild leaves it alone, node resolves it from the app's node_modules)
    const pkg = "sst-local-state";
    const { prepareStage } = await import(pkg);
    await prepareStage({ stage: input?.stage, cwd: process.cwd() });
    return { name: "demo-app", removal: "remove", home: "local" };
  },
  async run() {},
});
`

/** sst in `project` with config home `home`. */
const sst = (project, home, args) => runSst([...args, '--stage', 'dev'], { cwd: project, configHome: home })

describe('prepareStage() in sst.config.ts, before every sst command', () => {
  test('secret set, secret set, secret list, a deploy, another command: all work; commit saves it; a divergence fails with a visible line', SLOW, async () => {
    const project = (await makeSstProject()).dir
    removeAtCleanup(project)
    // machine A (the plain example config) made the state the repository holds
    const homeA = tempDir('sls-home-a-')
    assertOk(sst(project, homeA, ['secret', 'set', 'RepoOnly', 'from-the-repository']), 'secret set on A')
    const state = join(project, 'infra', 'state')
    for (const key of ['passphrase', 'secret']) {
      mkdirSync(join(state, key), { recursive: true })
      cpSync(join(homeA, 'sst', 'state', key, 'demo-app', 'dev.json'), join(state, key, 'dev.json'))
    }
    // the app now calls prepareStage() in app(); the package is installed in the app
    writeFileSync(join(project, 'sst.config.ts'), CONFIG)
    mkdirSync(join(project, 'node_modules'), { recursive: true })
    symlinkSync(REPO_ROOT, join(project, 'node_modules', 'sst-local-state'), 'junction')
    writeFileSync(join(project, '.gitignore'), 'node_modules\n.sst\n')
    gitOk(['init', '-q', '-b', 'main'], project)
    gitOk(['add', '-A'], project)
    gitOk(['-c', 'user.name=T', '-c', 'user.email=t@example.com', 'commit', '-q', '-m', 'state'], project)

    // machine B: a fresh config dir; every command runs app() and so prepare first
    const homeB = tempDir('sls-home-b-')
    const configB = join(homeB, 'sst')
    assertOk(sst(project, homeB, ['secret', 'set', 'A', 'one']), 'secret set A')
    assertOk(sst(project, homeB, ['secret', 'set', 'B', 'two']), 'secret set B (after SST changed the secrets)')
    const list = assertOk(sst(project, homeB, ['secret', 'list']), 'secret list')
    for (const line of ['RepoOnly=from-the-repository', 'A=one', 'B=two']) {
      assert.ok(list.stdout.split('\n').includes(line), `${line} missing:\n${list.stdout}`)
    }
    // a (simulated) deploy writes the checkpoint; the next command still works
    const checkpoint = JSON.stringify({ version: 3, checkpoint: { stack: 'organization/demo-app/dev', latest: { resources: [{ urn: 'urn:pulumi:dev::demo-app::pulumi:pulumi:Stack::demo-app-dev', type: 'pulumi:pulumi:Stack' }] } } })
    mkdirSync(join(configB, 'state', 'app', 'demo-app'), { recursive: true })
    writeFileSync(join(configB, 'state', 'app', 'demo-app', 'dev.json'), checkpoint)
    assertOk(sst(project, homeB, ['secret', 'list']), 'secret list after the deploy')

    // commit saves all of it
    const saved = assertOk(cli(['commit', '--stage', 'dev', '--config-dir', configB, '--no-push', '--json'], project), 'commit')
    assert.deepEqual(saved.json.files.map((f) => f.path).sort(), ['infra/state/app/dev.json', 'infra/state/secret/dev.json'])
    assert.equal(readFileSync(join(state, 'app', 'dev.json'), 'utf8'), checkpoint)

    // B sets another secret (config dir moves) while another machine's commit
    // changes the secrets in the repository (it moves too): a real divergence
    assertOk(sst(project, homeB, ['secret', 'set', 'D', 'four']), 'secret set D')
    const homeC = tempDir('sls-home-c-')
    assertOk(sst(project, homeC, ['secret', 'set', 'C', 'three']), 'secret set C on machine C')
    cpSync(join(homeC, 'sst', 'state', 'secret', 'demo-app', 'dev.json'), join(state, 'secret', 'dev.json'))
    gitOk(['-c', 'user.name=T', '-c', 'user.email=t@example.com', 'commit', '-q', '-am', 'machine C'], project)
    const refused = sst(project, homeB, ['secret', 'list'])
    assert.notEqual(refused.status, 0, refused.stdout)
    assert.match(refused.stderr, /Unexpected error occurred/) // all SST itself shows
    const logs = runSst(['secret', 'list', '--stage', 'dev', '--print-logs'], { cwd: project, configHome: homeB })
    assert.match(logs.stdout + logs.stderr, /sst-local-state error\[UNSAVED_STATE\]: /)
    assert.match(logs.stdout + logs.stderr, /`force: true`/)
    // nothing of B's was touched
    assert.ok(readFileSync(join(configB, 'state', 'secret', 'demo-app', 'dev.json')).length > 0)
  })
})
