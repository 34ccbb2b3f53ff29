//! Operations: what the CLI and the JS API run.

pub mod commit;
pub mod init;
pub mod lock;
pub mod pause;
pub mod prepare;
pub mod run;
pub mod status;
pub mod tip;
