// ES module entry: `import { prepareStage } from 'sst-local-state'` and
// `await import('sst-local-state')` in sst.config.ts. The API is the native
// addon's (types: index.d.ts); load.cjs explains how it is found.
import { closeSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { loadBinding } from './load.cjs'

// This file, or the bundle it was inlined into: `import.meta` is empty in a
// CommonJS bundle, which has `__filename` instead.
const from = import.meta.url
  ? fileURLToPath(import.meta.url)
  : typeof __filename === 'string'
    ? __filename
    : join(process.cwd(), 'index.mjs')
const binding = loadBinding(from, { createRequire, readFileSync, openSync, readSync, fstatSync, closeSync, dirname, join })

export default binding
export const { commitStage, listLocks, lockStage, prepareStage, resolveConfigDir, runCli, runStage, stageStatus, unlockStage, __napiBindingTarget } = binding
export const { rollbackStage, stageHistory } = binding
// show, prune, doctor (the CLI's commands of the same names)
export const { doctorStage, pruneStage, showStage } = binding
// rekey and encrypt (project-wide passphrase commits)
export const { encryptPassphrases, rekeyPassphrases } = binding
