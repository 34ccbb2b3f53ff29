//! The Node-API binding of the history operations: `stageHistory` (its
//! options and result objects); the logic lives in [`crate::ops::history`].

use napi::bindgen_prelude::{Object, PromiseRaw};
use napi::Env;
use napi_derive::napi;

use super::{options_from_js, spawn_blocking, StageOptions};
use crate::env::Env as ProcessEnv;
use crate::ops::history::{self, HistoryEntry, HistoryReport};

/// Options of `stageHistory`.
#[napi(object)]
pub struct HistoryOptions {
    /// The stage (else env `SST_STAGE`).
    pub stage: Option<String>,
    /// The app name (else env `SST_LOCAL_STATE_APP`, `package.json`
    /// `sstLocalState.app`, then the `name` in `sst.config.ts`).
    pub app: Option<String>,
    /// Where to look for `sst.config.ts`; default `process.cwd()`.
    pub cwd: Option<String>,
    /// State folder relative to the project root; default `infra/state`.
    pub state_dir: Option<String>,
    /// SST's config dir; default `resolveConfigDir()`.
    pub config_dir: Option<String>,
    /// At most this many entries, newest first; default all.
    pub limit: Option<u32>,
    /// The revision the walk starts from; default `HEAD`.
    pub rev: Option<String>,
}

impl HistoryOptions {
    /// The JS names of the fields (a test checks them against `index.d.ts`).
    pub(super) const KEYS: &'static [&'static str] = &[
        "stage",
        "app",
        "cwd",
        "stateDir",
        "configDir",
        "limit",
        "rev",
    ];
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
    let core = match options {
        Some(object) => options_from_js(object, "stageHistory", HistoryOptions::KEYS),
        None => Ok(HistoryOptions {
            stage: None,
            app: None,
            cwd: None,
            state_dir: None,
            config_dir: None,
            limit: None,
            rev: None,
        }),
    }
    .map(|o: HistoryOptions| history::HistoryOptions {
        limit: o.limit.map(|n| n as usize),
        rev: o.rev,
        common: StageOptions {
            stage: o.stage,
            app: o.app,
            cwd: o.cwd,
            state_dir: o.state_dir,
            config_dir: o.config_dir,
        }
        .common(),
    });
    spawn_blocking(
        env,
        move || history::history(&core?, &ProcessEnv::process()),
        Into::into,
    )
}
