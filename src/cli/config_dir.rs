//! `config-dir`: prints SST's config directory (no flags of its own).

use serde_json::json;

use super::ui::Ui;
use crate::env::Env;
use crate::error::Result;
use crate::sst::config_dir::{resolve_config_dir, Platform};

/// `config-dir`: prints SST's config directory.
pub(super) fn run(env: &Env, ui: &mut Ui<'_>) -> Result<()> {
    let dir = resolve_config_dir(env, Platform::current())?;
    ui.result(&dir, &json!({ "configDir": dir }));
    Ok(())
}
