// Re-renders BENCHMARKS.md from bench/results.json (the raw results of the
// last written run) after a change to bench/report.mjs, without measuring
// again:  node bench/render.mjs [results.json] [out.md]
import { readFileSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

import { renderReport } from './report.mjs'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const input = process.argv[2] ?? join(root, 'bench', 'results.json')
const output = process.argv[3] ?? join(root, 'BENCHMARKS.md')
const results = JSON.parse(readFileSync(input, 'utf8'))
writeFileSync(output, renderReport(results, { quick: results.quick }).markdown)
console.error(`wrote ${output} from ${input}`)
