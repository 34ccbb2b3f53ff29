#![deny(clippy::all)]
// Issue 12: no function longer than clippy.toml's too-many-lines-threshold (tests excepted).
#![warn(clippy::too_many_lines)]
//! `sst-local-state`: keep SST's local deploy state in git, safely.
//!
//! Layers, each a folder: [`binding`] (Node-API) and [`cli`] call the
//! operations in [`ops`] (prepare, commit, status, init), which work on a
//! stage ([`stage`]: project, names, layout, state files, marker, age
//! sealing) through SST's facts ([`sst`]: config dir, `sst.config.ts`,
//! SST's lock) and git ([`git`]: the remote transport, local plumbing,
//! URL rules, redaction); [`env`], [`error`], [`warning`], [`fsx`],
//! [`guard`] and [`ci_env`] serve them all. The modules that tests and
//! tools use are re-exported here by name.

pub mod binding;
pub mod ci_env;
pub mod cli;
pub mod env;
pub mod error;
pub mod fsx;
pub mod git;
pub mod guard;
pub mod ops;
pub mod sst;
pub mod stage;
pub mod warning;

pub use cli::render;
pub use git::{git_cli, gitx, probe, redact, remote, urlmatch};
pub use ops::commit::message;
pub use ops::{commit, init, prepare, status};
pub use ops::{encrypt, rekey, secrets};
pub use sst::{config_dir, nesting, sst_config};
pub use stage::{layout, marker, names, project, seal, state};
pub use stage::{passphrase_access, passphrase_mode};
