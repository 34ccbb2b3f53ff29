//! `commitStage` (the CLI's `commit`): its options, its result and the
//! result's conversion from the core's report.

use napi::bindgen_prelude::{Object, PromiseRaw};
use napi::Env;
use napi_derive::napi;

use super::options::{js_options, options_from_js, JsOptions};
use super::promise::spawn_blocking;
use super::shared::{FileKind, WarningInfo};
use crate::env::Env as ProcessEnv;
use crate::ops::commit::{self, ChangedFile, CommitReport, Step};

js_options! {
    #[doc = "Options of `commitStage`."]
    pub struct CommitOptions {
        stage, app, cwd, state_dir, config_dir, passphrase_mode, state_branch,
        #[doc = "Message template: `{app}`, `{stage}`, `{summary}` are replaced. Default"]
        #[doc = "`chore(sst-state): {app}/{stage} {summary} [skip ci]`; trailers are always added."]
        pub message: Option<String>,
        branch, remote,
        #[doc = "`false`: commit on HEAD locally and push nothing. Default `true`."]
        pub push: Option<bool>,
        #[doc = "Report what would be committed; write nothing."]
        pub dry_run: Option<bool>,
        #[doc = "Keep the stage lock this checkout holds (renewed for its ttl) instead"]
        #[doc = "of releasing it with the push."]
        pub keep_lock: Option<bool>,
    }
}

/// One file a commit changed.
#[napi(object)]
pub struct CommittedFile {
    /// Which file.
    pub kind: FileKind,
    /// Path in the repository, relative to its root.
    pub path: String,
    /// Whether the file is new in the branch, changed, or removed (SST
    /// removed the stage: `sst remove` with `state.purge`).
    #[napi(ts_type = "'added' | 'modified' | 'removed'")]
    pub change: String,
    /// Size in bytes.
    pub bytes: f64,
}

impl From<ChangedFile> for CommittedFile {
    fn from(f: ChangedFile) -> Self {
        CommittedFile {
            kind: f.kind.into(),
            path: f.path,
            change: f.change.into(),
            bytes: f.bytes as f64,
        }
    }
}

/// One step of a command and its wall time.
#[napi(object)]
pub struct StepTime {
    /// What was done.
    pub name: String,
    /// Milliseconds.
    pub ms: f64,
}

impl From<Step> for StepTime {
    fn from(s: Step) -> Self {
        StepTime {
            name: s.name,
            ms: s.ms as f64,
        }
    }
}

/// The result of `commitStage`.
#[napi(object)]
pub struct CommitResult {
    /// App name.
    pub app: String,
    /// Stage name.
    pub stage: String,
    /// Whether a commit was made (false when nothing changed, or on a dry run).
    pub committed: bool,
    /// The commit's id.
    pub commit: Option<String>,
    /// Whether the commit was pushed.
    pub pushed: bool,
    /// The branch pushed to.
    pub branch: Option<String>,
    /// The remote's name.
    pub remote: Option<String>,
    /// The remote's URL with credentials redacted.
    pub remote_url: Option<String>,
    /// The files that changed.
    pub files: Vec<CommittedFile>,
    /// Push attempts (more than 1 when the branch moved and the commit was rebuilt on its new tip).
    pub attempts: u32,
    /// The commit message (with trailers).
    pub message: Option<String>,
    /// Whether HEAD now points at the commit.
    pub head_updated: bool,
    /// Whether nothing was written.
    pub dry_run: bool,
    /// Steps with their times.
    pub steps: Vec<StepTime>,
    /// Findings that did not stop the run.
    pub warnings: Vec<WarningInfo>,
    /// The stage lock this checkout held (from `prepareStage({ lock: true })`
    /// or `lockStage`), updated in the same atomic push as the branch.
    pub lock_ref: Option<String>,
    /// Whether that lock was released (false: `keepLock`, or none held).
    pub lock_released: bool,
    /// Wall time in milliseconds.
    pub duration_ms: f64,
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

/// Saves what SST left in its config dir for a stage (checkpoint, secrets,
/// passphrases) into the repository as one commit on the remote branch's
/// tip, and pushes it as a compare-and-swap (never a blind force). Checks the files as `prepareStage` does
/// and never commits a corrupt or empty checkpoint. Commits only the state
/// files (never `git add .`; your index and other files are untouched), works
/// from detached, shallow and PR-merge CI checkouts, sends `http.extraheader`
/// credentials, and retries on a moved branch. Rejects with `STATE_CONFLICT`
/// when another run changed this stage's state meanwhile: nothing is
/// overwritten and the state is pushed to a rescue branch of its own named
/// in the error (`err.rescueBranch`, absent if that push failed too). Files
/// this run did not change (such as fallback secrets another stage pushed)
/// are never written. Rejects with `BRANCH_BUSY` when other runs kept moving
/// the branch for `SST_LOCAL_STATE_PUSH_TIMEOUT` seconds (run it again).
/// When this checkout holds the stage lock, the push is atomic with the
/// lock's release (or renewal, `keepLock`), each a compare-and-swap: the
/// state lands only while the lock is still ours, else `LOCK_LOST` with the
/// state on a rescue branch (`err.rescueBranch`).
/// Other codes: `NOT_A_GIT_REPO`, `NO_REMOTE`, `NO_BRANCH`, `AUTH_FAILED`,
/// `PUSH_REJECTED`, `NETWORK_ERROR`, `PASSPHRASE_MISMATCH`, `STATE_SYMLINK`,
/// `CONFIG_DIR_LOCKED`. A new passphrase is committed only
/// age-encrypted to the recipients in `<stateDir>/age-recipients.txt`
/// (`sst-local-state init`); without them the code is `PLAINTEXT_PASSPHRASE`.
/// An unknown option rejects with `INVALID_OPTION` before anything is done.
#[napi(
    ts_args_type = "options: CommitOptions",
    ts_return_type = "Promise<CommitResult>"
)]
pub fn commit_stage<'env>(
    env: &'env Env,
    options: Object<'_>,
) -> napi::Result<PromiseRaw<'env, CommitResult>> {
    let core = options_from_js(options, "commitStage").map(|options: CommitOptions| {
        commit::CommitOptions {
            common: options.common(),
            message: options.message,
            branch: options.branch,
            remote: options.remote,
            no_push: !options.push.unwrap_or(true),
            dry_run: options.dry_run.unwrap_or(false),
            keep_lock: options.keep_lock.unwrap_or(false),
            trailers: Vec::new(),
            run_lock: None,
        }
    });
    spawn_blocking(
        env,
        move || commit::commit(&core?, &ProcessEnv::process()),
        Into::into,
    )
}
