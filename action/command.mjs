// The deploy command as `sst-local-state run` starts it (run passes on
// SIGINT and SIGTERM): records in GITHUB_STATE that the command started (so
// that post knows a deploy may have changed resources), runs it with
// inherited stdio, passes the signals on, and ends as it ended (the same
// exit code, or killed by the same signal).
import { spawn } from 'node:child_process'

import { saveState } from './lib.mjs'

const [program, ...args] = process.argv.slice(2)
saveState('phase', 'command')
const child = spawn(program, args, { stdio: 'inherit', shell: false })
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal))
child.on('error', (err) => {
  process.stderr.write(`cannot run \`${program}\`: ${err.message}\n`)
  process.exit(127)
})
child.on('close', (code, signal) => {
  if (signal) {
    process.removeAllListeners(signal)
    process.kill(process.pid, signal)
  }
  process.exit(code ?? 1)
})
