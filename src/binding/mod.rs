//! The Node-API binding: argument conversion and error mapping only (the
//! `#[napi]` functions and the JS option and result objects); the logic
//! lives in the plain Rust modules, which know nothing of napi.

mod into_js;
pub mod ops_js;
mod option_keys;
pub mod passphrases;

use crate::ops::{lock, run};
use crate::{cli, commit, config_dir, error, prepare, render, status};

use std::collections::{BTreeMap, HashMap};

use napi_derive::napi;

use crate::config_dir::Platform;
use crate::env::Env as ProcessEnv;
use crate::project::{Caller, CommonOptions};
use napi::bindgen_prelude::{
    FromNapiValue, JsError, JsObjectValue, JsValue, Object, PromiseRaw, ToNapiValue, Unknown,
    ValueType,
};
use napi::Env;

fn js_error(error: error::Error) -> napi::Error<String> {
    napi::Error::new(error.code().to_string(), error.to_string())
}

/// Converts the options object of JS function `function` to `T`, whose JS field names are
/// `keys`, after checking its own keys: `INVALID_OPTION` for something other than an object,
/// for a key `T` does not have (unless its value is `undefined`, which `T` ignores too) and
/// for a value of the wrong type.
fn options_from_js<T: FromNapiValue>(
    object: Object<'_>,
    function: &str,
    keys: &[&str],
) -> error::Result<T> {
    let origin = format!("{function} options");
    let invalid = |e: napi::Error| error::Error::option(&origin, e.reason);
    let kind = object.to_unknown().get_type().map_err(invalid)?;
    if kind != ValueType::Object {
        let kind = format!("{kind:?}").to_lowercase();
        return Err(error::Error::option(
            &origin,
            format!("expected an object, got {kind}"),
        ));
    }
    let names = object.get_property_names().map_err(invalid)?;
    let mut given = Vec::new();
    for index in 0..names.get_array_length().map_err(invalid)? {
        let key: String = names.get_element(index).map_err(invalid)?;
        if !object.has_own_property(&key).map_err(invalid)? {
            continue;
        }
        let value: Unknown = object.get_named_property_unchecked(&key).map_err(invalid)?;
        if value.get_type().map_err(invalid)? != ValueType::Undefined {
            given.push(key);
        }
    }
    option_keys::check_keys(given.iter().map(String::as_str), keys, function)?;
    // SAFETY: both handles come from the live `object` of the current call.
    unsafe { T::from_napi_value(object.value().env, object.raw()) }.map_err(invalid)
}

/// Every `code` an error of sst-local-state carries (JS `err.code`, the
/// CLI's `--json` `"code"`), for exhaustive handling in TypeScript. The
/// README's troubleshooting table says what to do about each.
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
    LOCK_LOST,
    PASSPHRASE_CHANGED,
}

/// A finding that did not stop the run.
#[napi(object)]
pub struct WarningInfo {
    /// Stable code (`UNSAVED`, `SST_LOCK`, `HEAD_NOT_MOVED`, ...).
    pub code: String,
    /// What was found, and what to do about it.
    pub message: String,
}

/// Options of `resolveConfigDir`.
#[napi(object)]
pub struct ResolveConfigDirOptions {
    /// Environment variables to use instead of `process.env`.
    pub env: Option<HashMap<String, String>>,
    /// A Node.js `process.platform` value (`linux`, `darwin`, `win32`, ...)
    /// whose rules to apply instead of the current platform's.
    pub platform: Option<String>,
}

impl ResolveConfigDirOptions {
    /// The JS names of the fields (a test checks them against `index.d.ts`).
    const KEYS: &'static [&'static str] = &["env", "platform"];
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
    let options = match options {
        Some(object) => options_from_js(object, "resolveConfigDir", ResolveConfigDirOptions::KEYS)
            .map_err(js_error)?,
        None => ResolveConfigDirOptions {
            env: None,
            platform: None,
        },
    };
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

/// Options every stage command takes.
#[napi(object)]
#[derive(Default)]
pub struct StageOptions {
    /// The stage (else env `SST_STAGE`).
    pub stage: Option<String>,
    /// The app name (else env `SST_LOCAL_STATE_APP`, `package.json`
    /// `sstLocalState.app`, then the `name` in `sst.config.ts`).
    pub app: Option<String>,
    /// Where to look for `sst.config.ts` (its nearest ancestor holding one is
    /// the project root); default `process.cwd()`.
    pub cwd: Option<String>,
    /// State folder relative to the project root; default `infra/state`.
    pub state_dir: Option<String>,
    /// SST's config dir; default `resolveConfigDir()`.
    pub config_dir: Option<String>,
}

impl StageOptions {
    /// The JS names of the fields (a test checks them against `index.d.ts`).
    const KEYS: &'static [&'static str] = &["stage", "app", "cwd", "stateDir", "configDir"];

    fn common(self) -> CommonOptions {
        CommonOptions {
            stage: self.stage,
            app: self.app,
            cwd: self.cwd.map(Into::into),
            state_dir: self.state_dir,
            config_dir: self.config_dir.map(Into::into),
            caller: Caller::Js,
            passphrase_mode: None,
        }
    }
}

/// Options of `prepareStage`.
#[napi(object)]
pub struct PrepareOptions {
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
    /// Back up config-dir files holding unsaved changes, then overwrite them.
    pub force: Option<bool>,
    /// Report what would change; write nothing.
    pub dry_run: Option<bool>,
    /// Reject with `STATE_MISSING` when the repository has no checkpoint for the stage.
    pub require_state: Option<bool>,
    /// Take the stage's lock on the git remote before writing anything (as
    /// `lockStage`; rejects with `LOCK_HELD`), and start from the branch's
    /// newest state (the stage's files in the worktree are brought up to the
    /// fetched branch tip). `commitStage` releases it.
    pub lock: Option<bool>,
    /// The branch whose newest state a locked prepare starts from (else as `commitStage` picks it).
    pub branch: Option<String>,
    /// Remote holding the lock and the branch (else env `SST_LOCAL_STATE_REMOTE`, `package.json`, `origin`).
    pub remote: Option<String>,
    /// Ref prefix of stage locks (as for `lockStage`).
    pub lock_ref_prefix: Option<String>,
    /// How long the lock is valid (`90s`, `2h`); default `1h`.
    pub lock_ttl: Option<String>,
    /// How long to wait for a lock another run holds (`90s`, `5m`); default `0`.
    pub lock_timeout: Option<String>,
}

impl PrepareOptions {
    /// The JS names of the fields (a test checks them against `index.d.ts`).
    const KEYS: &'static [&'static str] = &[
        "stage",
        "app",
        "cwd",
        "stateDir",
        "configDir",
        "force",
        "dryRun",
        "requireState",
        "lock",
        "branch",
        "remote",
        "lockRefPrefix",
        "lockTtl",
        "lockTimeout",
    ];
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
    /// not (`commit` saves it); `removed` only with `force`.
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
    /// The checkpoint's counts, when there is one.
    pub checkpoint: Option<CheckpointSummary>,
    /// Where unsaved config-dir files were backed up (with `force`).
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
    /// `encrypted` (the repository's passphrase is age-encrypted and no key is configured).
    #[napi(
        ts_type = "'in-sync' | 'changed-in-config-dir' | 'changed-in-repo' | 'only-in-repo' | 'only-in-config-dir' | 'absent' | 'encrypted'"
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
    let core = options_from_js(options, "prepareStage", PrepareOptions::KEYS).and_then(
        |options: PrepareOptions| {
            let lock = lock::LockRequest {
                ttl: js_duration(options.lock_ttl, "lockTtl")?,
                timeout: js_duration(options.lock_timeout, "lockTimeout")?,
                prefix: options.lock_ref_prefix,
                command: None,
            };
            Ok(prepare::PrepareOptions {
                force: options.force.unwrap_or(false),
                dry_run: options.dry_run.unwrap_or(false),
                require_state: options.require_state.unwrap_or(false),
                lock: options.lock.unwrap_or(false).then_some(lock),
                branch: options.branch,
                remote: options.remote,
                common: StageOptions {
                    stage: options.stage,
                    app: options.app,
                    cwd: options.cwd,
                    state_dir: options.state_dir,
                    config_dir: options.config_dir,
                }
                .common(),
            })
        },
    );
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
    let common = match options {
        Some(object) => options_from_js(object, "stageStatus", StageOptions::KEYS),
        None => Ok(StageOptions::default()),
    }
    .map(StageOptions::common);
    spawn_blocking(
        env,
        move || status::status(&common?, &ProcessEnv::process()),
        Into::into,
    )
}

/// Options of `commitStage`.
#[napi(object)]
pub struct CommitOptions {
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
    /// Message template: `{app}`, `{stage}`, `{summary}` are replaced. Default
    /// `chore(sst-state): {app}/{stage} {summary} [skip ci]`; trailers are always added.
    pub message: Option<String>,
    /// Branch to push to (else env `SST_LOCAL_STATE_BRANCH`, `package.json`,
    /// the CI's branch variables, then the checked-out branch).
    pub branch: Option<String>,
    /// Remote (else env `SST_LOCAL_STATE_REMOTE`, `package.json`, `origin`).
    pub remote: Option<String>,
    /// `false`: commit on HEAD locally and push nothing. Default `true`.
    pub push: Option<bool>,
    /// Report what would be committed; write nothing.
    pub dry_run: Option<bool>,
    /// Keep the stage lock this checkout holds (renewed for its ttl) instead
    /// of releasing it with the push.
    pub keep_lock: Option<bool>,
}

impl CommitOptions {
    /// The JS names of the fields (a test checks them against `index.d.ts`).
    const KEYS: &'static [&'static str] = &[
        "stage",
        "app",
        "cwd",
        "stateDir",
        "configDir",
        "message",
        "branch",
        "remote",
        "push",
        "dryRun",
        "keepLock",
    ];
}

/// One file a commit changed.
#[napi(object)]
pub struct CommittedFile {
    /// Which file.
    #[napi(ts_type = "'app' | 'passphrase' | 'secret' | 'fallbackSecret' | 'fallbackPassphrase'")]
    pub kind: String,
    /// Path in the repository, relative to its root.
    pub path: String,
    /// Whether the file is new in the branch or changed.
    #[napi(ts_type = "'added' | 'modified'")]
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
    let core = options_from_js(options, "commitStage", CommitOptions::KEYS).map(
        |options: CommitOptions| commit::CommitOptions {
            message: options.message,
            branch: options.branch,
            remote: options.remote,
            no_push: !options.push.unwrap_or(true),
            dry_run: options.dry_run.unwrap_or(false),
            keep_lock: options.keep_lock.unwrap_or(false),
            trailers: Vec::new(),
            common: StageOptions {
                stage: options.stage,
                app: options.app,
                cwd: options.cwd,
                state_dir: options.state_dir,
                config_dir: options.config_dir,
            }
            .common(),
        },
    );
    spawn_blocking(
        env,
        move || commit::commit(&core?, &ProcessEnv::process()),
        Into::into,
    )
}

/// Options of `lockStage`.
#[napi(object)]
pub struct LockOptions {
    /// The stage (else env `SST_STAGE`).
    pub stage: Option<String>,
    /// The app name (else env `SST_LOCAL_STATE_APP`, `package.json`
    /// `sstLocalState.app`, then the `name` in `sst.config.ts`).
    pub app: Option<String>,
    /// Where to look for `sst.config.ts`; default `process.cwd()`.
    pub cwd: Option<String>,
    /// Remote holding the lock (else env `SST_LOCAL_STATE_REMOTE`, `package.json`, `origin`).
    pub remote: Option<String>,
    /// Ref prefix of stage locks (else env `SST_LOCAL_STATE_LOCK_PREFIX`,
    /// `package.json` `sstLocalState.lockPrefix`, `refs/heads/sst-local-state/lock`).
    pub lock_ref_prefix: Option<String>,
    /// How long the lock is valid before another run may break it (`90s`, `2h`); default `1h`.
    pub lock_ttl: Option<String>,
    /// How long to wait for a lock another run holds (`90s`, `5m`); default `0`: reject at once.
    pub lock_timeout: Option<String>,
    /// What this process runs, recorded in the lock; default its command line.
    pub command: Option<String>,
}

impl LockOptions {
    /// The JS names of the fields (a test checks them against `index.d.ts`).
    const KEYS: &'static [&'static str] = &[
        "stage",
        "app",
        "cwd",
        "remote",
        "lockRefPrefix",
        "lockTtl",
        "lockTimeout",
        "command",
    ];
}

/// Options of `unlockStage`.
#[napi(object)]
pub struct UnlockOptions {
    /// The stage (else env `SST_STAGE`).
    pub stage: Option<String>,
    /// The app name (else env, `package.json`, `sst.config.ts`).
    pub app: Option<String>,
    /// Where to look for `sst.config.ts`; default `process.cwd()`.
    pub cwd: Option<String>,
    /// Remote holding the lock (else env `SST_LOCAL_STATE_REMOTE`, `package.json`, `origin`).
    pub remote: Option<String>,
    /// Ref prefix of stage locks (as for `lockStage`).
    pub lock_ref_prefix: Option<String>,
    /// Delete the lock whoever holds it (the result's `was` says whose it was).
    pub force: Option<bool>,
}

impl UnlockOptions {
    /// The JS names of the fields (a test checks them against `index.d.ts`).
    const KEYS: &'static [&'static str] =
        &["stage", "app", "cwd", "remote", "lockRefPrefix", "force"];
}

/// Options of `listLocks`.
#[napi(object)]
#[derive(Default)]
pub struct ListLocksOptions {
    /// Where to look for `sst.config.ts`; default `process.cwd()`.
    pub cwd: Option<String>,
    /// Remote holding the locks (else env `SST_LOCAL_STATE_REMOTE`, `package.json`, `origin`).
    pub remote: Option<String>,
    /// Ref prefix of stage locks (as for `lockStage`).
    pub lock_ref_prefix: Option<String>,
}

impl ListLocksOptions {
    /// The JS names of the fields (a test checks them against `index.d.ts`).
    const KEYS: &'static [&'static str] = &["cwd", "remote", "lockRefPrefix"];
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

/// Options of `runStage`.
#[napi(object)]
pub struct RunOptions {
    /// The command and its arguments (`["npx", "sst", "deploy", "--stage", "prod"]`).
    pub command: Vec<String>,
    /// The stage (else env `SST_STAGE`).
    pub stage: Option<String>,
    /// The app name (else env, `package.json`, `sst.config.ts`).
    pub app: Option<String>,
    /// Where to look for `sst.config.ts`, and where the command runs; default `process.cwd()`.
    pub cwd: Option<String>,
    /// State folder relative to the project root; default `infra/state`.
    pub state_dir: Option<String>,
    /// SST's config dir; default `resolveConfigDir()`.
    pub config_dir: Option<String>,
    /// Branch the state goes to (as for `commitStage`).
    pub branch: Option<String>,
    /// Remote holding the lock and the branch (as for `commitStage`).
    pub remote: Option<String>,
    /// Commit message template (as for `commitStage`).
    pub message: Option<String>,
    /// Ref prefix of stage locks (as for `lockStage`).
    pub lock_ref_prefix: Option<String>,
    /// How long the lock is valid (`90s`, `2h`); default `1h`.
    pub lock_ttl: Option<String>,
    /// How long to wait for a lock another run holds (`90s`, `5m`); default `0`.
    pub lock_timeout: Option<String>,
}

impl RunOptions {
    /// The JS names of the fields (a test checks them against `index.d.ts`).
    const KEYS: &'static [&'static str] = &[
        "command",
        "stage",
        "app",
        "cwd",
        "stateDir",
        "configDir",
        "branch",
        "remote",
        "message",
        "lockRefPrefix",
        "lockTtl",
        "lockTimeout",
    ];
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
/// it), then commits ALWAYS, also when the command failed (a failed deploy
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
    let core =
        options_from_js(options, "runStage", RunOptions::KEYS).and_then(|options: RunOptions| {
            let common = StageOptions {
                stage: options.stage,
                app: options.app,
                cwd: options.cwd,
                state_dir: options.state_dir,
                config_dir: options.config_dir,
            }
            .common();
            Ok(run::RunOptions {
                lock: lock::LockRequest {
                    ttl: js_duration(options.lock_ttl, "lockTtl")?,
                    timeout: js_duration(options.lock_timeout, "lockTimeout")?,
                    prefix: options.lock_ref_prefix,
                    command: None,
                },
                prepare: prepare::PrepareOptions {
                    common: common.clone(),
                    branch: options.branch.clone(),
                    remote: options.remote.clone(),
                    ..prepare::PrepareOptions::default()
                },
                commit: commit::CommitOptions {
                    common,
                    message: options.message,
                    branch: options.branch,
                    remote: options.remote,
                    ..commit::CommitOptions::default()
                },
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

/// A duration option (`90s`, `5m`, `1h 30m`) of a JS call.
pub(super) fn js_duration(
    value: Option<String>,
    option: &str,
) -> error::Result<Option<std::time::Duration>> {
    value
        .map(|v| {
            humantime::parse_duration(v.trim()).map_err(|e| {
                error::Error::option(format!("options.{option}"), format!("{v:?}: {e}"))
            })
        })
        .transpose()
}

/// Takes a stage's lock on the git remote: a create-only push of the ref
/// `<lockRefPrefix>/<app>/<stage>` (default prefix
/// `refs/heads/sst-local-state/lock`), which the git server applies as a
/// compare-and-swap, so of many concurrent callers exactly one gets it. Its
/// commit records the holder (CI run and URL, host, pid, user, command) and
/// when it expires (`lockTtl`, default 1 hour). Rejects with `LOCK_HELD`
/// (`err.lockRef`, `err.runUrl`) naming the holder and its age when another
/// run holds it, at once or after waiting `lockTimeout` (polling with
/// jittered backoff and printing who holds it on stderr). An expired lock
/// is replaced by a compare-and-swap against its commit (`broke`), so two
/// waiters cannot both break it. Needs the `git` command line
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
    let core = options_from_js(options, "lockStage", LockOptions::KEYS).and_then(
        |options: LockOptions| {
            Ok(lock::LockOptions {
                lock: lock::LockRequest {
                    ttl: js_duration(options.lock_ttl, "lockTtl")?,
                    timeout: js_duration(options.lock_timeout, "lockTimeout")?,
                    prefix: options.lock_ref_prefix,
                    command: options.command,
                },
                remote: options.remote,
                common: StageOptions {
                    stage: options.stage,
                    app: options.app,
                    cwd: options.cwd,
                    ..StageOptions::default()
                }
                .common(),
            })
        },
    );
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
    let core = options_from_js(options, "unlockStage", UnlockOptions::KEYS).map(
        |options: UnlockOptions| lock::UnlockOptions {
            remote: options.remote,
            prefix: options.lock_ref_prefix,
            force: options.force.unwrap_or(false),
            common: StageOptions {
                stage: options.stage,
                app: options.app,
                cwd: options.cwd,
                ..StageOptions::default()
            }
            .common(),
        },
    );
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
    let core = match options {
        Some(object) => options_from_js(object, "listLocks", ListLocksOptions::KEYS),
        None => Ok(ListLocksOptions::default()),
    }
    .map(|options| lock::ListOptions {
        remote: options.remote,
        prefix: options.lock_ref_prefix,
        common: StageOptions {
            cwd: options.cwd,
            ..StageOptions::default()
        }
        .common(),
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
            if let Some(line) = render::sst_eval_error_line(&error, script.as_deref()) {
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

    #[test]
    fn option_keys_are_the_fields_napi_generates() {
        for (name, keys) in [
            ("ResolveConfigDirOptions", ResolveConfigDirOptions::KEYS),
            ("StageOptions", StageOptions::KEYS),
            ("PrepareOptions", PrepareOptions::KEYS),
            ("CommitOptions", CommitOptions::KEYS),
            ("HistoryOptions", ops_js::HistoryOptions::KEYS),
            ("RollbackOptions", ops_js::RollbackOptions::KEYS),
            (
                "PassphrasesOptions",
                super::passphrases::PassphrasesOptions::KEYS,
            ),
            ("LockOptions", LockOptions::KEYS),
            ("UnlockOptions", UnlockOptions::KEYS),
            ("ListLocksOptions", ListLocksOptions::KEYS),
            ("RunOptions", RunOptions::KEYS),
        ] {
            assert_eq!(interface_fields(name), keys, "{name}");
        }
    }
}
