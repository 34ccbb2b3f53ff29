#![deny(clippy::all)]
// No function longer than clippy.toml's too-many-lines-threshold (80 lines; tests excepted).
#![warn(clippy::too_many_lines)]
//! `sst-local-state`: keep SST's local deploy state in git, safely.
//!
//! Layers, each a folder: `binding` (Node-API) and `cli` call the
//! operations in [`ops`] (prepare, commit, status, init, lock, run, ...),
//! which work on a stage (`stage`: project, names, layout, state files,
//! marker, age sealing) through SST's facts (`sst`: config dir,
//! `sst.config.ts`, SST's lock) and git (`git`: the remote transport,
//! local plumbing, URL rules, redaction); `env`, `error`, `warning`,
//! `fsx`, `guard`, `utc` and `ci_env` serve them all. Only [`ops`] is public as a
//! module; the types the operations take and give are re-exported here by
//! name, and everything else is private to the crate.

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
mod guard;
pub mod ops;
mod sst;
mod stage;
mod utc;
mod warning;

// The public surface: the operations (each a module of `ops` with its
// function, options and report) and the types they take and give.
pub use blob_id::BlobId;
pub use cli::{render, run as run_cli, Cli};
pub use env::Env;
pub use error::{Error, Result};
pub use fsx::DirLock;
pub use ops::{commit, encrypt, init, prepare, rekey, secrets, status};
pub use stage::layout::Kind;
pub use stage::project::{Caller, CommonOptions};
pub use stage::seal;
pub use warning::Warning;

// Short paths inside the crate.
use git::{git_cli, gitx, probe, redact, remote, revision, urlmatch};
use sst::{config_dir, nesting, sst_config};
use stage::{layout, marker, names, new_stage, per_kind, project, removal, state};
use stage::{passphrase_access, passphrase_mode, sealed_to};
