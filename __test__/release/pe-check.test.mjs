// scripts/pe-check.mjs, which the release workflow runs on both Windows
// builds: a DLL that needs a C runtime DLL (VCRUNTIME140.dll: the addon
// built without +crt-static) is refused. The fixture is a real MSVC-linked,
// +crt-static DLL: Rust's own std DLL for x86_64-pc-windows-msvc from the
// rustup target (scripts/cross-clippy.sh adds it), and a copy of it whose
// import of bcryptprimitives.dll is rewritten to VCRUNTIME140.dll.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

import { REPO_ROOT } from '../helpers/sst.mjs'
import { cleanup, tempDir } from '../helpers/common.mjs'
import { peImports } from '../../scripts/pe-check.mjs'

const sysroot = spawnSync('rustc', ['--print', 'sysroot'], { encoding: 'utf8' }).stdout?.trim() ?? ''
const lib = join(sysroot, 'lib', 'rustlib', 'x86_64-pc-windows-msvc', 'lib')
const dll = existsSync(lib) ? readdirSync(lib).find((f) => /^std-\w+\.dll$/.test(f)) : undefined
const opts = { skip: dll ? false : `no ${lib}/std-*.dll (rustup target add x86_64-pc-windows-msvc)` }

const check = (file) => spawnSync(process.execPath, [join(REPO_ROOT, 'scripts', 'pe-check.mjs'), file], { encoding: 'utf8' })

test('a +crt-static MSVC DLL passes; the same DLL importing VCRUNTIME140.dll is refused', opts, () => {
  const good = join(lib, dll)
  const { imports } = peImports(readFileSync(good))
  assert.ok(imports.includes('KERNEL32.dll'), imports.join(' '))
  assert.ok(!imports.some((n) => /vcruntime|api-ms-win-crt/i.test(n)), imports.join(' '))
  const ok = check(good)
  assert.equal(ok.status, 0, ok.stderr)
  assert.match(ok.stdout, /needs no C runtime DLL \(imports: KERNEL32\.dll/)

  const bytes = readFileSync(good)
  const at = bytes.indexOf('bcryptprimitives.dll\0', 0, 'latin1')
  assert.notEqual(at, -1)
  const bad = Buffer.from(bytes)
  bad.write('VCRUNTIME140.dll\0\0\0\0\0', at, 'latin1')
  const file = join(tempDir('sls-pe-'), 'bad.node')
  writeFileSync(file, bad)
  assert.ok(peImports(bad).imports.includes('VCRUNTIME140.dll'))
  const refused = check(file)
  assert.equal(refused.status, 1)
  assert.match(refused.stderr, /needs the C runtime DLL\(s\) VCRUNTIME140\.dll/)
  cleanup()
})

test('a file that is not a PE is an error, not a pass', () => {
  const file = join(tempDir('sls-pe-'), 'elf.node')
  writeFileSync(file, Buffer.from('\x7fELF\x02\x01\x01', 'latin1'))
  const res = check(file)
  assert.notEqual(res.status, 0)
  assert.match(res.stderr, /not a PE file/)
  cleanup()
})
