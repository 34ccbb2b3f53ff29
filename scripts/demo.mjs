// The demo: the main job of sst-local-state on the built-in example app
// (examples/basic, home: "local"), in a throw-away workspace. Fixtures are
// made at run time (a fresh random passphrase; nothing secret is committed).
import { createCipheriv, randomBytes } from 'node:crypto'
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const { prepareStage, stageStatus, resolveConfigDir } = require('../index.js')

const root = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..')
const work = mkdtempSync(join(tmpdir(), 'sst-local-state-demo-'))
const project = join(work, 'project')
const configDir = join(work, 'ci-machine', 'sst')
const say = (line = '') => console.log(line)

try {
  say(`Your machine's SST config dir would be: ${resolveConfigDir()}`)
  say(`Demo workspace: ${work}`)
  cpSync(join(root, 'examples', 'basic'), project, { recursive: true })

  // The repository's committed state, as a previous deploy left it.
  const state = join(project, 'infra', 'state')
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
  say(`\n1. The repository holds the stage's state in infra/state/ (as committed by a previous deploy).`)

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

  say(`\n5. A local change nobody saved is never overwritten:`)
  writeFileSync(join(configDir, 'state', 'app', 'demo-app', 'dev.json'), '{"version":3,"checkpoint":{"stack":"organization/demo-app/dev","latest":null}}')
  try {
    await prepareStage({ stage: 'dev', cwd: project, configDir })
  } catch (err) {
    say(`   prepareStage rejected: ${err.code}`)
  }
  say('\nDemo finished.')
} finally {
  rmSync(work, { recursive: true, force: true })
}
