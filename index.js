'use strict'
// CommonJS entry: `require('sst-local-state')`. The API is the native addon's
// (types: index.d.ts); load.cjs explains how it is found.

// Node's own modules by process.getBuiltinModule where it exists (Node 20.16+,
// Bun): an ES module bundle that inlined this file has no `require`.
const builtin = (name) =>
  typeof process.getBuiltinModule === 'function' ? process.getBuiltinModule(name) : require(name)
const { createRequire } = builtin('node:module')
const { closeSync, fstatSync, openSync, readFileSync, readSync } = builtin('node:fs')
const { dirname, join } = builtin('node:path')
const { loadBinding } = require('./load.cjs')

// __filename is this file, or the bundle this file was inlined into (an ES
// module bundle has none: its project is then taken to be the working dir).
const from = typeof __filename === 'string' ? __filename : join(process.cwd(), 'index.js')
module.exports = loadBinding(from, { createRequire, readFileSync, openSync, readSync, fstatSync, closeSync, dirname, join })
