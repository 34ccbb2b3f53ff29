//! The Node-API binding: argument conversion and error mapping only (the
//! `#[napi]` functions and the JS option and result objects); the logic
//! lives in the plain Rust modules, which know nothing of napi.

mod into_js;
pub mod ops_js;
mod option_keys;
mod options;
pub mod passphrases;
mod promise;

use std::collections::{BTreeMap, HashMap};

use napi::bindgen_prelude::{JsError, JsObjectValue, JsValue, Object, PromiseRaw, ToNapiValue};
use napi::Env;
use napi_derive::napi;

use crate::cli;
use crate::env::Env as ProcessEnv;
use crate::error;
use crate::ops::{commit, lock, prepare, run, status};
use crate::sst::config_dir::{self, Platform};
use options::{js_options, optional_options_from_js, options_from_js, JsOptions};

fn js_error(error: error::Error) -> napi::Error<String> {
    napi::Error::new(error.code().to_string(), error.to_string())
}

/// Every `code` an error of sst-local-state carries (JS `err.code`, the
/// CLI's `--json` `"code"`), for exhaustive handling in TypeScript. The
/// troubleshooting table in docs/troubleshooting.md says what to do about each.
#[napi(string_enum)]
#[allow(non_camel_case_types, clippy::upper_case_acronyms)]
pub enum ErrorCode {
    STAGE_REQUIRED,
    INVALID_STAGE,
    INVALID_APP,
    APP_NAME_UNRESOLVED,
    SST_CONFIG_TOO_DEEP,
    HOME_NOT_LOCAL,
    PROJECT_NOT_FOUND,
    CONFIG_DIR_RELATIVE_XDG,
    CONFIG_DIR_NO_HOME,
    INVALID_OPTION,
    STATE_MISSING,
    STATE_CORRUPT,
    STATE_EMPTY,
    PASSPHRASE_INVALID,
    PASSPHRASE_MISSING,
    SECRET_UNDECRYPTABLE,
    UNSAVED_STATE,
    STATE_MISSING_IN_REPO,
    NOT_A_GIT_REPO,
    NO_REMOTE,
    NO_BRANCH,
    AUTH_FAILED,
    PUSH_REJECTED,
    STATE_CONFLICT,
    PASSPHRASE_MISMATCH,
    AGE_KEY_MISSING,
    DECRYPT_FAILED,
    PLAINTEXT_PASSPHRASE,
    KEY_FILE_IN_REPO,
    NETWORK_ERROR,
    GIT_ERROR,
    IO_ERROR,
    USAGE,
    STATE_SYMLINK,
    CONFIG_DIR_LOCKED,
    BRANCH_BUSY,
    GIT_NOT_FOUND,
    HOST_KEY_REJECTED,
    REDIRECT_REFUSED,
    LOCK_HELD,
    LOCK_NOT_HELD,
    LOCK_REF_REFUSED,
    LOCK_LOST,
    PASSPHRASE_CHANGED,
    STAGE_UNKNOWN,
    REMOVAL_UNSAVED,
}

/// A finding that did not stop the run.
#[napi(object)]
pub struct WarningInfo {
    /// Stable code (`UNSAVED`, `SST_LOCK`, `HEAD_NOT_MOVED`, ...).
    pub code: String,
    /// What was found, and what to do about it.
    pub message: String,
}

js_options! {
    #[doc = "Options of `resolveConfigDir`."]
    pub struct ResolveConfigDirOptions {
        #[doc = "Environment variables to use instead of `process.env`."]
        pub env: Option<HashMap<String, String>>,
        #[doc = "A Node.js `process.platform` value (`linux`, `darwin`, `win32`, ...)"]
        #[doc = "whose rules to apply instead of the current platform's."]
        pub platform: Option<String>,
    }
}

/// SST's config directory (where SST keeps local state), computed exactly
/// as SST computes it (Go's `os.UserConfigDir()` + `/sst`):
/// Linux/BSD `$XDG_CONFIG_HOME/sst` or `$HOME/.config/sst`, macOS
/// `$HOME/Library/Application Support/sst`, Windows `%AppData%\sst`.
///
/// Never creates a directory. Throws an `Error` with `code`
/// `CONFIG_DIR_RELATIVE_XDG` (relative `XDG_CONFIG_HOME`),
/// `CONFIG_DIR_NO_HOME` (no variable to locate it) or `INVALID_OPTION`
/// (unknown `platform` or option).
#[napi(ts_args_type = "options?: ResolveConfigDirOptions | undefined | null")]
pub fn resolve_config_dir(options: Option<Object<'_>>) -> napi::Result<String, String> {
    let options: ResolveConfigDirOptions =
        optional_options_from_js(options, "resolveConfigDir").map_err(js_error)?;
    let platform = match options.platform.as_deref() {
        None => Platform::current(),
        Some(name) => Platform::from_node(name).ok_or_else(|| {
            js_error(error::Error::option(
                "options.platform",
                format!("unknown platform {name:?} (expected a process.platform value such as linux, darwin, win32)"),
            ))
        })?,
    };
    let env = match options.env {
        Some(map) => ProcessEnv::from_map(
            map.into_iter().collect::<BTreeMap<_, _>>(),
            platform == Platform::Windows,
        ),
        None => ProcessEnv::process(),
    };
    config_dir::resolve_config_dir(&env, platform).map_err(js_error)
}

js_options! {
    #[doc = "Options every stage command takes."]
    pub struct StageOptions {
        stage, app, cwd, state_dir, config_dir, passphrase_mode,
    }
}

js_options! {
    #[doc = "Options of `prepareStage`."]
    pub struct PrepareOptions {
        stage, app, cwd, state_dir, config_dir, passphrase_mode,
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

/// One state file in a `prepareStage` result.
#[napi(object)]
pub struct PreparedFile {
    /// Which file: `app` (checkpoint), `passphrase`, `secret`, `fallbackSecret`, `fallbackPassphrase`.
    #[napi(ts_type = "'app' | 'passphrase' | 'secret' | 'fallbackSecret' | 'fallbackPassphrase'")]
    pub kind: String,
    /// Path in the repository.
    pub repo_path: String,
    /// Path in SST's config dir.
    pub config_path: String,
    /// What prepare did (or, with `dryRun`, would do): `kept` = left as it
    /// is, since SST changed it after the last sync and the repository did
    /// not (`commit` saves it); `removed` with `force`, or with `lock` when
    /// the fetched branch tip removed a file the config dir holds as last synced.
    #[napi(ts_type = "'written' | 'unchanged' | 'absent' | 'removed' | 'kept'")]
    pub action: String,
    /// Size of the repository's version in bytes (0 when absent).
    pub bytes: f64,
}

/// Resource counts of a Pulumi checkpoint.
#[napi(object)]
pub struct CheckpointSummary {
    /// Resources in `checkpoint.latest.resources`.
    pub resources: u32,
    /// Entries in `pending_operations` (non-zero: a run was interrupted).
    pub pending_operations: u32,
}

/// SST's lock for a stage (a deploy is running, or one crashed).
#[napi(object)]
pub struct SstLockInfo {
    /// The lock file.
    pub path: String,
    /// The SST command that took it.
    pub command: String,
    /// When it was taken (RFC 3339).
    pub created: String,
    /// SST's update id of that run.
    pub update_id: Option<String>,
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

/// One state file in a `stageStatus` result.
#[napi(object)]
pub struct FileStatus {
    /// Which file.
    #[napi(ts_type = "'app' | 'passphrase' | 'secret' | 'fallbackSecret' | 'fallbackPassphrase'")]
    pub kind: String,
    /// Path in the repository.
    pub repo_path: String,
    /// Path in SST's config dir.
    pub config_path: String,
    /// `in-sync`; `changed-in-config-dir` (unsaved: commit it); `changed-in-repo`
    /// (prepare again); `only-in-repo`; `only-in-config-dir`; `absent`;
    /// `encrypted` (the repository's passphrase is age-encrypted and no key is configured);
    /// `removed-in-config-dir` (SST removed the stage here, `sst remove` with
    /// `state.purge`: commit saves the removal).
    #[napi(
        ts_type = "'in-sync' | 'changed-in-config-dir' | 'changed-in-repo' | 'only-in-repo' | 'only-in-config-dir' | 'absent' | 'encrypted' | 'removed-in-config-dir'"
    )]
    pub state: String,
    /// Size in the repository, when present.
    pub repo_bytes: Option<f64>,
    /// Size in the config dir, when present.
    pub config_bytes: Option<f64>,
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

js_options! {
    #[doc = "Options of `commitStage`."]
    pub struct CommitOptions {
        stage, app, cwd, state_dir, config_dir, passphrase_mode,
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
    #[napi(ts_type = "'app' | 'passphrase' | 'secret' | 'fallbackSecret' | 'fallbackPassphrase'")]
    pub kind: String,
    /// Path in the repository, relative to its root.
    pub path: String,
    /// Whether the file is new in the branch, changed, or removed (SST
    /// removed the stage: `sst remove` with `state.purge`).
    #[napi(ts_type = "'added' | 'modified' | 'removed'")]
    pub change: String,
    /// Size in bytes.
    pub bytes: f64,
}

/// One step of a command and its wall time.
#[napi(object)]
pub struct StepTime {
    /// What was done.
    pub name: String,
    /// Milliseconds.
    pub ms: f64,
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

js_options! {
    #[doc = "Options of `lockStage`."]
    pub struct LockOptions {
        stage, app, cwd, remote, lock_ref_prefix, lock_ttl, lock_timeout,
        #[doc = "What this process runs, recorded in the lock as given; default its program and"]
        #[doc = "up to two subcommand words (never its other arguments, which may hold secrets)."]
        pub command: Option<String>,
    }
}

js_options! {
    #[doc = "Options of `unlockStage`."]
    pub struct UnlockOptions {
        stage, app, cwd, remote, lock_ref_prefix,
        #[doc = "Delete the lock whoever holds it (the result's `was` says whose it was)."]
        pub force: Option<bool>,
    }
}

js_options! {
    #[doc = "Options of `listLocks`."]
    pub struct ListLocksOptions {
        cwd, remote, lock_ref_prefix,
    }
}

/// Who holds a stage lock: what its lock commit records.
#[napi(object)]
pub struct LockHolder {
    /// App name.
    pub app: String,
    /// Stage name.
    pub stage: String,
    /// Host name of the machine.
    pub host: String,
    /// User name.
    pub user: String,
    /// Process id.
    pub pid: u32,
    /// What it runs.
    pub command: String,
    /// CI provider (`github-actions`, `azure-pipelines`, `gitlab`, ...), absent outside CI.
    pub ci: Option<String>,
    /// The CI run's id or number.
    pub run_id: Option<String>,
    /// A link to the CI run.
    pub run_url: Option<String>,
    /// When the lock was taken (RFC 3339, UTC).
    pub created: String,
    /// When it expires (RFC 3339, UTC); after that another run may break it.
    pub expires: String,
}

/// A stage lock found on the remote.
#[napi(object)]
pub struct LockInfo {
    /// The lock ref.
    pub lock_ref: String,
    /// The lock commit it points at.
    pub commit: String,
    /// Who holds it (absent: the ref points at a commit that is not a lock commit).
    pub holder: Option<LockHolder>,
    /// Seconds since it was taken.
    pub age_seconds: Option<f64>,
    /// Whether it has expired (the next `lockStage` breaks it).
    pub expired: bool,
}

/// The result of `lockStage`.
#[napi(object)]
pub struct LockResult {
    /// App name.
    pub app: String,
    /// Stage name.
    pub stage: String,
    /// The lock ref.
    pub lock_ref: String,
    /// The remote's name.
    pub remote: String,
    /// Our lock commit.
    pub commit: String,
    /// What the lock records.
    pub holder: LockHolder,
    /// This checkout held the lock already (nothing was pushed).
    pub already_held: bool,
    /// The expired lock this call replaced.
    pub broke: Option<LockInfo>,
    /// Create attempts made.
    pub attempts: u32,
    /// Milliseconds spent waiting for another holder.
    pub waited_ms: f64,
    /// Wall time in milliseconds.
    pub duration_ms: f64,
}

/// The result of `unlockStage`.
#[napi(object)]
pub struct UnlockResult {
    /// App name.
    pub app: String,
    /// Stage name.
    pub stage: String,
    /// The lock ref.
    pub lock_ref: String,
    /// Whether a lock was deleted (false: there was none).
    pub released: bool,
    /// Whether `force` was given.
    pub forced: bool,
    /// With `force`: the lock that was deleted, whoever held it.
    pub was: Option<LockInfo>,
    /// Wall time in milliseconds.
    pub duration_ms: f64,
}

js_options! {
    #[doc = "Options of `runStage`."]
    pub struct RunOptions {
        #[doc = "The command and its arguments (`[\"npx\", \"sst\", \"deploy\", \"--stage\", \"prod\"]`), run in `cwd`."]
        pub command: Vec<String>,
        stage, app, cwd, state_dir, config_dir, passphrase_mode, branch, remote,
        #[doc = "Commit message template (as for `commitStage`)."]
        pub message: Option<String>,
        lock_ref_prefix, lock_ttl, lock_timeout,
        #[doc = "Whether a new stage (none of whose state the repository holds) may be deployed;"]
        #[doc = "else env `SST_LOCAL_STATE_NEW_STAGES`, `package.json` `sstLocalState.newStages`"]
        #[doc = "(`true`, or name patterns such as `[\"pr-*\"]`), then: yes outside CI, no in CI"]
        #[doc = "(rejects with `STAGE_UNKNOWN`, listing the stages the repository holds)."]
        pub allow_new_stage: Option<bool>,
    }
}

/// The result of `runStage`.
#[napi(object)]
pub struct RunResult {
    /// What prepare did (`lock`: the lock it took).
    pub prepare: PrepareResult,
    /// The command's exit code (128 + the signal when a signal ended it, 127 when it could not be started).
    pub exit_code: i32,
    /// The signal that ended the command.
    pub signal: Option<i32>,
    /// SST's own lock, when the command left it in the config dir (a crashed deploy).
    pub sst_lock: Option<SstLockInfo>,
    /// What commit did (`lockReleased`).
    pub commit: CommitResult,
    /// Wall time in milliseconds.
    pub duration_ms: f64,
}

/// Deploys under the stage lock: takes the lock and prepares (from the
/// branch's newest state), runs `command` with this process's stdio
/// (SIGINT/SIGTERM sent to this process by another one are forwarded to
/// it, and to each command of overlapping calls), then commits ALWAYS, also when the command failed (a failed deploy
/// still changed real resources), with the exit code in the trailers, and
/// releases the lock in the same push. Resolves with the command's
/// `exitCode` once the state is saved (a failed command does not reject);
/// rejects with `LOCK_HELD` before anything ran, or with the save's error
/// (its message says where the state is; the lock then stays held unless the
/// state is on a rescue branch).
#[napi(
    ts_args_type = "options: RunOptions",
    ts_return_type = "Promise<RunResult>"
)]
pub fn run_stage<'env>(
    env: &'env Env,
    options: Object<'_>,
) -> napi::Result<PromiseRaw<'env, RunResult>> {
    let core = options_from_js(options, "runStage").and_then(|options: RunOptions| {
        Ok(run::RunOptions {
            common: options.common(),
            lock: options.lock_request(None)?,
            branch: options.branch,
            remote: options.remote,
            message: options.message,
            allow_new_stage: options.allow_new_stage,
            command: options.command,
        })
    });
    spawn_blocking(
        env,
        move || {
            run::run(&core?, &ProcessEnv::process(), &mut |line| {
                eprintln!("sst-local-state run: {line}")
            })
        },
        Into::into,
    )
}

/// Takes a stage's lock on the git remote: a create-only push of the ref
/// `<lockRefPrefix>/<app>/<stage>` (default prefix
/// `refs/heads/sst-local-state/lock`), which the git server applies as a
/// compare-and-swap, so of many concurrent callers exactly one gets it. Its
/// commit records the holder (CI run and URL, host, pid, user, command) and
/// when it expires (`lockTtl`, default 1 hour, from 1s to 7 days). Rejects with `LOCK_HELD`
/// (`err.lockRef`, `err.runUrl`) naming the holder and its age when another
/// run holds it, at once or after waiting `lockTimeout` (polling with
/// jittered backoff and printing who holds it on stderr). An expired lock
/// is replaced by a compare-and-swap against its commit (`broke`), so two
/// waiters cannot both break it. A ref in the lock ref's way rejects with
/// `LOCK_REF_REFUSED` at once. Needs the `git` command line
/// (`GIT_NOT_FOUND` otherwise). The checkout remembers the lock, so
/// `unlockStage` in it releases it. Calling it again while holding the lock
/// resolves with `alreadyHeld`.
#[napi(
    ts_args_type = "options: LockOptions",
    ts_return_type = "Promise<LockResult>"
)]
pub fn lock_stage<'env>(
    env: &'env Env,
    options: Object<'_>,
) -> napi::Result<PromiseRaw<'env, LockResult>> {
    let core = options_from_js(options, "lockStage").and_then(|options: LockOptions| {
        Ok(lock::LockOptions {
            common: options.common(),
            lock: options.lock_request(options.command.clone())?,
            remote: options.remote,
        })
    });
    spawn_blocking(
        env,
        move || {
            lock::lock(&core?, &ProcessEnv::process(), &mut |line| {
                eprintln!("sst-local-state: {line}")
            })
        },
        Into::into,
    )
}

/// Releases a stage's lock that this checkout holds: deletes the lock ref
/// only while the remote still holds our lock commit (a compare-and-swap).
/// Rejects with `LOCK_NOT_HELD` naming the holder when another run holds
/// it. `force: true` deletes the lock whoever holds it, and `was` says whose
/// it was. Resolves with `released: false` when there is no lock.
#[napi(
    ts_args_type = "options: UnlockOptions",
    ts_return_type = "Promise<UnlockResult>"
)]
pub fn unlock_stage<'env>(
    env: &'env Env,
    options: Object<'_>,
) -> napi::Result<PromiseRaw<'env, UnlockResult>> {
    let core =
        options_from_js(options, "unlockStage").map(|options: UnlockOptions| lock::UnlockOptions {
            common: options.common(),
            remote: options.remote,
            prefix: options.lock_ref_prefix,
            force: options.force.unwrap_or(false),
        });
    spawn_blocking(
        env,
        move || lock::unlock(&core?, &ProcessEnv::process()),
        Into::into,
    )
}

/// Lists the stage locks on the git remote (`git ls-remote` of the lock
/// prefix), each with its holder, age and whether it has expired.
#[napi(
    ts_args_type = "options?: ListLocksOptions | undefined | null",
    ts_return_type = "Promise<Array<LockInfo>>"
)]
pub fn list_locks<'env>(
    env: &'env Env,
    options: Option<Object<'_>>,
) -> napi::Result<PromiseRaw<'env, Vec<LockInfo>>> {
    let core = optional_options_from_js(options, "listLocks").map(|options: ListLocksOptions| {
        lock::ListOptions {
            common: options.common(),
            remote: options.remote,
            prefix: options.lock_ref_prefix,
        }
    });
    spawn_blocking(
        env,
        move || lock::list(&core?, &ProcessEnv::process()),
        |locks| locks.into_iter().map(Into::into).collect(),
    )
}

/// Runs `work` on tokio's blocking pool and settles a promise with its
/// result; a core error rejects it with a JS `Error` whose `code` property
/// is the stable error code, plus the error's details (`files`, `rescueBranch`).
fn spawn_blocking<'env, T, V>(
    env: &'env Env,
    work: impl FnOnce() -> error::Result<T> + Send + 'static,
    to_js: fn(T) -> V,
) -> napi::Result<PromiseRaw<'env, V>>
where
    T: Send + 'static,
    V: ToNapiValue + 'static,
{
    let fut = async move {
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|e| napi::Error::from_reason(format!("sst-local-state task failed: {e}")))
    };
    env.spawn_future_with_callback(fut, move |env, result| match result {
        Ok(value) => Ok(to_js(value)),
        Err(error) => {
            // inside SST's evaluation of sst.config.ts, SST shows only
            // "Unexpected error occurred": say what failed where it can be seen
            // the script node runs: its first argument that is not an option
            let script = std::env::args().skip(1).find(|a| !a.starts_with('-'));
            if let Some(line) = promise::sst_eval_error_line(&error, script.as_deref()) {
                eprintln!("{line}");
                tell_terminal(&line);
            }
            let details = error.details();
            let js = JsError::from(js_error(error)).into_unknown(*env);
            if let Ok(mut object) = js.coerce_to_object() {
                for (key, value) in details {
                    object.set_named_property(&key, value)?;
                }
            }
            Err(napi::Error::from(js))
        }
    })
}

/// Also writes `line` to the controlling terminal, when there is one (a
/// developer running `sst` locally sees it although SST hides stderr).
fn tell_terminal(line: &str) {
    #[cfg(unix)]
    if let Ok(mut tty) = std::fs::OpenOptions::new().write(true).open("/dev/tty") {
        use std::io::Write;
        let _ = writeln!(tty, "{line}");
    }
    #[cfg(not(unix))]
    let _ = line;
}

/// Runs the `sst-local-state` command line with `argv` (without the node
/// and script paths) and resolves to its exit code: 0 ok, 1 error,
/// 2 usage, 3 stage lock held by another run, 4 state conflict or unsaved state. Output goes to the process's
/// stdout (results) and stderr (progress, errors).
#[napi(ts_return_type = "Promise<number>")]
pub fn run_cli<'env>(env: &'env Env, argv: Vec<String>) -> napi::Result<PromiseRaw<'env, i32>> {
    spawn_blocking(
        env,
        move || {
            let vars = ProcessEnv::process();
            let (mut out, mut err) = (std::io::stdout(), std::io::stderr());
            Ok(cli::run(&argv, &vars, &mut out, &mut err))
        },
        |code| code,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The field names of `export interface <name>` in the generated `index.d.ts`.
    fn interface_fields(name: &str) -> Vec<String> {
        let dts = include_str!("../../index.d.ts");
        let start = dts
            .find(&format!("export interface {name} {{"))
            .unwrap_or_else(|| panic!("no interface {name} in index.d.ts"));
        dts[start..]
            .lines()
            .skip(1)
            .take_while(|line| *line != "}")
            .filter_map(|line| {
                let field = line.strip_prefix("  ")?;
                let name = &field[..field.find(['?', ':'])?];
                name.chars()
                    .all(|c| c.is_ascii_alphanumeric())
                    .then(|| name.to_owned())
            })
            .collect()
    }

    /// `FIELDS` in camelCase, checked against the interface napi generated.
    fn check_keys<T: JsOptions>(name: &str) {
        assert_eq!(interface_fields(name), options::js_keys::<T>(), "{name}");
    }

    #[test]
    fn option_keys_are_the_fields_napi_generates() {
        check_keys::<ResolveConfigDirOptions>("ResolveConfigDirOptions");
        check_keys::<StageOptions>("StageOptions");
        check_keys::<PrepareOptions>("PrepareOptions");
        check_keys::<CommitOptions>("CommitOptions");
        check_keys::<ops_js::HistoryOptions>("HistoryOptions");
        check_keys::<ops_js::RollbackOptions>("RollbackOptions");
        check_keys::<passphrases::PassphrasesOptions>("PassphrasesOptions");
        check_keys::<LockOptions>("LockOptions");
        check_keys::<UnlockOptions>("UnlockOptions");
        check_keys::<ListLocksOptions>("ListLocksOptions");
        check_keys::<RunOptions>("RunOptions");
        check_keys::<ops_js::ShowOptions>("ShowOptions");
        check_keys::<ops_js::PruneOptions>("PruneOptions");
        check_keys::<ops_js::DoctorOptions>("DoctorOptions");
    }

    /// A `///` doc comment inside `js_options!` reaches napi-derive as a raw
    /// string, whose `r"` would end up in the JSDoc.
    #[test]
    fn no_raw_string_in_jsdoc() {
        let dts = include_str!("../../index.d.ts");
        for line in dts.lines() {
            let text = line.trim_start().trim_start_matches("/**");
            let text = text.trim_start_matches('*').trim_start();
            assert!(
                !text.starts_with("r\"") && !text.starts_with("r#"),
                "{line}"
            );
        }
    }
}
