//! The human renderings of the reports (the CLI's default output), by
//! command name; each lives in its command's file. Public for the tests.

pub use super::commit::render as commit;
pub use super::doctor::render as doctor;
pub use super::history::render as history;
pub use super::init::render as init;
pub use super::lock::{render_lock as lock, render_locks as locks, render_unlock as unlock};
pub use super::passphrases::render as passphrases;
pub use super::prepare::render as prepare;
pub use super::prune::render as prune;
pub use super::rollback::render as rollback;
pub use super::show::render as show;
pub use super::status::render as status;
