//! `prepareStage` (the CLI's `prepare`): its options, its result and the
//! result's conversion from the core's report.

use napi::bindgen_prelude::{Object, PromiseRaw};
use napi::Env;
use napi_derive::napi;

use super::lock::LockResult;
use super::options::{js_options, options_from_js, JsOptions};
use super::promise::spawn_blocking;
use super::shared::{js_kind, CheckpointSummary, FileKind, SstLockInfo, WarningInfo};
use crate::env::Env as ProcessEnv;
use crate::ops::prepare::{self, Action, FileOutcome, PrepareReport};

js_options! {
    #[doc = "Options of `prepareStage`."]
    pub struct PrepareOptions {
        stage, app, cwd, state_dir, config_dir, passphrase_mode, state_branch,
        #[doc = "Overwrite config-dir files holding unsaved changes (and remove those the"]
        #[doc = "repository lacks); every config-dir file it replaces is backed up first (`backupDir`)."]
        pub force: Option<bool>,
        #[doc = "Report what would change; write nothing."]
        pub dry_run: Option<bool>,
        #[doc = "Reject with `STATE_MISSING` when the repository has no checkpoint for the stage."]
        pub require_state: Option<bool>,
        #[doc = "Take the stage's lock on the git remote before writing anything (as"]
        #[doc = "`lockStage`; rejects with `LOCK_HELD`), and start from the branch's"]
        #[doc = "newest state (the stage's files in the worktree are brought up to the"]
        #[doc = "fetched branch tip). `commitStage` releases it."]
        pub lock: Option<bool>,
        #[doc = "The branch whose newest state a locked prepare starts from (else as `commitStage` picks it)."]
        pub branch: Option<String>,
        remote, lock_ref_prefix, lock_ttl, lock_timeout,
        #[doc = "Whether a new stage (none of whose state the repository holds) may be deployed;"]
        #[doc = "else env `SST_LOCAL_STATE_NEW_STAGES`, `package.json` `sstLocalState.newStages`"]
        #[doc = "(`true`, or name patterns such as `[\"pr-*\"]`), then: yes outside CI, no in CI"]
        #[doc = "(rejects with `STAGE_UNKNOWN`, listing the stages the repository holds)."]
        pub allow_new_stage: Option<bool>,
    }
}

js_kind! {
    #[doc = "What prepare did (or, with `dryRun`, would do) to one file."]
    pub enum PrepareAction from Action {
        Written = "written",
        Unchanged = "unchanged",
        Absent = "absent",
        Removed = "removed",
        Kept = "kept",
    }
}

/// One state file in a `prepareStage` result.
#[napi(object)]
pub struct PreparedFile {
    /// Which file.
    pub kind: FileKind,
    /// Path in the repository.
    pub repo_path: String,
    /// Path in SST's config dir.
    pub config_path: String,
    /// What prepare did (or, with `dryRun`, would do): `kept` = left as it
    /// is, since SST changed it after the last sync and the repository did
    /// not (`commit` saves it); `removed` with `force`, or with `lock` when
    /// the fetched branch tip removed a file the config dir holds as last synced.
    pub action: PrepareAction,
    /// Size of the repository's version in bytes (0 when absent).
    pub bytes: f64,
}

impl From<FileOutcome> for PreparedFile {
    fn from(f: FileOutcome) -> Self {
        PreparedFile {
            kind: f.kind.into(),
            repo_path: f.repo_path.into_string(),
            config_path: f.config_path.into_string(),
            action: f.action.into(),
            bytes: f.bytes as f64,
        }
    }
}

/// The result of `prepareStage`.
#[napi(object)]
pub struct PrepareResult {
    /// App name.
    pub app: String,
    /// Stage name.
    pub stage: String,
    /// Directory holding `sst.config.ts`.
    pub project_root: String,
    /// SST's config dir.
    pub config_dir: String,
    /// The state folder in the repository.
    pub state_dir: String,
    /// Per-file outcome (passphrases first, the checkpoint last: the write order).
    pub files: Vec<PreparedFile>,
    /// The repository has no checkpoint for the stage (SST will start a new one).
    pub first_deploy: bool,
    /// The stages the repository's state folder holds state for (a
    /// checkpoint, secrets or a passphrase), sorted.
    pub known_stages: Vec<String>,
    /// The counts of the checkpoint SST starts from, when there is one: the
    /// config dir's when it is kept (`action: 'kept'`), else the repository's.
    pub checkpoint: Option<CheckpointSummary>,
    /// Where the config-dir files a forced prepare overwrote or removed were
    /// backed up (with `force`, when it replaced any).
    pub backup_dir: Option<String>,
    /// Whether nothing was written.
    pub dry_run: bool,
    /// SST's lock for the stage, when one is left in the config dir.
    pub sst_lock: Option<SstLockInfo>,
    /// Findings that did not stop the run.
    pub warnings: Vec<WarningInfo>,
    /// The stage lock taken first (with `lock: true`).
    pub lock: Option<LockResult>,
    /// Wall time in milliseconds.
    pub duration_ms: f64,
}

impl From<PrepareReport> for PrepareResult {
    fn from(r: PrepareReport) -> Self {
        PrepareResult {
            app: r.app,
            stage: r.stage,
            project_root: r.project_root.into_string(),
            config_dir: r.config_dir.into_string(),
            state_dir: r.state_dir.into_string(),
            files: r.files.into_iter().map(Into::into).collect(),
            first_deploy: r.first_deploy,
            known_stages: r.known_stages,
            checkpoint: r.checkpoint.map(Into::into),
            backup_dir: r.backup_dir.map(|d| d.into_string()),
            dry_run: r.dry_run,
            sst_lock: r.sst_lock.map(Into::into),
            warnings: r.warnings.into_iter().map(Into::into).collect(),
            lock: r.lock.map(Into::into),
            duration_ms: r.duration_ms as f64,
        }
    }
}

/// Restores a stage's complete SST state (checkpoint, passphrase, secrets,
/// fallback secrets) from the repository's state folder into SST's config
/// dir, so `sst deploy` on this machine works exactly as on the machine that
/// deployed last. Checks every file first (codes `STATE_EMPTY`,
/// `STATE_CORRUPT`, `PASSPHRASE_INVALID`, `PASSPHRASE_MISSING`,
/// `SECRET_UNDECRYPTABLE`) and writes nothing when one fails. Refuses with
/// `UNSAVED_STATE` to overwrite config-dir files that hold changes never
/// committed, unless `force` (they are backed up first, see `backupDir`).
/// Every file is staged before any is renamed into place (an I/O error
/// changes nothing); passphrase and secrets get mode 0600. Holds an OS lock
/// on the config dir (`CONFIG_DIR_LOCKED` when another run keeps it); a
/// symbolic link on a state path is refused (`STATE_SYMLINK`). An age-encrypted
/// passphrase (`passphrase/<stage>.age`) is decrypted with
/// `SST_LOCAL_STATE_AGE_KEY` (codes `AGE_KEY_MISSING`, `DECRYPT_FAILED`).
/// An unknown option rejects with `INVALID_OPTION` before anything is done.
#[napi(
    ts_args_type = "options: PrepareOptions",
    ts_return_type = "Promise<PrepareResult>"
)]
pub fn prepare_stage<'env>(
    env: &'env Env,
    options: Object<'_>,
) -> napi::Result<PromiseRaw<'env, PrepareResult>> {
    let core = options_from_js(options, "prepareStage").and_then(|options: PrepareOptions| {
        let lock = options.lock_request(None)?;
        Ok(prepare::PrepareOptions {
            common: options.common(),
            lock: options.lock.unwrap_or(false).then_some(lock),
            force: options.force.unwrap_or(false),
            dry_run: options.dry_run.unwrap_or(false),
            require_state: options.require_state.unwrap_or(false),
            branch: options.branch,
            remote: options.remote,
            allow_new_stage: options.allow_new_stage,
        })
    });
    spawn_blocking(
        env,
        move || prepare::prepare(&core?, &ProcessEnv::process()),
        Into::into,
    )
}
