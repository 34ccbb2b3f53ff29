//! `stageHistory` (the CLI's `history`): its options, its result and the
//! result's conversion from the core's report.

use napi::bindgen_prelude::{Object, PromiseRaw};
use napi::Env;
use napi_derive::napi;

use super::options::{js_count, js_options, optional_options_from_js, JsOptions};
use super::promise::spawn_blocking;
use crate::env::Env as ProcessEnv;
use crate::ops::history::{self, HistoryEntry, HistoryReport};

js_options! {
    #[doc = "Options of `stageHistory`."]
    pub struct HistoryOptions {
        stage, app, cwd, state_dir, config_dir,
        #[doc = "At most this many entries, newest first (a whole number); default all."]
        pub limit: Option<f64>,
        #[doc = "The revision the walk starts from; default `HEAD`."]
        pub rev: Option<String>,
    }
}

/// One trailer of a commit message.
#[napi(object)]
pub struct TrailerInfo {
    /// The key (`SST-Update-Id`).
    pub key: String,
    /// The value.
    pub value: String,
}

/// One commit that changed the stage's state.
#[napi(object)]
pub struct HistoryEntryInfo {
    /// The commit id.
    pub commit: String,
    /// Author time, RFC 3339 UTC.
    pub time: String,
    /// Author name.
    pub author: String,
    /// Author e-mail.
    pub email: String,
    /// The message's first line.
    pub subject: String,
    /// The stage's files the commit changed.
    #[napi(ts_type = "Array<'app' | 'passphrase' | 'secret'>")]
    pub files: Vec<String>,
    /// `SST-Command` trailer (deploy, remove, refresh, ...).
    pub command: Option<String>,
    /// `SST-Update-Id` trailer: SST's update id.
    pub update_id: Option<String>,
    /// `Run-Exit-Code` trailer: the wrapped command's exit code.
    pub exit_code: Option<i32>,
    /// `SST-Errors` trailer: resource errors SST recorded.
    pub errors: Option<u32>,
    /// `CI-Run` trailer: the CI run's URL.
    pub run_url: Option<String>,
    /// Who held the stage lock, when recorded.
    pub lock_holder: Option<String>,
    /// Every trailer, in order.
    pub trailers: Vec<TrailerInfo>,
    /// Resources after the commit (absent: no checkpoint, or an unreadable one).
    pub resources: Option<u32>,
    /// Pending operations after the commit.
    pub pending_operations: Option<u32>,
    /// Resources before the commit (its first parent).
    pub resources_before: Option<u32>,
    /// URNs the commit added.
    pub added: Vec<String>,
    /// URNs the commit removed.
    pub removed: Vec<String>,
    /// URNs whose inputs or outputs the commit changed.
    pub changed: Vec<String>,
    /// Why the commit's checkpoint could not be read, if it could not.
    pub invalid: Option<String>,
}

impl From<HistoryEntry> for HistoryEntryInfo {
    fn from(e: HistoryEntry) -> Self {
        HistoryEntryInfo {
            commit: e.commit,
            time: e.time,
            author: e.author,
            email: e.email,
            subject: e.subject,
            files: e.files.iter().map(|k| k.as_str().to_string()).collect(),
            command: e.command,
            update_id: e.update_id,
            exit_code: e.exit_code,
            errors: e.errors,
            run_url: e.run_url,
            lock_holder: e.lock_holder,
            trailers: e
                .trailers
                .into_iter()
                .map(|t| TrailerInfo {
                    key: t.key,
                    value: t.value,
                })
                .collect(),
            resources: e.resources,
            pending_operations: e.pending_operations,
            resources_before: e.resources_before,
            added: e.added,
            removed: e.removed,
            changed: e.changed,
            invalid: e.invalid,
        }
    }
}

/// The result of `stageHistory`.
#[napi(object)]
pub struct HistoryResult {
    /// App name.
    pub app: String,
    /// Stage name.
    pub stage: String,
    /// The stage's paths followed, relative to the repository's root.
    pub paths: Vec<String>,
    /// The commits that changed them, newest first.
    pub entries: Vec<HistoryEntryInfo>,
    /// Commits walked.
    pub commits_walked: f64,
    /// Wall time in milliseconds.
    pub duration_ms: f64,
}

impl From<HistoryReport> for HistoryResult {
    fn from(r: HistoryReport) -> Self {
        HistoryResult {
            app: r.app,
            stage: r.stage,
            paths: r.paths,
            entries: r.entries.into_iter().map(Into::into).collect(),
            commits_walked: r.commits_walked as f64,
            duration_ms: r.duration_ms as f64,
        }
    }
}

/// The stage's state changes from git history, newest first: only commits
/// that change the stage's own files (`app/<stage>.json`,
/// `passphrase/<stage>.age|.json`, `secret/<stage>.json`), each with its
/// author, time, the SST command, update id and exit code from its
/// trailers, resource counts, and the URNs added, removed and changed
/// (inputs or outputs) against the state before it. Reads git objects only.
/// An unknown revision or option rejects with `INVALID_OPTION`.
#[napi(
    ts_args_type = "options?: HistoryOptions | undefined | null",
    ts_return_type = "Promise<HistoryResult>"
)]
pub fn stage_history<'env>(
    env: &'env Env,
    options: Option<Object<'_>>,
) -> napi::Result<PromiseRaw<'env, HistoryResult>> {
    let core = optional_options_from_js(options, "stageHistory").and_then(|o: HistoryOptions| {
        Ok(history::HistoryOptions {
            limit: o.limit.map(|n| js_count(n, "limit")).transpose()?,
            common: o.common(),
            rev: o.rev,
        })
    });
    spawn_blocking(
        env,
        move || history::history(&core?, &ProcessEnv::process()),
        Into::into,
    )
}
