//! The Node-API binding of the operations on a stage's history and SST's
//! files: `stageHistory`, `rollbackStage`, `showStage`, `pruneStage` and
//! `doctorStage` (their options and result objects); the logic lives in
//! [`crate::ops::history`], [`crate::ops::rollback`], [`crate::ops::show`],
//! [`crate::ops::prune`] and [`crate::ops::doctor`].

use napi::bindgen_prelude::{Object, PromiseRaw};
use napi::Env;
use napi_derive::napi;

use super::options::{js_count, js_options, optional_options_from_js, options_from_js, JsOptions};
use super::{spawn_blocking, WarningInfo};
use crate::env::Env as ProcessEnv;
use crate::ops::doctor::{self, Check, DoctorReport};
use crate::ops::history::{self, HistoryEntry, HistoryReport};
use crate::ops::prune::{self, PruneReport};
use crate::ops::rollback::{self, RollbackReport};
use crate::ops::show::{self, ShowReport, TypeCount};
use crate::stage::passphrase_mode::PassphraseMode;

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
    /// Whether the passphrases were compared: false only with `force` when
    /// no age key at hand decrypts both; the tip's passphrase file was then
    /// kept (never the revision's older ciphertext) and `note` says so.
    pub passphrase_compared: bool,
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
    /// Whether this checkout's HEAD (and the stage's files in its worktree)
    /// moved to the new commit, as `commitStage` moves it: when HEAD was at
    /// the tip the rollback was built on.
    pub head_updated: bool,
    /// Findings that did not stop the rollback (`CHECKOUT_BEHIND`: the exact
    /// command that brings the new commit into this checkout).
    pub warnings: Vec<WarningInfo>,
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
            passphrase_compared: r.passphrase_compared,
            lock_ref: r.lock_ref,
            lock_released: r.lock_released,
            attempts: r.attempts,
            message: r.message,
            note: r.note,
            head_updated: r.head_updated,
            warnings: r.warnings.into_iter().map(Into::into).collect(),
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

impl From<TypeCount> for TypeCountInfo {
    fn from(t: TypeCount) -> Self {
        TypeCountInfo {
            type_name: t.type_name,
            count: t.count,
        }
    }
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

js_options! {
    #[doc = "Options of `pruneStage`."]
    pub struct PruneOptions {
        #[doc = "How many runs to keep, newest first (by SST's update ids): a whole number, 0 or more."]
        pub keep: f64,
        stage, app, cwd, state_dir, config_dir,
        #[doc = "Report what would be removed; remove nothing."]
        pub dry_run: Option<bool>,
    }
}

/// One run record `pruneStage` removed (or, with `dryRun`, would remove).
#[napi(object)]
pub struct PrunedFileInfo {
    /// Which record.
    #[napi(ts_type = "'update' | 'snapshot' | 'eventlog'")]
    pub kind: String,
    /// SST's update id of the run.
    pub update_id: String,
    /// The file.
    pub path: String,
    /// Its size in bytes.
    pub bytes: f64,
}

/// The result of `pruneStage`.
#[napi(object)]
pub struct PruneResult {
    /// App name.
    pub app: String,
    /// Stage name.
    pub stage: String,
    /// SST's config dir.
    pub config_dir: String,
    /// The update ids of the runs kept, newest first.
    pub kept: Vec<String>,
    /// The files removed (or to remove, with `dryRun`), newest run first.
    pub removed: Vec<PrunedFileInfo>,
    /// Bytes freed (or to free).
    pub bytes: f64,
    /// The update id of a run holding SST's lock, kept whatever `keep` says.
    pub locked_update_id: Option<String>,
    /// Whether nothing was removed.
    pub dry_run: bool,
}

impl From<PruneReport> for PruneResult {
    fn from(r: PruneReport) -> Self {
        PruneResult {
            app: r.app,
            stage: r.stage,
            config_dir: r.config_dir.into_string(),
            kept: r.kept,
            removed: r
                .removed
                .into_iter()
                .map(|f| PrunedFileInfo {
                    kind: f.kind.into(),
                    update_id: f.update_id,
                    path: f.path.into_string(),
                    bytes: f.bytes as f64,
                })
                .collect(),
            bytes: r.bytes as f64,
            locked_update_id: r.locked_update_id,
            dry_run: r.dry_run,
        }
    }
}

/// Removes the stage's old run records from SST's config dir: the
/// `update`, `snapshot` and `eventlog` files
/// (`state/<kind>/<app>/<stage>/<updateId>.json`) of all but the newest
/// `keep` runs, newest by SST's update ids. The run holding SST's lock (a
/// deploy running, or one that crashed) is always kept; only files named
/// `<24 hex>.json` in those folders are candidates, nothing else is touched.
/// A symbolic link on the way rejects with `STATE_SYMLINK` before anything
/// is removed. `dryRun` reports and removes nothing. An unknown option, or
/// a `keep` that is not a whole number, rejects with `INVALID_OPTION`.
#[napi(
    ts_args_type = "options: PruneOptions",
    ts_return_type = "Promise<PruneResult>"
)]
pub fn prune_stage<'env>(
    env: &'env Env,
    options: Object<'_>,
) -> napi::Result<PromiseRaw<'env, PruneResult>> {
    let core = options_from_js(options, "pruneStage").and_then(|o: PruneOptions| {
        Ok(prune::PruneOptions {
            keep: js_count(o.keep, "keep")?,
            common: o.common(),
            dry_run: o.dry_run.unwrap_or(false),
        })
    });
    spawn_blocking(
        env,
        move || prune::prune(&core?, &ProcessEnv::process()),
        Into::into,
    )
}

js_options! {
    #[doc = "Options of `doctorStage` (without a stage, from here or env `SST_STAGE`,"]
    #[doc = "the stage's checks are skipped, with a warning)."]
    pub struct DoctorOptions {
        stage, app, cwd, state_dir, config_dir, passphrase_mode,
    }
}

/// One check of `doctorStage`.
#[napi(object)]
pub struct DoctorCheckInfo {
    /// A stable name: `sst-config`, `config-dir`, `passphrase-mode`, `git`,
    /// `git-push`, `state-files`, `crashed-deploy`, `stage-lock`, `stage`,
    /// `ci`, `sst-version`.
    pub name: String,
    /// How it came out (`error`: will fail, fix it before deploying).
    #[napi(ts_type = "'ok' | 'warning' | 'error'")]
    pub level: String,
    /// What was found.
    pub message: String,
    /// How to fix it (absent when ok).
    pub fix: Option<String>,
    /// The error code behind an error, if any.
    #[napi(ts_type = "ErrorCode")]
    pub code: Option<String>,
}

/// The result of `doctorStage`.
#[napi(object)]
pub struct DoctorResult {
    /// The stage checked, if one was given.
    pub stage: Option<String>,
    /// Every check, in order.
    pub checks: Vec<DoctorCheckInfo>,
    /// How many checks are errors.
    pub errors: u32,
    /// How many checks are warnings.
    pub warnings: u32,
}

impl From<Check> for DoctorCheckInfo {
    fn from(c: Check) -> Self {
        DoctorCheckInfo {
            name: c.name.into(),
            level: c.level.as_str().into(),
            message: c.message,
            fix: c.fix,
            code: c.code.map(Into::into),
        }
    }
}

impl From<DoctorReport> for DoctorResult {
    fn from(r: DoctorReport) -> Self {
        DoctorResult {
            stage: r.stage,
            checks: r.checks.into_iter().map(Into::into).collect(),
            errors: r.errors as u32,
            warnings: r.warnings as u32,
        }
    }
}

/// What is wrong with this setup, before a deploy fails: `sst.config.ts`,
/// SST's config dir, the passphrase mode, the git repository and remote (a
/// dry-run push, naming the credential sources, never a credential), and
/// with a stage its state files, SST's lock and pending operations of a
/// crashed deploy and the stage lock on the remote; then the CI and the
/// installed `sst` version. Each check is ok, warning or error with how to
/// fix it. Resolves with every check also when some fail (`errors` counts
/// them; the CLI exits 1 then); rejects only for a bad option, an unknown
/// key or a `passphraseMode` other than `age`, `env`, `plain`
/// (`INVALID_OPTION`). Reads only.
#[napi(
    ts_args_type = "options?: DoctorOptions | undefined | null",
    ts_return_type = "Promise<DoctorResult>"
)]
pub fn doctor_stage<'env>(
    env: &'env Env,
    options: Option<Object<'_>>,
) -> napi::Result<PromiseRaw<'env, DoctorResult>> {
    let core = optional_options_from_js(options, "doctorStage").and_then(|o: DoctorOptions| {
        // a bad mode is the caller's error (the CLI's is a usage error), not a failed check
        if let Some(mode) = &o.passphrase_mode {
            PassphraseMode::parse(mode, "options.passphraseMode")?;
        }
        Ok(doctor::DoctorOptions { common: o.common() })
    });
    spawn_blocking(
        env,
        move || Ok(doctor::doctor(&core?, &ProcessEnv::process())),
        Into::into,
    )
}
