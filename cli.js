#!/usr/bin/env node
// The `sst-local-state` command: all of it is implemented in Rust (runCli).
const fail = (err) => {
  console.error(`error[${(err && err.code) || 'INTERNAL'}]: ${err && err.message}`)
  process.exitCode = 1
}
let runCli
try {
  ;({ runCli } = require('./index.js'))
} catch (err) {
  fail(err) // e.g. BINDING_NOT_FOUND: one line that says what to install, not a stack trace
}
if (runCli) runCli(process.argv.slice(2)).then((code) => { process.exitCode = code }, fail)
