//! The Node-API binding of the history operations: `stageHistory` and
//! `rollbackStage` (their options and result objects); the logic lives in
//! [`crate::ops::history`] and [`crate::ops::rollback`].

use napi::bindgen_prelude::{Object, PromiseRaw};
use napi::Env;
use napi_derive::napi;

use super::options::{js_options, optional_options_from_js, options_from_js, JsOptions};
use super::spawn_blocking;
use crate::env::Env as ProcessEnv;
use crate::ops::history::{self, HistoryEntry, HistoryReport};
use crate::ops::rollback::{self, RollbackReport};

js_options! {
    #[doc = "Options of `stageHistory`."]
    pub struct HistoryOptions {
        stage, app, cwd, state_dir, config_dir,
        #[doc = "At most this many entries, newest first; default all."]
        pub limit: Option<u32>,
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
    let core = optional_options_from_js(options, "stageHistory").map(|o: HistoryOptions| {
        history::HistoryOptions {
            common: o.common(),
            limit: o.limit.map(|n| n as usize),
            rev: o.rev,
        }
    });
    spawn_blocking(
        env,
        move || history::history(&core?, &ProcessEnv::process()),
        Into::into,
    )
}

js_options! {
    #[doc = "Options of `rollbackStage`."]
    pub struct RollbackOptions {
        #[doc = "The revision whose stage files to restore (a commit, tag, `main~3`, ...)."]
        pub to: String,
        stage, app, cwd, state_dir, config_dir,
        #[doc = "Roll back even when the passphrase at `to` differs from the current"]
        #[doc = "one (secrets set since become unreadable); default false."]
        pub force: Option<bool>,
        branch, remote, lock_ref_prefix, lock_ttl, lock_timeout,
    }
}

/// One stage file a rollback changed.
#[napi(object)]
pub struct RolledFileInfo {
    /// What it holds.
    #[napi(ts_type = "'app' | 'passphrase' | 'secret'")]
    pub kind: String,
    /// Path in the repository, from its root.
    pub path: String,
    /// `restored` (as at the revision) or `removed` (absent there).
    #[napi(ts_type = "'restored' | 'removed'")]
    pub change: String,
    /// The blob restored (absent when removed).
    pub blob: Option<String>,
}

/// The result of `rollbackStage`.
#[napi(object)]
pub struct RollbackResult {
    /// App name.
    pub app: String,
    /// Stage name.
    pub stage: String,
    /// The revision as given.
    pub rev: String,
    /// The commit it names (`Rollback-To` trailer).
    pub to: String,
    /// The branch tip the rollback was built on (`Rollback-From` trailer).
    pub from: String,
    /// The new commit (absent: the branch already holds the revision's files).
    pub commit: Option<String>,
    /// Whether a commit was made and pushed.
    pub committed: bool,
    /// The branch.
    pub branch: String,
    /// The remote's name.
    pub remote: String,
    /// The files changed.
    pub files: Vec<RolledFileInfo>,
    /// The passphrase was rolled back too (only with `force`).
    pub passphrase_changed: bool,
    /// The stage lock held during the rollback.
    pub lock_ref: String,
    /// Whether the lock was released.
    pub lock_released: bool,
    /// Push attempts.
    pub attempts: u32,
    /// The commit message.
    pub message: Option<String>,
    /// Cloud resources change only at the next deploy: run `sst refresh` first.
    pub note: String,
    /// Wall time in milliseconds.
    pub duration_ms: f64,
}

impl From<RollbackReport> for RollbackResult {
    fn from(r: RollbackReport) -> Self {
        RollbackResult {
            app: r.app,
            stage: r.stage,
            rev: r.rev,
            to: r.to,
            from: r.from,
            commit: r.commit,
            committed: r.committed,
            branch: r.branch,
            remote: r.remote,
            files: r
                .files
                .into_iter()
                .map(|f| RolledFileInfo {
                    kind: f.kind.as_str().to_string(),
                    path: f.path,
                    change: f.change.to_string(),
                    blob: f.blob,
                })
                .collect(),
            passphrase_changed: r.passphrase_changed,
            lock_ref: r.lock_ref,
            lock_released: r.lock_released,
            attempts: r.attempts,
            message: r.message,
            note: r.note,
            duration_ms: r.duration_ms as f64,
        }
    }
}

/// Restores the stage's state files (`app/<stage>.json`,
/// `secret/<stage>.json`, its passphrase) as they were at revision `to`,
/// as a NEW commit on the branch's tip (history is never rewritten), under
/// the stage lock (`LOCK_HELD` when another run holds it, after waiting
/// `lockTimeout`), pushed with the lock's release in one atomic push, with
/// `Rollback-To` / `Rollback-From` trailers. Rejects with
/// `PASSPHRASE_CHANGED` (nothing pushed) when the passphrase at `to`
/// differs from the current one, unless `force`; with `STATE_MISSING` when
/// the stage had no state at `to`. Resolves with `committed: false` when
/// the branch already holds those files. Cloud resources change only at
/// the next deploy: run `sst refresh` first.
#[napi(
    ts_args_type = "options: RollbackOptions",
    ts_return_type = "Promise<RollbackResult>"
)]
pub fn rollback_stage<'env>(
    env: &'env Env,
    options: Object<'_>,
) -> napi::Result<PromiseRaw<'env, RollbackResult>> {
    let core = options_from_js(options, "rollbackStage").and_then(|o: RollbackOptions| {
        Ok(rollback::RollbackOptions {
            lock: o.lock_request(None)?,
            common: o.common(),
            to: o.to,
            force: o.force.unwrap_or(false),
            branch: o.branch,
            remote: o.remote,
        })
    });
    spawn_blocking(
        env,
        move || {
            rollback::rollback(&core?, &ProcessEnv::process(), &mut |line| {
                eprintln!("sst-local-state: {line}")
            })
        },
        Into::into,
    )
}
