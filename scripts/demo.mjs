// The demo: the main job of sst-local-state on the built-in example app
// (examples/basic, home: "local"), in a throw-away workspace, with a bare git
// "remote" and two "machines" (SST config dirs). Fixtures are made at run time
// (fresh random keys; nothing secret is committed to this repository).
//  1. init: the team's age key; the passphrase will only ever be committed encrypted
//  2. machine A, first deploy: prepare (nothing yet), SST makes a passphrase,
//     secrets and a checkpoint (simulated: SST would need cloud credentials), commit + push
//  3. machine B, a CI-style checkout (depth 1, detached): prepare with the key from the CI secret
//  4. a deploy on B changes the checkpoint; commit + push; the remote's log with trailers
//  5. prepare before every sst command: SST's own changes are kept, a real divergence refused
import { createCipheriv, randomBytes } from 'node:crypto'
import { execFileSync } from 'node:child_process'
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const { prepareStage, stageStatus, commitStage, resolveConfigDir } = require('../index.js')

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const work = mkdtempSync(join(tmpdir(), 'sst-local-state-demo-'))
const remote = join(work, 'remote.git')
const projectA = join(work, 'machine-a', 'project')
const configA = join(work, 'machine-a', 'sst')
const projectB = join(work, 'machine-b', 'checkout')
const configB = join(work, 'machine-b', 'sst')
const keyFile = join(work, 'team-age-key.txt')
const say = (line = '') => console.log(line)
const stateFiles = (dir) => readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? stateFiles(join(dir, e.name)) : [join(dir, e.name)]))

try {
  say(`Your machine's SST config dir would be ${resolveConfigDir()} (demo workspace: ${work})`)
  const gitEnv = {
    ...process.env,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: join(work, 'gitconfig'),
    GIT_AUTHOR_NAME: 'Demo Dev', GIT_AUTHOR_EMAIL: 'dev@example.com',
    GIT_COMMITTER_NAME: 'Demo Dev', GIT_COMMITTER_EMAIL: 'dev@example.com',
  }
  const git = (args, cwd = work) => execFileSync('git', args, { cwd, env: gitEnv, encoding: 'utf8' })
  const cli = (args, cwd, env = {}) => execFileSync(process.execPath, [join(root, 'cli.js'), ...args], { cwd, env: { ...gitEnv, ...env }, encoding: 'utf8' })

  cpSync(join(root, 'examples', 'basic'), projectA, { recursive: true })
  say('\n1. sst-local-state init (the team\'s age key; its public half is committed):')
  for (const line of cli(['init', '--key-file', keyFile, '--config-dir', configA], projectA).trimEnd().split('\n')) say(`   ${line}`)
  git(['init', '-q', '--bare', '-b', 'main', remote])
  git(['init', '-q', '-b', 'main'], projectA)
  git(['add', '-A'], projectA)
  git(['commit', '-q', '-m', 'demo app'], projectA)
  git(['remote', 'add', 'origin', remote], projectA)
  git(['push', '-q', 'origin', 'main'], projectA)

  say('\n2. Machine A, first deploy of stage dev:')
  const first = await prepareStage({ stage: 'dev', cwd: projectA, configDir: configA })
  say(`   prepareStage: firstDeploy ${first.firstDeploy} (app "${first.app}" read from sst.config.ts)`)
  // what SST leaves after a first deploy: a passphrase, a secret, a checkpoint
  const key = randomBytes(32)
  const put = (rel, content) => {
    mkdirSync(dirname(join(configA, rel)), { recursive: true })
    writeFileSync(join(configA, rel), content)
  }
  const nonce = randomBytes(12)
  const cipher = createCipheriv('aes-256-gcm', key, nonce)
  const secret = Buffer.concat([nonce, cipher.update(JSON.stringify({ StripeKey: 'demo-value' })), cipher.final(), cipher.getAuthTag()])
  const checkpoint = {
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
  }
  put('state/passphrase/demo-app/dev.json', key.toString('base64'))
  put('state/secret/demo-app/dev.json', secret)
  put('state/app/demo-app/dev.json', JSON.stringify(checkpoint, null, 2))
  const saved = await commitStage({ stage: 'dev', cwd: projectA, configDir: configA })
  for (const f of saved.files) say(`   ${f.change.padEnd(8)} ${f.path}`)
  say(`   pushed ${saved.commit.slice(0, 12)} to ${saved.remote} ${saved.branch}; the passphrase went in age-encrypted:`)
  say(`   ${git(['--git-dir', remote, 'show', 'main:infra/state/passphrase/dev.age']).split('\n')[0]} ...`)

  say(`\n3. Machine B, a CI checkout (depth 1, detached); prepare with the key from the CI secret:`)
  git(['clone', '-q', '--depth', '1', `file://${remote}`, projectB])
  git(['checkout', '-q', '--detach'], projectB)
  process.env.SST_LOCAL_STATE_AGE_KEY = readFileSync(keyFile, 'utf8')
  const prepared = await prepareStage({ stage: 'dev', cwd: projectB, configDir: configB })
  for (const f of prepared.files) say(`   ${f.action.padEnd(9)} ${f.kind.padEnd(18)} ${relative(projectB, f.repoPath)} -> ${relative(configB, f.configPath)}`)
  for (const file of stateFiles(join(configB, 'state'))) say(`   ${(statSync(file).mode & 0o777).toString(8)} ${relative(configB, file)}`)
  const clean = await stageStatus({ stage: 'dev', cwd: projectB, configDir: configB })
  say(`   stageStatus: clean ${clean.clean}, ${clean.configCheckpoint.resources} resources, SST lock ${clean.sstLock ? clean.sstLock.command : 'none'}`)

  say('\n4. A deploy on B adds a resource and writes its update record (simulated); commitStage:')
  const checkpointB = join(configB, 'state', 'app', 'demo-app', 'dev.json')
  const deployed = JSON.parse(readFileSync(checkpointB, 'utf8'))
  deployed.checkpoint.latest.resources.push({ urn: 'urn:pulumi:dev::demo-app::aws:lambda/function:Function::Api', type: 'aws:lambda/function:Function', custom: true, id: 'demo-api' })
  writeFileSync(checkpointB, JSON.stringify(deployed, null, 2))
  const updateId = randomBytes(12).toString('hex')
  mkdirSync(join(configB, 'state', 'update', 'demo-app', 'dev'), { recursive: true })
  writeFileSync(join(configB, 'state', 'update', 'demo-app', 'dev', `${updateId}.json`), JSON.stringify({ id: updateId, version: '4.17.1', command: 'deploy', errors: null, timeStarted: new Date().toISOString() }))
  const committed = await commitStage({ stage: 'dev', cwd: projectB, configDir: configB, branch: 'main' })
  for (const step of committed.steps) say(`   ${step.name.padEnd(50)} ${String(step.ms).padStart(5)} ms`)
  say(`   pushed ${committed.commit.slice(0, 12)} (only ${committed.files.map((f) => f.path).join(', ')}) in ${committed.durationMs} ms`)
  say("\n   The remote's main branch:")
  for (const line of git(['--git-dir', remote, 'log', '--format=%h %s%n%b', '-3']).trimEnd().split('\n')) say(`   ${line}`)

  say('\n5. prepare runs before every sst command: what SST changed here is kept; a real divergence is refused:')
  writeFileSync(checkpointB, '{"version":3,"checkpoint":{"stack":"organization/demo-app/dev","latest":null}}')
  const kept = await prepareStage({ stage: 'dev', cwd: projectB, configDir: configB })
  say(`   prepareStage: app ${kept.files.find((f) => f.kind === 'app').action}; ${kept.warnings.map((w) => `warning[${w.code}]`).join(', ')}`)
  // another machine's state lands in this checkout: the repository moved too
  const repoCheckpoint = join(projectB, 'infra', 'state', 'app', 'dev.json')
  const theirs = JSON.parse(readFileSync(repoCheckpoint, 'utf8'))
  theirs.checkpoint.latest.resources.push({ urn: 'urn:pulumi:dev::demo-app::demo:Other::from-elsewhere', type: 'demo:Other' })
  writeFileSync(repoCheckpoint, JSON.stringify(theirs))
  try {
    await prepareStage({ stage: 'dev', cwd: projectB, configDir: configB })
    say('   prepareStage: not refused (unexpected)')
  } catch (err) {
    say(`   then the repository moved too: prepareStage rejected with ${err.code} (${err.files.map((f) => relative(configB, f)).join(', ')})`)
  }
  say('\nDemo finished.')
} finally {
  rmSync(work, { recursive: true, force: true })
}
