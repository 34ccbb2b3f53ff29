#![deny(clippy::all)]
// No function longer than clippy.toml's too-many-lines-threshold (80 lines; tests excepted).
#![warn(clippy::too_many_lines)]
//! `sst-local-state`: keep SST's local deploy state in git, safely.
//!
//! Layers, each a folder: `binding` (Node-API) and `cli` call the
//! operations in [`ops`] (prepare, commit, status, init, lock, run, ...),
//! which work on a stage (`stage`: project, names, layout, state files,
//! marker, guards, age sealing) through SST's facts (`sst`: config dir,
//! `sst.config.ts`, SST's lock) and git (`git`: the remote transport,
//! local plumbing, URL rules, redaction); `env`, `error`, `warning`,
//! `fsx`, `utc`, `blob_id` and `ci_env` serve them all. A module imports
//! by full path (`crate::git::remote`, `crate::ops::commit`) and only from
//! its own folder or a layer below (`tests/layers.rs` checks both).
//!
//! Only [`ops`] is public as a module; the types the operations take and
//! give, and `seal` and `render` for the tests, are re-exported here by
//! name (for users of the crate: code inside it never imports through
//! them), and everything else is private to the crate.

// napi registers the binding's exports at load time (not in test builds)
#[cfg_attr(test, allow(dead_code))]
mod binding;
mod blob_id;
mod ci_env;
mod cli;
mod env;
mod error;
mod fsx;
mod git;
pub mod ops;
mod sst;
mod stage;
mod utc;
mod warning;

// The public surface besides `ops` (each operation a module of it, with its
// function, options and report): the types they take and give.
pub use blob_id::BlobId;
pub use cli::{render, run as run_cli, Cli};
pub use env::Env;
pub use error::{Error, ErrorCode, Result};
pub use fsx::DirLock;
pub use stage::layout::Kind;
pub use stage::project::{Caller, CommonOptions};
pub use stage::seal;
pub use warning::Warning;
