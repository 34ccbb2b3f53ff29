//! Status: how a stage's state in the repository compares with SST's
//! config dir, file by file, plus what SST itself left behind (its lock of
//! a crashed run, pending operations in the checkpoint). Reads only.

use std::time::Instant;

use crate::sst::lock::{read_sst_lock, SstLock};
use crate::warning::Warning;
use camino::Utf8PathBuf;
use serde::Serialize;

use crate::blob_id::BlobId;
use crate::env::Env;
use crate::error::Result;
use crate::fsx;
use crate::stage::layout::{self, state_files, Kind};
use crate::stage::marker::Marker;
use crate::stage::project::{self, CommonOptions};
use crate::stage::removal::{removed_by_sst, OWN};
use crate::stage::repo::read_repo_state;
use crate::stage::seal::Keyring;
use crate::stage::state::{check_checkpoint, CheckpointInfo};

/// How one state file compares between the repository and the config dir.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SyncState {
    /// Same content in both places.
    InSync,
    /// The config dir holds changes not saved to the repository (commit them).
    ChangedInConfigDir,
    /// The repository moved on since the last prepare (prepare again).
    ChangedInRepo,
    /// Only the repository has it (prepare restores it).
    OnlyInRepo,
    /// Only the config dir has it (commit saves it).
    OnlyInConfigDir,
    /// In neither place.
    Absent,
    /// Encrypted in the repository and no age key is configured to compare it.
    Encrypted,
    /// SST removed the stage from the config dir since the last sync (`sst
    /// remove` with `state.purge`); the repository still has it: `commit`
    /// saves the removal.
    RemovedInConfigDir,
}

impl SyncState {
    /// The state's name in JSON and JS (`in-sync`, ...), the same as its
    /// serde name.
    pub fn as_str(self) -> &'static str {
        match self {
            SyncState::InSync => "in-sync",
            SyncState::ChangedInConfigDir => "changed-in-config-dir",
            SyncState::ChangedInRepo => "changed-in-repo",
            SyncState::OnlyInRepo => "only-in-repo",
            SyncState::OnlyInConfigDir => "only-in-config-dir",
            SyncState::Absent => "absent",
            SyncState::Encrypted => "encrypted",
            SyncState::RemovedInConfigDir => "removed-in-config-dir",
        }
    }
}

/// One state file in a status report.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FileStatus {
    /// What the file holds.
    pub kind: Kind,
    /// Path in the repository.
    pub repo_path: Utf8PathBuf,
    /// Path in SST's config dir.
    pub config_path: Utf8PathBuf,
    /// The comparison.
    pub state: SyncState,
    /// Size in the repository, when present.
    pub repo_bytes: Option<u64>,
    /// Size in the config dir, when present.
    pub config_bytes: Option<u64>,
}

/// The result of [`status`].
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusReport {
    /// App name.
    pub app: String,
    /// Stage name.
    pub stage: String,
    /// Directory holding `sst.config.ts`.
    pub project_root: Utf8PathBuf,
    /// SST's config dir.
    pub config_dir: Utf8PathBuf,
    /// Per-file comparison.
    pub files: Vec<FileStatus>,
    /// Checkpoint summary of the repository's version (None when absent or unreadable).
    pub repo_checkpoint: Option<CheckpointInfo>,
    /// Checkpoint summary of the config dir's version.
    pub config_checkpoint: Option<CheckpointInfo>,
    /// SST's lock for the stage, if one exists.
    pub sst_lock: Option<SstLock>,
    /// Whether every file is in sync (or absent on both sides).
    pub clean: bool,
    /// SST removed the stage from the config dir since the last sync (`sst
    /// remove` with `state.purge`): `commit` saves the removal.
    pub stage_removed: bool,
    /// Findings such as a corrupt file on one side.
    pub warnings: Vec<Warning>,
    /// Wall time in milliseconds.
    pub duration_ms: u64,
    /// The stage's passphrases: where they live, whether the keys at hand
    /// open them, how many age recipients they have.
    pub passphrases: Vec<crate::stage::passphrase_access::PassphraseAccess>,
}

/// The counts of the checkpoint `bytes` read from `path`, if any; one that
/// cannot be read is a warning.
fn summary(
    path: &camino::Utf8Path,
    bytes: Option<&[u8]>,
    warnings: &mut Vec<Warning>,
) -> Option<CheckpointInfo> {
    match check_checkpoint(path, bytes?) {
        Ok(info) => Some(info),
        Err(e) => {
            warnings.push(Warning::StateInvalid {
                code: e.code(),
                message: e.to_string(),
            });
            None
        }
    }
}

/// How one file compares: the repository's and the config dir's content,
/// the last synced version's id, and whether SST removed the stage here.
fn compare(
    repo: Option<&[u8]>,
    config: Option<&[u8]>,
    base: Option<BlobId>,
    removed: bool,
) -> SyncState {
    match (repo, config) {
        (None, None) => SyncState::Absent,
        (Some(_), None) if removed => SyncState::RemovedInConfigDir,
        (Some(_), None) => SyncState::OnlyInRepo,
        (None, Some(_)) => SyncState::OnlyInConfigDir,
        (Some(r), Some(c)) if r == c => SyncState::InSync,
        (Some(_), Some(c)) if base == Some(BlobId::of(c)) => SyncState::ChangedInRepo,
        (Some(_), Some(_)) => SyncState::ChangedInConfigDir,
    }
}

/// Compares the stage's state in the repository and the config dir.
pub fn status(options: &CommonOptions, env: &Env) -> Result<StatusReport> {
    let started = Instant::now();
    let ctx = project::resolve(options, env)?;
    ctx.refuse_state_branch("status")?;
    let all = state_files(&ctx);
    crate::stage::guard::check_repo_paths(&ctx, &all)?;
    crate::stage::guard::check_config_files(&all)?;
    let loaded = Marker::load(&ctx)?;
    let stage_removed = removed_by_sst(&ctx, &loaded, |k| all[k].config_path.exists());
    let marker = loaded.marker();
    let mut warnings = ctx.warnings.clone();
    let mut files = Vec::new();
    let mut checkpoints = (None, None);
    let keyring = Keyring::new(env, &ctx.config_dir);
    let read = read_repo_state(&ctx, &all, env, &keyring, false, &mut warnings)?;
    let (repo_set, sealed) = (read.set, read.unreadable);
    for file in all {
        let repo = repo_set.get(file.kind).map(<[u8]>::to_vec);
        let repo_path = repo_set
            .path(file.kind)
            .map_or_else(|| file.repo_path.clone(), |p| p.to_path_buf());
        let config = fsx::read_optional(&file.config_path)?;
        if file.kind == Kind::App {
            checkpoints = (
                summary(&file.repo_path, repo.as_deref(), &mut warnings),
                summary(&file.config_path, config.as_deref(), &mut warnings),
            );
        }
        let state = if sealed.contains(&file.kind) {
            SyncState::Encrypted
        } else {
            let removed = stage_removed && OWN.contains(&file.kind);
            compare(
                repo.as_deref(),
                config.as_deref(),
                marker.hash(file.kind),
                removed,
            )
        };
        files.push(FileStatus {
            kind: file.kind,
            repo_path: file
                .sealed_path(&ctx)
                .filter(|_| sealed.contains(&file.kind))
                .unwrap_or(repo_path),
            config_path: file.config_path,
            state,
            repo_bytes: repo.as_ref().map(|b| b.len() as u64),
            config_bytes: config.as_ref().map(|b| b.len() as u64),
        });
    }
    let sst_lock = read_sst_lock(&layout::sst_lock_path(&ctx));
    Ok(StatusReport {
        app: ctx.app.to_string(),
        stage: ctx.stage.to_string(),
        project_root: ctx.project_root.clone(),
        config_dir: ctx.config_dir.clone(),
        clean: files
            .iter()
            .all(|f| matches!(f.state, SyncState::InSync | SyncState::Absent)),
        stage_removed,
        files,
        repo_checkpoint: checkpoints.0,
        config_checkpoint: checkpoints.1,
        sst_lock,
        warnings,
        passphrases: crate::stage::passphrase_access::access(
            &ctx,
            &state_files(&ctx),
            env,
            &keyring,
        ),
        duration_ms: started.elapsed().as_millis() as u64,
    })
}
