// `npm run demo` (scripts/demo.mjs), the README's demo command, runs the
// main job end to end and shows what it claims to show.
// Runs under `node --test` and `bun test`.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'

import { SLOW, assertOk, node } from './helpers/common.mjs'
import { REPO_ROOT } from './helpers/sst.mjs'

test('the demo runs the main job end to end', SLOW, () => {
  // as `npm run demo` runs it: with Node (also when this file runs under bun)
  const res = assertOk(node([join(REPO_ROOT, 'scripts', 'demo.mjs')], REPO_ROOT, {}, { runtime: 'node' }), 'demo')
  const out = res.stdout
  assert.match(out, /pushed [0-9a-f]{12} \(only infra\/state\/app\/dev\.json\)/)
  assert.match(out, /chore\(sst-state\): demo-app\/dev deploy: 2 -> 3 resources \[skip ci\]/)
  assert.match(out, /prepareStage: app kept; warning\[UNSAVED\]/)
  assert.match(out, /prepareStage rejected with UNSAVED_STATE/)
  assert.match(out, /^Demo finished\.$/m)
  assert.doesNotMatch(out + res.stderr, /AGE-SECRET-KEY-1/, 'the demo printed the secret key')
})
