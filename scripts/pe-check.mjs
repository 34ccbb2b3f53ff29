#!/usr/bin/env node
// Checks that a Windows addon (a PE DLL) needs no C runtime DLL: built with
// +crt-static (.cargo/config.toml), it links the C runtime in and loads on a
// Windows without the Visual C++ Redistributable. The release workflow runs
// it on both Windows builds.
//
//   node scripts/pe-check.mjs <file.node>
//       Lists the DLLs the file imports (also delay-loaded ones); exit 1 when
//       one is a C runtime: vcruntime*, msvcp*, msvcr*, ucrtbase*, api-ms-win-crt-*.
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const CRT = /^(vcruntime\d+\w*|msvcp\d+\w*|msvcr\d+\w*|ucrtbase\w*|api-ms-win-crt-[\w-]+)\.dll$/i

/** The DLL names `pe` (a Buffer) imports, in order: { imports, delayed }. */
export function peImports(pe) {
  if (pe.readUInt16LE(0) !== 0x5a4d) throw new Error('not a PE file (no MZ header)')
  const at = pe.readUInt32LE(0x3c)
  if (pe.readUInt32LE(at) !== 0x00004550) throw new Error('not a PE file (no PE signature)')
  const coff = at + 4
  const sections = pe.readUInt16LE(coff + 2)
  const optionalSize = pe.readUInt16LE(coff + 16)
  const optional = coff + 20
  const magic = pe.readUInt16LE(optional)
  const dirs = optional + (magic === 0x20b ? 112 : magic === 0x10b ? 96 : NaN)
  if (Number.isNaN(dirs)) throw new Error(`unknown optional header magic 0x${magic.toString(16)}`)
  const count = pe.readUInt32LE(dirs - 4)
  const table = []
  for (let i = 0, s = optional + optionalSize; i < sections; i++, s += 40) {
    table.push({ va: pe.readUInt32LE(s + 12), size: Math.max(pe.readUInt32LE(s + 8), pe.readUInt32LE(s + 16)), raw: pe.readUInt32LE(s + 20) })
  }
  const offset = (rva) => {
    const s = table.find((t) => rva >= t.va && rva < t.va + t.size)
    if (!s) throw new Error(`RVA 0x${rva.toString(16)} is in no section`)
    return rva - s.va + s.raw
  }
  const name = (rva) => {
    const start = offset(rva)
    return pe.toString('latin1', start, pe.indexOf(0, start))
  }
  const dir = (i) => (i < count ? pe.readUInt32LE(dirs + i * 8) : 0)
  const imports = []
  for (let d = dir(1) && offset(dir(1)); d && pe.readUInt32LE(d + 12); d += 20) imports.push(name(pe.readUInt32LE(d + 12)))
  const delayed = []
  for (let d = dir(13) && offset(dir(13)); d && pe.readUInt32LE(d + 4); d += 32) delayed.push(name(pe.readUInt32LE(d + 4)))
  return { imports, delayed }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const file = process.argv[2]
  if (!file) {
    console.error('usage: node scripts/pe-check.mjs <file.node>')
    process.exit(2)
  }
  const { imports, delayed } = peImports(readFileSync(file))
  const crt = [...imports, ...delayed].filter((n) => CRT.test(n))
  if (crt.length) {
    console.error(`pe-check: ${file} needs the C runtime DLL(s) ${crt.join(', ')}: build with -C target-feature=+crt-static`)
    process.exit(1)
  }
  console.log(`pe-check: ${file} needs no C runtime DLL (imports: ${imports.join(', ')}${delayed.length ? `; delay-loaded: ${delayed.join(', ')}` : ''})`)
}
