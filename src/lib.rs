#![deny(clippy::all)]
//! Node-API bindings of `sst-local-state`: argument conversion and error
//! mapping only. The logic lives in plain Rust modules that know nothing
//! of napi.

pub mod ci_env;
pub mod cli;
pub mod config_dir;
pub mod env;
pub mod error;
pub mod fsx;
pub mod layout;
pub mod names;
pub mod project;
pub mod redact;
pub mod sst_config;
pub mod state;
pub mod urlmatch;

use std::collections::{BTreeMap, HashMap};

use napi_derive::napi;

use crate::config_dir::Platform;
use crate::env::Env as ProcessEnv;
use napi::bindgen_prelude::{JsError, PromiseRaw, ToNapiValue};
use napi::Env;

fn js_error(error: error::Error) -> napi::Error<String> {
    napi::Error::new(error.code().to_string(), error.to_string())
}

/// Options of `resolveConfigDir`.
#[napi(object)]
pub struct ResolveConfigDirOptions {
    /// Environment variables to use instead of `process.env`.
    pub env: Option<HashMap<String, String>>,
    /// A Node.js `process.platform` value (`linux`, `darwin`, `win32`, ...)
    /// whose rules to apply instead of the current platform's.
    pub platform: Option<String>,
}

/// SST's config directory (where SST keeps local state), computed exactly
/// as SST computes it (Go's `os.UserConfigDir()` + `/sst`):
/// Linux/BSD `$XDG_CONFIG_HOME/sst` or `$HOME/.config/sst`, macOS
/// `$HOME/Library/Application Support/sst`, Windows `%AppData%\sst`.
///
/// Never creates a directory. Throws an `Error` with `code`
/// `CONFIG_DIR_RELATIVE_XDG` (relative `XDG_CONFIG_HOME`),
/// `CONFIG_DIR_NO_HOME` (no variable to locate it) or `INVALID_OPTION`
/// (unknown `platform`).
#[napi]
pub fn resolve_config_dir(
    options: Option<ResolveConfigDirOptions>,
) -> napi::Result<String, String> {
    let options = options.unwrap_or(ResolveConfigDirOptions {
        env: None,
        platform: None,
    });
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

/// Runs `work` on tokio's blocking pool and settles a promise with its
/// result; a core error rejects it with a JS `Error` whose `code` property
/// is the stable error code.
fn spawn_blocking<'env, T, V>(
    env: &'env Env,
    work: impl FnOnce() -> error::Result<T> + Send + 'static,
    to_js: fn(T) -> V,
) -> napi::Result<PromiseRaw<'env, V>>
where
    T: Send + 'static,
    V: ToNapiValue + 'static,
{
    let fut = async move {
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|e| napi::Error::from_reason(format!("sst-local-state task failed: {e}")))
    };
    env.spawn_future_with_callback(fut, move |env, result| match result {
        Ok(value) => Ok(to_js(value)),
        Err(error) => Err(napi::Error::from(
            JsError::from(js_error(error)).into_unknown(*env),
        )),
    })
}

/// Runs the `sst-local-state` command line with `argv` (without the node
/// and script paths) and resolves to its exit code: 0 ok, 1 error,
/// 2 usage, 4 state conflict or unsaved state. Output goes to the process's
/// stdout (results) and stderr (progress, errors).
#[napi(ts_return_type = "Promise<number>")]
pub fn run_cli<'env>(env: &'env Env, argv: Vec<String>) -> napi::Result<PromiseRaw<'env, i32>> {
    spawn_blocking(
        env,
        move || {
            let vars = ProcessEnv::process();
            let (mut out, mut err) = (std::io::stdout(), std::io::stderr());
            Ok(cli::run(&argv, &vars, &mut out, &mut err))
        },
        |code| code,
    )
}
