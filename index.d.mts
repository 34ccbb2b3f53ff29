// Types of the ES module entry (index.mjs): the same API as index.d.ts, which
// `napi build` generates from the Rust doc comments.
export * from './index.js'
import * as binding from './index.js'
export default binding
