// The demo: the main job of sst-local-state on the built-in example app
// (examples/basic, home: "local"), in a throw-away workspace: a bare "remote",
// a CI-style checkout (depth 1, detached), prepare, a simulated deploy,
// commit + push, and the pushed commit. Fixtures are made at run time (a
// fresh random passphrase; nothing secret is committed to this repository).
import { createCipheriv, randomBytes } from 'node:crypto'
import { execFileSync } from 'node:child_process'
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const { prepareStage, stageStatus, commitStage, resolveConfigDir } = require('../index.js')

const root = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..')
const work = mkdtempSync(join(tmpdir(), 'sst-local-state-demo-'))
const seed = join(work, 'seed')
const remote = join(work, 'remote.git')
const project = join(work, 'ci-checkout')
const configDir = join(work, 'ci-machine', 'sst')
const say = (line = '') => console.log(line)

try {
  say(`Your machine's SST config dir would be: ${resolveConfigDir()}`)
  say(`Demo workspace: ${work}`)
  const gitEnv = {
    ...process.env,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: join(work, 'gitconfig'),
    GIT_AUTHOR_NAME: 'Demo Dev', GIT_AUTHOR_EMAIL: 'dev@example.com',
    GIT_COMMITTER_NAME: 'Demo Dev', GIT_COMMITTER_EMAIL: 'dev@example.com',
  }
  const git = (args, cwd = work) => execFileSync('git', args, { cwd, env: gitEnv, encoding: 'utf8' })
  cpSync(join(root, 'examples', 'basic'), seed, { recursive: true })

  // The repository's committed state, as a previous deploy left it.
  const state = join(seed, 'infra', 'state')
  const key = randomBytes(32)
  const encrypt = (obj, k) => {
    const nonce = randomBytes(12)
    const c = createCipheriv('aes-256-gcm', k, nonce)
    return Buffer.concat([nonce, c.update(JSON.stringify(obj)), c.final(), c.getAuthTag()])
  }
  const fallbackKey = randomBytes(32)
  const files = {
    'app/dev.json': JSON.stringify({
      version: 3,
      checkpoint: {
        stack: 'organization/demo-app/dev',
        latest: {
          manifest: { time: new Date().toISOString(), magic: 'demo', version: 'v3.0.0' },
          resources: [
            { urn: 'urn:pulumi:dev::demo-app::pulumi:pulumi:Stack::demo-app-dev', type: 'pulumi:pulumi:Stack', custom: false },
            { urn: 'urn:pulumi:dev::demo-app::aws:s3/bucket:Bucket::Uploads', type: 'aws:s3/bucket:Bucket', custom: true, id: 'demo-uploads-1a2b' },
          ],
        },
      },
    }, null, 2),
    'passphrase/dev.json': key.toString('base64'),
    'secret/dev.json': encrypt({ StripeKey: 'demo-value' }, key),
    'passphrase/_fallback.json': fallbackKey.toString('base64'),
    'secret/_fallback.json': encrypt({ SentryDsn: 'demo-fallback' }, fallbackKey),
  }
  for (const [rel, content] of Object.entries(files)) {
    mkdirSync(join(state, rel, '..'), { recursive: true })
    writeFileSync(join(state, rel), content)
  }
  git(['init', '-q', '--bare', '-b', 'main', remote])
  git(['init', '-q', '-b', 'main'], seed)
  git(['add', '-A'], seed)
  git(['commit', '-q', '-m', 'demo app with its deploy state'], seed)
  git(['push', '-q', remote, 'main'], seed)
  git(['clone', '-q', '--depth', '1', `file://${remote}`, project])
  git(['checkout', '-q', '--detach'], project)
  say(`\n1. A remote (${remote}) whose main branch holds the app and its state in infra/state/;`)
  say(`   a CI-style checkout of it: depth 1, detached HEAD (${project}).`)

  say(`\n2. prepareStage({ stage: 'dev' }) on a fresh CI machine (config dir ${configDir}):`)
  const prepared = await prepareStage({ stage: 'dev', cwd: project, configDir })
  for (const f of prepared.files) {
    say(`   ${f.action.padEnd(9)} ${f.kind.padEnd(18)} ${relative(project, f.repoPath)} -> ${relative(configDir, f.configPath)}`)
  }
  say(`   app name "${prepared.app}" read from sst.config.ts; ${prepared.checkpoint.resources} resources; ${prepared.durationMs} ms`)

  say(`\n3. What SST now finds in its config dir:`)
  const walk = (d) => readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(d, e.name)) : [join(d, e.name)]))
  for (const file of walk(join(configDir, 'state'))) {
    say(`   ${(statSync(file).mode & 0o777).toString(8)} ${relative(configDir, file)}`)
  }

  say(`\n4. stageStatus({ stage: 'dev' }):`)
  const status = await stageStatus({ stage: 'dev', cwd: project, configDir })
  for (const f of status.files) say(`   ${f.kind.padEnd(18)} ${f.state}`)
  say(`   clean: ${status.clean}; SST lock: ${status.sstLock ? status.sstLock.command : 'none'}`)

  say(`\n5. The deploy (simulated here: SST would need cloud credentials) adds a resource and writes its update record:`)
  const checkpointFile = join(configDir, 'state', 'app', 'demo-app', 'dev.json')
  const deployed = JSON.parse(readFileSync(checkpointFile, 'utf8'))
  deployed.checkpoint.latest.resources.push({ urn: 'urn:pulumi:dev::demo-app::aws:lambda/function:Function::Api', type: 'aws:lambda/function:Function', custom: true, id: 'demo-api' })
  writeFileSync(checkpointFile, JSON.stringify(deployed, null, 2))
  const updateId = randomBytes(12).toString('hex')
  mkdirSync(join(configDir, 'state', 'update', 'demo-app', 'dev'), { recursive: true })
  writeFileSync(join(configDir, 'state', 'update', 'demo-app', 'dev', `${updateId}.json`), JSON.stringify({ id: updateId, version: '4.17.1', command: 'deploy', errors: null, timeStarted: new Date().toISOString() }))
  say(`   stageStatus: app ${(await stageStatus({ stage: 'dev', cwd: project, configDir })).files.find((f) => f.kind === 'app').state}`)

  say(`\n6. commitStage({ stage: 'dev', branch: 'main' }): one commit of the state files only, pushed without force:`)
  const committed = await commitStage({ stage: 'dev', cwd: project, configDir, branch: 'main' })
  for (const step of committed.steps) say(`   ${step.name.padEnd(50)} ${String(step.ms).padStart(5)} ms`)
  for (const f of committed.files) say(`   ${f.change} ${f.path}`)
  say(`   pushed ${committed.commit} to ${committed.remote} ${committed.branch} in ${committed.durationMs} ms`)

  say(`\n7. The remote's main branch now:`)
  for (const line of git(['--git-dir', remote, 'log', '--format=%h %s%n%b', '-2']).trimEnd().split('\n')) say(`   ${line}`)

  say(`\n8. A local change nobody saved is never overwritten by the next prepare:`)
  writeFileSync(checkpointFile, '{"version":3,"checkpoint":{"stack":"organization/demo-app/dev","latest":null}}')
  try {
    await prepareStage({ stage: 'dev', cwd: project, configDir })
  } catch (err) {
    say(`   prepareStage rejected: ${err.code} (${err.files.length} file)`)
  }
  say('\nDemo finished.')
} finally {
  rmSync(work, { recursive: true, force: true })
}
