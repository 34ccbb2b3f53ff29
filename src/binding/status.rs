//! `stageStatus` (the CLI's `status`): its options, its result and the
//! result's conversion from the core's report.

use napi::bindgen_prelude::{Object, PromiseRaw};
use napi::Env;
use napi_derive::napi;

use super::options::{js_options, optional_options_from_js, JsOptions};
use super::promise::spawn_blocking;
use super::shared::{js_kind, CheckpointSummary, FileKind, SstLockInfo, WarningInfo};
use crate::env::Env as ProcessEnv;
use crate::ops::status::{self, StatusReport, SyncState as CoreSyncState};

js_options! {
    #[doc = "Options every stage command takes."]
    pub struct StageOptions {
        stage, app, cwd, state_dir, config_dir, passphrase_mode,
    }
}

js_kind! {
    #[doc = "How one state file compares between the repository and the config dir."]
    pub enum SyncState from CoreSyncState {
        InSync = "in-sync",
        ChangedInConfigDir = "changed-in-config-dir",
        ChangedInRepo = "changed-in-repo",
        OnlyInRepo = "only-in-repo",
        OnlyInConfigDir = "only-in-config-dir",
        Absent = "absent",
        Encrypted = "encrypted",
        RemovedInConfigDir = "removed-in-config-dir",
    }
}

/// One state file in a `stageStatus` result.
#[napi(object)]
pub struct FileStatus {
    /// Which file.
    pub kind: FileKind,
    /// Path in the repository.
    pub repo_path: String,
    /// Path in SST's config dir.
    pub config_path: String,
    /// `in-sync`; `changed-in-config-dir` (unsaved: commit it); `changed-in-repo`
    /// (prepare again); `only-in-repo`; `only-in-config-dir`; `absent`;
    /// `encrypted` (the repository's passphrase is age-encrypted and no key is configured);
    /// `removed-in-config-dir` (SST removed the stage here, `sst remove` with
    /// `state.purge`: commit saves the removal).
    pub state: SyncState,
    /// Size in the repository, when present.
    pub repo_bytes: Option<f64>,
    /// Size in the config dir, when present.
    pub config_bytes: Option<f64>,
}

impl From<status::FileStatus> for FileStatus {
    fn from(f: status::FileStatus) -> Self {
        FileStatus {
            kind: f.kind.into(),
            repo_path: f.repo_path.into_string(),
            config_path: f.config_path.into_string(),
            state: f.state.into(),
            repo_bytes: f.repo_bytes.map(|b| b as f64),
            config_bytes: f.config_bytes.map(|b| b as f64),
        }
    }
}

/// One passphrase in a `stageStatus` result (never its value).
#[napi(object)]
pub struct PassphraseAccess {
    /// Which passphrase.
    #[napi(ts_type = "'passphrase' | 'fallbackPassphrase'")]
    pub kind: String,
    /// Where it lives: age-encrypted, plain, only in the environment, or nowhere.
    #[napi(ts_type = "'age' | 'plain' | 'env' | 'absent'")]
    pub form: String,
    /// The file in the repository, or `env <VARIABLE>`.
    pub source: String,
    /// Whether the age keys at hand (or the variable) open it.
    pub decryptable: bool,
    /// How many age recipients it is encrypted to (`age` only).
    pub recipients: Option<u32>,
    /// Why it cannot be read here.
    pub reason: Option<String>,
}

/// The result of `stageStatus`.
#[napi(object)]
pub struct StatusResult {
    /// App name.
    pub app: String,
    /// Stage name.
    pub stage: String,
    /// Directory holding `sst.config.ts`.
    pub project_root: String,
    /// SST's config dir.
    pub config_dir: String,
    /// Per-file comparison.
    pub files: Vec<FileStatus>,
    /// Counts of the repository's checkpoint.
    pub repo_checkpoint: Option<CheckpointSummary>,
    /// Counts of the config dir's checkpoint.
    pub config_checkpoint: Option<CheckpointSummary>,
    /// SST's lock for the stage, if one exists.
    pub sst_lock: Option<SstLockInfo>,
    /// Whether every file is in sync or absent on both sides.
    pub clean: bool,
    /// SST removed the stage from the config dir since the last sync (`sst
    /// remove` with `state.purge`): `commitStage` saves the removal.
    pub stage_removed: bool,
    /// Findings such as a corrupt file on one side.
    pub warnings: Vec<WarningInfo>,
    /// Wall time in milliseconds.
    pub duration_ms: f64,
    /// The stage's and the fallback's passphrase: where each lives, whether
    /// the keys at hand open it, how many age recipients it has.
    pub passphrases: Vec<PassphraseAccess>,
}

impl From<StatusReport> for StatusResult {
    fn from(r: StatusReport) -> Self {
        StatusResult {
            app: r.app,
            stage: r.stage,
            project_root: r.project_root.into_string(),
            config_dir: r.config_dir.into_string(),
            files: r.files.into_iter().map(Into::into).collect(),
            repo_checkpoint: r.repo_checkpoint.map(Into::into),
            config_checkpoint: r.config_checkpoint.map(Into::into),
            sst_lock: r.sst_lock.map(Into::into),
            clean: r.clean,
            stage_removed: r.stage_removed,
            warnings: r.warnings.into_iter().map(Into::into).collect(),
            duration_ms: r.duration_ms as f64,
            passphrases: r
                .passphrases
                .into_iter()
                .map(|p| PassphraseAccess {
                    kind: p.kind.as_str().into(),
                    form: p.form.into(),
                    source: p.source,
                    decryptable: p.decryptable,
                    recipients: p.recipients.map(|n| n as u32),
                    reason: p.reason,
                })
                .collect(),
        }
    }
}

/// Compares a stage's state in the repository with SST's config dir, file
/// by file, with resource counts on both sides, pending operations, and SST's
/// own lock (left by a crashed deploy). Reads only. An unknown option rejects
/// with `INVALID_OPTION`.
#[napi(
    ts_args_type = "options?: StageOptions | undefined | null",
    ts_return_type = "Promise<StatusResult>"
)]
pub fn stage_status<'env>(
    env: &'env Env,
    options: Option<Object<'_>>,
) -> napi::Result<PromiseRaw<'env, StatusResult>> {
    let common = optional_options_from_js(options, "stageStatus")
        .map(|options: StageOptions| options.common());
    spawn_blocking(
        env,
        move || status::status(&common?, &ProcessEnv::process()),
        Into::into,
    )
}
