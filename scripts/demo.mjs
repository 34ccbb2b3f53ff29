// The demo: where SST keeps the local state of the built-in example app
// (examples/basic) and where sst-local-state keeps it in the repository.
import { createRequire } from 'node:module'
const require = createRequire(import.meta.url)
const { resolveConfigDir } = require('../index.js')

const app = 'demo-app'
const stage = 'dev'
const configDir = resolveConfigDir()
console.log(`SST config dir: ${configDir}`)
for (const [key, file] of [['app', stage], ['passphrase', stage], ['secret', stage], ['secret', '_fallback'], ['passphrase', '_fallback']]) {
  console.log(`  ${key.padEnd(10)} repo infra/state/${key}/${file}.json  <->  ${configDir}/state/${key}/${app}/${file}.json`)
}
