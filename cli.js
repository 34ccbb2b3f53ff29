#!/usr/bin/env node
// The `sst-local-state` command: all of it is implemented in Rust (runCli).
const { runCli } = require('./index.js')

runCli(process.argv.slice(2)).then(
  (code) => { process.exitCode = code },
  (err) => { console.error(`error[${err.code || 'INTERNAL'}]: ${err.message}`); process.exitCode = 1 },
)
