//! `resolveConfigDir` (the CLI's `config-dir`): its options.

use std::collections::{BTreeMap, HashMap};

use napi::bindgen_prelude::Object;
use napi_derive::napi;

use super::options::{js_options, optional_options_from_js};
use super::promise::js_error;
use crate::env::Env as ProcessEnv;
use crate::error;
use crate::sst::config_dir::{self, Platform};

js_options! {
    #[doc = "Options of `resolveConfigDir`."]
    pub struct ResolveConfigDirOptions {
        #[doc = "Environment variables to use instead of `process.env`."]
        pub env: Option<HashMap<String, String>>,
        #[doc = "A Node.js `process.platform` value (`linux`, `darwin`, `win32`, ...)"]
        #[doc = "whose rules to apply instead of the current platform's."]
        pub platform: Option<String>,
    }
}

/// SST's config directory (where SST keeps local state), computed exactly
/// as SST computes it (Go's `os.UserConfigDir()` + `/sst`):
/// Linux/BSD `$XDG_CONFIG_HOME/sst` or `$HOME/.config/sst`, macOS
/// `$HOME/Library/Application Support/sst`, Windows `%AppData%\sst`.
///
/// Never creates a directory. Throws an `Error` with `code`
/// `CONFIG_DIR_RELATIVE_XDG` (relative `XDG_CONFIG_HOME`),
/// `CONFIG_DIR_NO_HOME` (no variable to locate it) or `INVALID_OPTION`
/// (unknown `platform` or option).
#[napi(ts_args_type = "options?: ResolveConfigDirOptions | undefined | null")]
pub fn resolve_config_dir(options: Option<Object<'_>>) -> napi::Result<String, String> {
    let options: ResolveConfigDirOptions =
        optional_options_from_js(options, "resolveConfigDir").map_err(js_error)?;
    let platform = match options.platform.as_deref() {
        None => Platform::current(),
        Some(name) => Platform::from_node(name).ok_or_else(|| {
            js_error(error::Error::option(
                "options.platform",
                format!("unknown platform {name:?} (expected a process.platform value such as linux, darwin, win32)"),
            ))
        })?,
    };
    let env = match options.env {
        Some(map) => ProcessEnv::from_map(
            map.into_iter().collect::<BTreeMap<_, _>>(),
            platform == Platform::Windows,
        ),
        None => ProcessEnv::process(),
    };
    config_dir::resolve_config_dir(&env, platform).map_err(js_error)
}
