//! The core reports as the binding's JS objects: plain field-by-field
//! conversions, so a renamed or retyped core field is a compile error here
//! (not a JSON round trip that panics at run time). Enums use their one
//! `as_str()`, which their serde names match (tested below).

use super::{
    CheckpointSummary, CommitResult, CommittedFile, FileStatus, LockHolder, LockInfo, LockResult,
    PassphraseAccess, PrepareResult, PreparedFile, RunResult, SstLockInfo, StatusResult, StepTime,
    UnlockResult, WarningInfo,
};
use crate::ops::commit::{ChangedFile, CommitReport, Step};
use crate::ops::prepare::{FileOutcome, PrepareReport};
use crate::ops::status::{self, StatusReport};
use crate::ops::{lock, run};
use crate::sst::lock::SstLock;
use crate::stage::state::CheckpointInfo;
use crate::warning::Warning;

impl From<lock::Holder> for LockHolder {
    fn from(h: lock::Holder) -> Self {
        LockHolder {
            app: h.app,
            stage: h.stage,
            host: h.host,
            user: h.user,
            pid: h.pid,
            command: h.command,
            ci: h.ci,
            run_id: h.run_id,
            run_url: h.run_url,
            created: h.created,
            expires: h.expires,
        }
    }
}

impl From<lock::LockInfo> for LockInfo {
    fn from(l: lock::LockInfo) -> Self {
        LockInfo {
            lock_ref: l.lock_ref,
            commit: l.commit,
            holder: l.holder.map(Into::into),
            age_seconds: l.age_seconds.map(|s| s as f64),
            expired: l.expired,
        }
    }
}

impl From<lock::LockReport> for LockResult {
    fn from(r: lock::LockReport) -> Self {
        LockResult {
            app: r.app,
            stage: r.stage,
            lock_ref: r.lock_ref,
            remote: r.remote,
            commit: r.commit,
            holder: r.holder.into(),
            already_held: r.already_held,
            broke: r.broke.map(Into::into),
            attempts: r.attempts,
            waited_ms: r.waited_ms as f64,
            duration_ms: r.duration_ms as f64,
        }
    }
}

impl From<lock::UnlockReport> for UnlockResult {
    fn from(r: lock::UnlockReport) -> Self {
        UnlockResult {
            app: r.app,
            stage: r.stage,
            lock_ref: r.lock_ref,
            released: r.released,
            forced: r.forced,
            was: r.was.map(Into::into),
            duration_ms: r.duration_ms as f64,
        }
    }
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

impl From<Warning> for WarningInfo {
    fn from(w: Warning) -> Self {
        WarningInfo {
            code: w.code().into(),
            message: w.to_string(),
        }
    }
}

impl From<CheckpointInfo> for CheckpointSummary {
    fn from(c: CheckpointInfo) -> Self {
        CheckpointSummary {
            resources: c.resources,
            pending_operations: c.pending_operations,
        }
    }
}

impl From<SstLock> for SstLockInfo {
    fn from(l: SstLock) -> Self {
        SstLockInfo {
            path: l.path.into_string(),
            command: l.command,
            created: l.created,
            update_id: l.update_id,
        }
    }
}

impl From<FileOutcome> for PreparedFile {
    fn from(f: FileOutcome) -> Self {
        PreparedFile {
            kind: f.kind.as_str().into(),
            repo_path: f.repo_path.into_string(),
            config_path: f.config_path.into_string(),
            action: f.action.as_str().into(),
            bytes: f.bytes as f64,
        }
    }
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

impl From<status::FileStatus> for FileStatus {
    fn from(f: status::FileStatus) -> Self {
        FileStatus {
            kind: f.kind.as_str().into(),
            repo_path: f.repo_path.into_string(),
            config_path: f.config_path.into_string(),
            state: f.state.as_str().into(),
            repo_bytes: f.repo_bytes.map(|b| b as f64),
            config_bytes: f.config_bytes.map(|b| b as f64),
        }
    }
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

impl From<ChangedFile> for CommittedFile {
    fn from(f: ChangedFile) -> Self {
        CommittedFile {
            kind: f.kind.as_str().into(),
            path: f.path,
            change: f.change.into(),
            bytes: f.bytes as f64,
        }
    }
}

impl From<Step> for StepTime {
    fn from(s: Step) -> Self {
        StepTime {
            name: s.name,
            ms: s.ms as f64,
        }
    }
}

impl From<CommitReport> for CommitResult {
    fn from(r: CommitReport) -> Self {
        CommitResult {
            app: r.app,
            stage: r.stage,
            committed: r.committed,
            commit: r.commit,
            pushed: r.pushed,
            branch: r.branch,
            remote: r.remote,
            remote_url: r.remote_url,
            files: r.files.into_iter().map(Into::into).collect(),
            attempts: r.attempts,
            message: r.message,
            head_updated: r.head_updated,
            dry_run: r.dry_run,
            steps: r.steps.into_iter().map(Into::into).collect(),
            warnings: r.warnings.into_iter().map(Into::into).collect(),
            lock_ref: r.lock_ref,
            lock_released: r.lock_released,
            duration_ms: r.duration_ms as f64,
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::ops::doctor::Level;
    use crate::ops::prepare::Action;
    use crate::ops::status::SyncState;

    #[test]
    fn as_str_is_the_serde_name() {
        for a in [
            Action::Written,
            Action::Unchanged,
            Action::Absent,
            Action::Removed,
            Action::Kept,
        ] {
            assert_eq!(serde_json::to_value(a).unwrap(), a.as_str());
        }
        for s in [
            SyncState::InSync,
            SyncState::ChangedInConfigDir,
            SyncState::ChangedInRepo,
            SyncState::OnlyInRepo,
            SyncState::OnlyInConfigDir,
            SyncState::Absent,
            SyncState::Encrypted,
        ] {
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        for l in [Level::Ok, Level::Warning, Level::Error] {
            assert_eq!(serde_json::to_value(l).unwrap(), l.as_str());
        }
    }
}
