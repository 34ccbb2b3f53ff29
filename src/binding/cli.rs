//! `runCli`: the whole command line, for the `sst-local-state` bin script.

use napi::bindgen_prelude::PromiseRaw;
use napi::Env;
use napi_derive::napi;

use super::promise::spawn_blocking;
use crate::cli;
use crate::env::Env as ProcessEnv;

/// Runs the `sst-local-state` command line with `argv` (without the node
/// and script paths) and resolves to its exit code: 0 ok, 1 error,
/// 2 usage, 3 stage lock held by another run, 4 state conflict or unsaved state. Output goes to the process's
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
