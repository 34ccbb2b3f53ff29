//! Operations: what the CLI and the JS API run.

pub(crate) mod advice;
pub mod commit;
pub mod doctor;
pub mod encrypt;
pub(crate) mod follow;
pub mod history;
pub mod init;
pub(crate) mod land;
pub mod lock;
pub mod message;
pub mod passphrases;
pub mod pause;
pub mod prepare;
pub mod prune;
pub mod rekey;
pub mod rollback;
pub mod run;
pub mod show;
pub mod status;
pub mod summary;
pub mod tip;
