//! `runStage` (the CLI's `run`): its options, its result and the result's
//! conversion from the core's report.

use napi::bindgen_prelude::{Object, PromiseRaw};
use napi::Env;
use napi_derive::napi;

use super::commit::CommitResult;
use super::options::{js_options, options_from_js, JsOptions};
use super::prepare::PrepareResult;
use super::promise::spawn_blocking;
use super::shared::SstLockInfo;
use crate::env::Env as ProcessEnv;
use crate::ops::run;

js_options! {
    #[doc = "Options of `runStage`."]
    pub struct RunOptions {
        #[doc = "The command and its arguments (`[\"npx\", \"sst\", \"deploy\", \"--stage\", \"prod\"]`), run in `cwd`."]
        pub command: Vec<String>,
        stage, app, cwd, state_dir, config_dir, passphrase_mode, state_branch, branch, remote,
        #[doc = "Commit message template (as for `commitStage`)."]
        pub message: Option<String>,
        lock_ref_prefix, lock_ttl, lock_timeout,
        #[doc = "Whether a new stage (none of whose state the repository holds) may be deployed;"]
        #[doc = "else env `SST_LOCAL_STATE_NEW_STAGES`, `package.json` `sstLocalState.newStages`"]
        #[doc = "(`true`, or name patterns such as `[\"pr-*\"]`), then: yes outside CI, no in CI"]
        #[doc = "(rejects with `STAGE_UNKNOWN`, listing the stages the repository holds)."]
        pub allow_new_stage: Option<bool>,
    }
}

/// The result of `runStage`.
#[napi(object)]
pub struct RunResult {
    /// What prepare did (`lock`: the lock it took).
    pub prepare: PrepareResult,
    /// The command's exit code (128 + the signal when a signal ended it, 127 when it could not be started).
    pub exit_code: i32,
    /// The signal that ended the command.
    pub signal: Option<i32>,
    /// SST's own lock, when the command left it in the config dir (a crashed deploy).
    pub sst_lock: Option<SstLockInfo>,
    /// What commit did (`lockReleased`).
    pub commit: CommitResult,
    /// Wall time in milliseconds.
    pub duration_ms: f64,
}

impl From<run::RunReport> for RunResult {
    fn from(r: run::RunReport) -> Self {
        RunResult {
            prepare: r.prepare.into(),
            exit_code: r.exit_code,
            signal: r.signal,
            sst_lock: r.sst_lock.map(Into::into),
            commit: r.commit.into(),
            duration_ms: r.duration_ms as f64,
        }
    }
}

/// Deploys under the stage lock: takes the lock and prepares (from the
/// branch's newest state), runs `command` with this process's stdio
/// (SIGINT/SIGTERM sent to this process by another one are forwarded to
/// it, and to each command of overlapping calls), then commits ALWAYS, also when the command failed (a failed deploy
/// still changed real resources), with the exit code in the trailers, and
/// releases the lock in the same push. Resolves with the command's
/// `exitCode` once the state is saved (a failed command does not reject);
/// rejects with `LOCK_HELD` before anything ran, or with the save's error
/// (its message says where the state is; the lock then stays held unless the
/// state is on a rescue branch).
#[napi(
    ts_args_type = "options: RunOptions",
    ts_return_type = "Promise<RunResult>"
)]
pub fn run_stage<'env>(
    env: &'env Env,
    options: Object<'_>,
) -> napi::Result<PromiseRaw<'env, RunResult>> {
    let core = options_from_js(options, "runStage").and_then(|options: RunOptions| {
        Ok(run::RunOptions {
            common: options.common(),
            lock: options.lock_request(None)?,
            branch: options.branch,
            remote: options.remote,
            message: options.message,
            allow_new_stage: options.allow_new_stage,
            command: options.command,
        })
    });
    spawn_blocking(
        env,
        move || {
            run::run(&core?, &ProcessEnv::process(), &mut |line| {
                eprintln!("sst-local-state run: {line}")
            })
        },
        Into::into,
    )
}
