//! What SST itself decides: its config dir, the app name and home in `sst.config.ts`, its own lock of a stage.

pub mod config_dir;
pub mod lock;
pub mod nesting;
pub mod sst_config;
