//! `showStage` (the CLI's `show`): its options, its result and the
//! result's conversion from the core's report.

use napi::bindgen_prelude::{Object, PromiseRaw};
use napi::Env;
use napi_derive::napi;

use super::options::{js_options, optional_options_from_js, JsOptions};
use super::promise::spawn_blocking;
use crate::env::Env as ProcessEnv;
use crate::ops::show::{self, ShowReport, TypeCount};

js_options! {
    #[doc = "Options of `showStage`."]
    pub struct ShowOptions {
        stage, app, cwd, state_dir, config_dir,
        #[doc = "The revision (a commit, branch, tag, `HEAD~3`, ...); default `HEAD`."]
        pub rev: Option<String>,
        #[doc = "Also resolve with the whole checkpoint, as stored (`checkpointJson`)."]
        pub include_checkpoint: Option<bool>,
    }
}

/// How many resources of a checkpoint have one Pulumi type.
#[napi(object)]
pub struct TypeCountInfo {
    /// The Pulumi type (`aws:lambda/function:Function`).
    #[napi(js_name = "type")]
    pub type_name: String,
    /// How many.
    pub count: u32,
}

impl From<TypeCount> for TypeCountInfo {
    fn from(t: TypeCount) -> Self {
        TypeCountInfo {
            type_name: t.type_name,
            count: t.count,
        }
    }
}

/// The result of `showStage`.
#[napi(object)]
pub struct ShowResult {
    /// App name.
    pub app: String,
    /// Stage name.
    pub stage: String,
    /// The revision as given.
    pub rev: String,
    /// The commit it names.
    pub commit: String,
    /// The commit's author time, RFC 3339 UTC.
    pub time: String,
    /// The commit's author.
    pub author: String,
    /// The checkpoint's path in the repository, from its root.
    pub path: String,
    /// The checkpoint's size in bytes.
    pub bytes: f64,
    /// `checkpoint.stack`.
    pub stack: Option<String>,
    /// Resources in `checkpoint.latest.resources`.
    pub resources: u32,
    /// Entries in `pending_operations` (non-zero: a run was interrupted).
    pub pending_operations: u32,
    /// Resources per Pulumi type, most frequent first (then by name).
    pub by_type: Vec<TypeCountInfo>,
    /// The stage's other files present at the revision (`infra/state/passphrase/dev.age`, ...).
    pub other_files: Vec<String>,
    /// The whole checkpoint as stored, JSON text (with `includeCheckpoint`).
    pub checkpoint_json: Option<String>,
}

impl From<ShowReport> for ShowResult {
    fn from(r: ShowReport) -> Self {
        ShowResult {
            app: r.app,
            stage: r.stage,
            rev: r.rev,
            commit: r.commit,
            time: r.time,
            author: r.author,
            path: r.path,
            bytes: r.bytes as f64,
            stack: r.stack,
            resources: r.resources,
            pending_operations: r.pending_operations,
            by_type: r.by_type.into_iter().map(Into::into).collect(),
            other_files: r.other_files,
            checkpoint_json: r.checkpoint.map(|c| c.get().to_string()),
        }
    }
}

/// The stage's checkpoint (`<stateDir>/app/<stage>.json`) as it was at
/// revision `rev` (default `HEAD`), read from git objects (the worktree is
/// not read): the commit, its time and author, resource and pending
/// operation counts, resources per Pulumi type and which of the stage's
/// other files exist there; with `includeCheckpoint`, the checkpoint itself.
/// Rejects with `STATE_MISSING` (no checkpoint at the revision),
/// `STATE_CORRUPT`, or `INVALID_OPTION` (an unknown revision or option).
#[napi(
    ts_args_type = "options?: ShowOptions | undefined | null",
    ts_return_type = "Promise<ShowResult>"
)]
pub fn show_stage<'env>(
    env: &'env Env,
    options: Option<Object<'_>>,
) -> napi::Result<PromiseRaw<'env, ShowResult>> {
    let core =
        optional_options_from_js(options, "showStage").map(|o: ShowOptions| show::ShowOptions {
            common: o.common(),
            rev: o.rev,
            whole: o.include_checkpoint.unwrap_or(false),
        });
    spawn_blocking(
        env,
        move || show::show(&core?, &ProcessEnv::process()),
        Into::into,
    )
}
