'use strict'
// Shared by the two entry points (index.js for `require`, index.mjs for
// `import`): finds this package's folder and loads `binding.cjs`, the loader
// `napi build` generates, which requires the `.node` file (from this folder
// or from the platform package, e.g. `sst-local-state-linux-x64-gnu`).
//
// Every require below is computed, never a literal: a bundler (the esbuild
// inside `sst` that bundles sst.config.ts, `bun build`, `esbuild --bundle`)
// inlines this file but cannot follow the native addon, which it could not
// bundle anyway. The addon is found at run time instead: from the folder of
// the entry file when it runs from the package itself, or, when the entry was
// bundled into another file, from the `sst-local-state` package that file's
// location resolves to (its project's node_modules).
//
// This file requires nothing itself (the entries pass Node's functions in),
// so it works inlined into an ES module bundle, where `require` may not exist.

const NAME = 'sst-local-state'

/**
 * The package folder for an entry file at `from`: the file's own folder when
 * that is this package, else the package resolved from `from` by Node's rules.
 */
function packageDir(from, node) {
  const own = node.dirname(from)
  try {
    if (JSON.parse(node.readFileSync(node.join(own, 'package.json'), 'utf8')).name === NAME) return own
  } catch {
    // not in the package: bundled
  }
  try {
    return node.dirname(node.createRequire(from).resolve(`${NAME}/package.json`))
  } catch (err) {
    const e = new Error(
      `${NAME} was bundled into ${from}, and from there its package (with the native addon) cannot be found: ` +
        `install ${NAME} in the project where the bundle runs, or keep it out of the bundle ` +
        `(esbuild --external:${NAME}, bun build --external ${NAME}) and install it next to the bundle`,
      { cause: err },
    )
    e.code = 'BINDING_NOT_FOUND'
    throw e
  }
}

/** The npm platform name napi-rs uses (`linux-x64-gnu`, `darwin-arm64`, `win32-x64-msvc`, ...). */
function platformName() {
  const { platform, arch } = process
  if (platform === 'win32') return `${platform}-${arch}-msvc`
  if (platform !== 'linux') return `${platform}-${arch}`
  let glibc = true
  try {
    glibc = Boolean(process.report.getReport().header.glibcVersionRuntime)
  } catch {
    // assume glibc
  }
  return `${platform}-${arch}-${glibc ? 'gnu' : 'musl'}`
}

/**
 * What the loader's attempts said, when one got further than "not found" (a
 * file that exists but does not load: truncated, another architecture, a
 * missing system library), so that case is not mistaken for a missing package.
 */
function firstCause(err) {
  // napi's loader chains its attempts' errors through `cause`
  for (let c = err && err.cause, depth = 0; c && depth < 16; c = c.cause, depth++) {
    if (!/Cannot find module/.test(String(c.message))) {
      return ` The loader also reported: ${String(c.message).split('\n')[0]}`
    }
  }
  return ''
}

/**
 * How many bytes an ELF file's own headers say it has (its program and
 * section header tables and every loaded segment), or 0 when `head` is not
 * the start of an ELF file. Linux maps a shared library into memory and a
 * page past the end of a truncated one kills the process with SIGBUS when
 * touched, long after `dlopen` said yes: a cut-short download or a full disk
 * must be caught before loading.
 */
function elfExtent(head, read) {
  if (head.length < 52 || head.readUInt32BE(0) !== 0x7f454c46) return 0
  const wide = head[4] === 2
  const le = head[5] === 1
  const u16 = (b, o) => (le ? b.readUInt16LE(o) : b.readUInt16BE(o))
  const word = (b, o) => (wide ? Number(le ? b.readBigUInt64LE(o) : b.readBigUInt64BE(o)) : le ? b.readUInt32LE(o) : b.readUInt32BE(o))
  if (wide && head.length < 64) return Infinity
  const [phoff, shoff] = wide ? [word(head, 0x20), word(head, 0x28)] : [word(head, 0x1c), word(head, 0x20)]
  const at = wide ? 0x36 : 0x2a
  const [phentsize, phnum, shentsize, shnum] = [u16(head, at), u16(head, at + 2), u16(head, at + 4), u16(head, at + 6)]
  let extent = Math.max(phoff + phentsize * phnum, shoff + shentsize * shnum)
  const table = read(phoff, phentsize * phnum)
  if (table.length < phentsize * phnum) return Infinity
  for (let i = 0; i < phnum; i++) {
    const ph = table.subarray(i * phentsize)
    const PT_LOAD = 1
    if ((le ? ph.readUInt32LE(0) : ph.readUInt32BE(0)) !== PT_LOAD) continue
    const [offset, size] = wide ? [word(ph, 8), word(ph, 32)] : [word(ph, 4), word(ph, 16)]
    extent = Math.max(extent, offset + size)
  }
  return extent
}

/**
 * Throws BINDING_NOT_FOUND when the native file at `file` exists but is
 * shorter than its ELF headers say (checked by reading its headers only).
 */
function checkComplete(file, node) {
  let fd
  try {
    fd = node.openSync(file, 'r')
  } catch {
    return // absent: the loader tries the next place
  }
  try {
    const size = node.fstatSync(fd).size
    const read = (position, length) => {
      const buf = Buffer.alloc(Math.max(0, Math.min(length, 1 << 20)))
      return buf.subarray(0, node.readSync(fd, buf, 0, buf.length, position))
    }
    const extent = elfExtent(read(0, 64), read)
    if (extent > size) {
      const e = new Error(
        `${file} is incomplete (${size} bytes; its headers need ${Number.isFinite(extent) ? extent : 'more'}): ` +
          `a download or copy was cut short. Reinstall the package (rm -rf node_modules && npm ci), ` +
          `and check the disk is not full.`,
      )
      e.code = 'BINDING_NOT_FOUND'
      throw e
    }
  } finally {
    node.closeSync(fd)
  }
}

/** The native files the generated loader would load for this platform, in its order. */
function nativeCandidates(dir, load, node) {
  const platform = platformName()
  const files = [node.join(dir, `${NAME}.${platform}.node`)]
  try {
    files.push(load.resolve(`${NAME}-${platform}`))
  } catch {
    // not installed
  }
  return files
}

/** Loads the native binding for the entry file at `from`. */
function loadBinding(from, node) {
  const dir = packageDir(from, node)
  const load = node.createRequire(node.join(dir, 'package.json'))
  if (process.platform === 'linux' && node.openSync) {
    for (const file of nativeCandidates(dir, load, node)) checkComplete(file, node)
  }
  try {
    return load(['.', 'binding.cjs'].join('/'))
  } catch (err) {
    if (!/Cannot find native binding/.test(String(err && err.message))) throw err
    const platform = platformName()
    const { version } = load(['.', 'package.json'].join('/'))
    const e = new Error(
      `${NAME} ${version} has no native binary for this platform (${platform}, Node ${process.version}): ` +
        `the package ${NAME}-${platform}@${version} (an optional dependency, installed only on its platform) is missing, ` +
        `and so is ${node.join(dir, `${NAME}.${platform}.node`)}. ` +
        `Install it (npm i ${NAME}-${platform}@${version}); it is left out by --omit=optional / --no-optional, ` +
        `or by a lockfile made on another platform with an old npm. ` +
        `Platforms with prebuilt binaries: linux-x64-gnu, linux-arm64-gnu, linux-x64-musl, linux-arm64-musl, ` +
        `darwin-x64, darwin-arm64, win32-x64-msvc, win32-arm64-msvc; elsewhere build from source (README: Install).` +
        firstCause(err),
      { cause: err },
    )
    e.code = 'BINDING_NOT_FOUND'
    throw e
  }
}

module.exports.loadBinding = loadBinding
