//! `rollbackStage` (the CLI's `rollback`): its options, its result and the
//! result's conversion from the core's report.

use napi::bindgen_prelude::{Object, PromiseRaw};
use napi::Env;
use napi_derive::napi;

use super::options::{js_options, options_from_js, JsOptions};
use super::promise::spawn_blocking;
use super::shared::WarningInfo;
use crate::env::Env as ProcessEnv;
use crate::ops::rollback::{self, RollbackReport};

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
