#!/usr/bin/env node
// The JS test files, by what they need: the CI workflow's list for each OS.
//
//   node scripts/js-tests.mjs              every __test__/*.test.mjs
//   node scripts/js-tests.mjs --no-servers those that start neither the local
//                                          git server nor sshd (Linux-only:
//                                          scripts/git-server.sh and
//                                          ssh-server.sh install with apt)
//   node scripts/js-tests.mjs --servers    the others
//
// A file needs a server when it imports helpers/git-server.mjs or
// helpers/ssh-server.mjs (statically or with import()), directly or through
// another helper that does (state-repo.mjs). Prints the paths
// (__test__/<file>), space-separated.
import { readFileSync, readdirSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const DIR = join(ROOT, '__test__')

/**
 * The local modules `file` imports (`./x.mjs`, `./helpers/x.mjs`,
 * `../helpers/x.mjs`), by file name: static imports and `await import(...)`.
 */
const importsOf = (file) => {
  const src = readFileSync(file, 'utf8')
  const local = String.raw`'\.{1,2}\/(?:helpers\/)?([\w-]+\.mjs)'`
  return [
    ...src.matchAll(new RegExp(String.raw`^import [^;]*? from ${local}`, 'gm')),
    ...src.matchAll(new RegExp(String.raw`\bimport\(${local}\)`, 'g')),
  ].map((m) => m[1])
}

/** The helpers that start a server, directly or through another helper. */
export function serverHelpers() {
  const servers = new Set(['git-server.mjs', 'ssh-server.mjs'])
  const helpers = readdirSync(join(DIR, 'helpers'))
  for (let grew = true; grew; ) {
    grew = false
    for (const h of helpers) {
      if (!servers.has(h) && importsOf(join(DIR, 'helpers', h)).some((i) => servers.has(i))) {
        servers.add(h)
        grew = true
      }
    }
  }
  return servers
}

/** The test files: { all, servers, noServers }, each a sorted list of __test__/<file>. */
export function testFiles() {
  const servers = serverHelpers()
  const all = readdirSync(DIR).filter((f) => f.endsWith('.test.mjs')).sort()
  const needs = (f) => importsOf(join(DIR, f)).some((i) => servers.has(i))
  const path = (f) => `__test__/${f}`
  return { all: all.map(path), servers: all.filter(needs).map(path), noServers: all.filter((f) => !needs(f)).map(path) }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const which = process.argv[2]
  const files = testFiles()
  const list = which === '--no-servers' ? files.noServers : which === '--servers' ? files.servers : which === undefined ? files.all : null
  if (!list) {
    console.error('usage: node scripts/js-tests.mjs [--no-servers | --servers]')
    process.exit(2)
  }
  console.log(list.join(' '))
}
