//! Operations: what the CLI and the JS API run.

pub mod commit;
pub mod encrypt;
pub mod init;
pub mod prepare;
pub mod rekey;
pub mod secrets;
pub mod status;
