//! A stage of an SST app: where its state lives, its names, the state files and their checks, the guards around them (the config dir's lock, no symbolic links, no temporary files left), the record of the last sync, age sealing of passphrases, and reading the repository's state files.

pub mod guard;
pub mod layout;
pub mod marker;
pub mod names;
pub mod new_stage;
pub mod passphrase_access;
pub mod passphrase_mode;
pub mod per_kind;
pub mod project;
pub mod removal;
pub mod repo;
pub mod seal;
pub mod sealed_to;
pub mod state;
