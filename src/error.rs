//! The one error type of the crate: every failure has a stable string code
//! (shared by JS `err.code`, the CLI's `--json` output and the docs) and a
//! message that names the file, flag or variable at fault.

use camino::Utf8PathBuf;

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Calls macro `$then` with the list of every error code, `Variant = "CODE",`
/// each: the one list [`ErrorCode`] is declared from here, and the binding
/// declares the JS `ErrorCode` type of `index.d.ts` from it too.
macro_rules! with_error_codes {
    ($then:path) => {
        $then! {
            StageRequired = "STAGE_REQUIRED",
            InvalidStage = "INVALID_STAGE",
            InvalidApp = "INVALID_APP",
            AppNameUnresolved = "APP_NAME_UNRESOLVED",
            SstConfigTooDeep = "SST_CONFIG_TOO_DEEP",
            HomeNotLocal = "HOME_NOT_LOCAL",
            ProjectNotFound = "PROJECT_NOT_FOUND",
            ConfigDirRelativeXdg = "CONFIG_DIR_RELATIVE_XDG",
            ConfigDirNoHome = "CONFIG_DIR_NO_HOME",
            InvalidOption = "INVALID_OPTION",
            StateMissing = "STATE_MISSING",
            StateCorrupt = "STATE_CORRUPT",
            StateEmpty = "STATE_EMPTY",
            PassphraseInvalid = "PASSPHRASE_INVALID",
            PassphraseMissing = "PASSPHRASE_MISSING",
            SecretUndecryptable = "SECRET_UNDECRYPTABLE",
            UnsavedState = "UNSAVED_STATE",
            StateMissingInRepo = "STATE_MISSING_IN_REPO",
            NotAGitRepo = "NOT_A_GIT_REPO",
            NoRemote = "NO_REMOTE",
            NoBranch = "NO_BRANCH",
            AuthFailed = "AUTH_FAILED",
            PushRejected = "PUSH_REJECTED",
            StateConflict = "STATE_CONFLICT",
            PassphraseMismatch = "PASSPHRASE_MISMATCH",
            AgeKeyMissing = "AGE_KEY_MISSING",
            DecryptFailed = "DECRYPT_FAILED",
            PlaintextPassphrase = "PLAINTEXT_PASSPHRASE",
            KeyFileInRepo = "KEY_FILE_IN_REPO",
            NetworkError = "NETWORK_ERROR",
            GitError = "GIT_ERROR",
            IoError = "IO_ERROR",
            Usage = "USAGE",
            StateSymlink = "STATE_SYMLINK",
            ConfigDirLocked = "CONFIG_DIR_LOCKED",
            BranchBusy = "BRANCH_BUSY",
            GitNotFound = "GIT_NOT_FOUND",
            HostKeyRejected = "HOST_KEY_REJECTED",
            RedirectRefused = "REDIRECT_REFUSED",
            LockHeld = "LOCK_HELD",
            LockNotHeld = "LOCK_NOT_HELD",
            LockRefRefused = "LOCK_REF_REFUSED",
            LockLost = "LOCK_LOST",
            PassphraseChanged = "PASSPHRASE_CHANGED",
            StageUnknown = "STAGE_UNKNOWN",
            RemovalUnsaved = "REMOVAL_UNSAVED",
        }
    };
}
pub(crate) use with_error_codes;

/// Declares [`ErrorCode`] from the list of [`with_error_codes!`].
macro_rules! declare_error_code {
    ($($variant:ident = $code:tt,)*) => {
        /// The stable code of an [`Error`] (JS `err.code`, the CLI's `--json`
        /// `"code"`, `error[CODE]` on the terminal); docs/troubleshooting.md
        /// says what to do about each.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum ErrorCode {
            $(
                #[doc = concat!("`", $code, "`")]
                $variant,
            )*
        }

        impl ErrorCode {
            /// Every code, in the order of `index.d.ts`.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant),*];

            /// The code as JS and the CLI show it (`"STATE_CORRUPT"`).
            pub fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $code,)*
                }
            }
        }
    };
}
with_error_codes!(declare_error_code);

impl ErrorCode {
    /// The CLI's exit code for an error of this code: 2 usage, 3 stage lock
    /// held by another run, 4 state conflict (or unsaved state, or a lost
    /// lock: state on a rescue branch), 1 otherwise.
    pub fn exit_code(self) -> i32 {
        match self {
            ErrorCode::Usage => 2,
            ErrorCode::LockHeld | ErrorCode::LockNotHeld => 3,
            ErrorCode::StateConflict
            | ErrorCode::LockLost
            | ErrorCode::UnsavedState
            | ErrorCode::StateMissingInRepo
            | ErrorCode::RemovalUnsaved
            | ErrorCode::PassphraseMismatch => 4,
            _ => 1,
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Compares with the code's string: `e.code() == "LOCK_HELD"`.
impl PartialEq<&str> for ErrorCode {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl serde::Serialize for ErrorCode {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// Every way an operation of `sst-local-state` can fail.
///
/// Messages never contain a secret: no passphrase, secret value, token or
/// URL password.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No stage was given by option, flag or `SST_STAGE`.
    #[error("no stage given: pass --stage <name> (JS: `stage`) or set SST_STAGE")]
    StageRequired,
    /// The stage name breaks SST's rules or is reserved.
    #[error("invalid stage {value:?} (from {origin}): {reason}")]
    InvalidStage {
        /// The rejected value.
        value: String,
        /// Where it came from (`--stage`, `SST_STAGE`, ...).
        origin: String,
        /// Which rule it breaks.
        reason: String,
    },
    /// The app name breaks SST's rules.
    #[error("invalid app name {value:?} (from {origin}): {reason}")]
    InvalidApp {
        /// The rejected value.
        value: String,
        /// Where it came from (`--app`, `sst.config.ts`, ...).
        origin: String,
        /// Which rule it breaks.
        reason: String,
    },
    /// The app name cannot be read statically from `sst.config.ts`.
    #[error("cannot read the app name from {file}: {reason}; pass --app <name> (JS: `app`) or set SST_LOCAL_STATE_APP")]
    AppNameUnresolved {
        /// The config file that was read.
        file: Utf8PathBuf,
        /// Why the name is not static.
        reason: String,
    },
    /// `sst.config.ts` nests too deeply to be parsed safely, and the app name is not given.
    #[error("cannot read the app name from {file}: it nests deeper than {limit} levels at {line}:{column} (counting brackets and chains such as `!!x`, `a = b = c`), too deep to parse safely; pass --app <name> (JS: `app`) or set SST_LOCAL_STATE_APP")]
    SstConfigTooDeep {
        /// The config file that was read.
        file: Utf8PathBuf,
        /// The deepest nesting that is parsed.
        limit: usize,
        /// 1-based line where the nesting goes past the limit.
        line: usize,
        /// 1-based character column there.
        column: usize,
    },
    /// `sst.config.ts` sets a `home` other than `"local"`.
    #[error("{file} sets home: {home:?}; sst-local-state only manages apps with home: \"local\"")]
    HomeNotLocal {
        /// The config file that was read.
        file: Utf8PathBuf,
        /// The home it sets.
        home: String,
    },
    /// No `sst.config.ts` at or above the working directory.
    #[error(
        "no sst.config.ts found in {cwd} or any parent directory (set --cwd to the SST project)"
    )]
    ProjectNotFound {
        /// Where the search started.
        cwd: Utf8PathBuf,
    },
    /// `$XDG_CONFIG_HOME` is set to a relative path (SST panics on it).
    #[error("XDG_CONFIG_HOME is relative ({value:?}); SST requires an absolute path there")]
    ConfigDirRelativeXdg {
        /// The relative value.
        value: String,
    },
    /// None of the variables that locate the config dir is set.
    #[error("cannot locate SST's config dir: {variables}")]
    ConfigDirNoHome {
        /// Which variables are missing, in the words of Go's `os.UserConfigDir`.
        variables: String,
    },
    /// An option, flag, environment variable or `package.json` setting has a bad value.
    #[error("invalid {option}: {reason}")]
    InvalidOption {
        /// The option at fault, as the user wrote it (`--state-dir`, `options.platform`, ...).
        option: String,
        /// What is wrong with it.
        reason: String,
    },
    /// `--require-state` was given and the repository holds no state for the stage.
    #[error("no state for this stage in the repository: {file} does not exist")]
    StateMissing {
        /// The checkpoint file that was expected.
        file: Utf8PathBuf,
    },
    /// A state file is not what SST writes.
    #[error("{file} is corrupt: {reason}")]
    StateCorrupt {
        /// The file at fault.
        file: Utf8PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A checkpoint file is empty.
    #[error("{file} is empty; an empty checkpoint would make SST forget every resource")]
    StateEmpty {
        /// The file at fault.
        file: Utf8PathBuf,
    },
    /// A passphrase file is not base64 of 32 bytes.
    #[error("{file} is not a valid SST passphrase: {reason}")]
    PassphraseInvalid {
        /// The file at fault.
        file: Utf8PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// State or secrets exist without the passphrase that encrypts them.
    #[error("{needed_by} exists but its passphrase {file} does not; SST would make a new passphrase and lose every secret")]
    PassphraseMissing {
        /// The passphrase file that should exist.
        file: Utf8PathBuf,
        /// The file that needs it.
        needed_by: Utf8PathBuf,
    },
    /// A secrets file does not decrypt with its passphrase.
    #[error("{file} does not decrypt with passphrase {passphrase}: {reason}")]
    SecretUndecryptable {
        /// The secrets file.
        file: Utf8PathBuf,
        /// The passphrase file used.
        passphrase: Utf8PathBuf,
        /// What failed (never the key or the plaintext).
        reason: String,
    },
    /// Config-dir files and the repository both changed since the last
    /// sync: a real divergence.
    #[error("{}", unsaved_message(files, force, *passphrase))]
    UnsavedState {
        /// The files with unsaved changes.
        files: Vec<Utf8PathBuf>,
        /// How this caller forces (`--force`, `force: true`).
        force: String,
        /// Whether a passphrase differs (then committing is not a way out).
        passphrase: bool,
    },
    /// The repository has no such state file, but the config dir holds one
    /// that was synced: the checkout probably predates the stage's state.
    #[error("the repository has no {}, but SST's config dir holds state for this stage that sst-local-state synced before: this checkout probably predates the stage's state (an old branch?); nothing was removed. Check out the branch that holds the state, or pass {force} to back the config dir's files up and remove them (SST then starts a NEW state and passphrase, and re-creates every resource)", list(files))]
    StateMissingInRepo {
        /// The repository files that are missing.
        files: Vec<Utf8PathBuf>,
        /// How this caller forces (`--force`, `force: true`).
        force: String,
    },
    /// The project is not inside a git repository.
    #[error("{path} is not inside a git repository")]
    NotAGitRepo {
        /// The directory searched from.
        path: Utf8PathBuf,
    },
    /// The remote does not exist or has no URL.
    #[error("git remote {remote:?} is not configured (pass --remote)")]
    NoRemote {
        /// The remote name.
        remote: String,
    },
    /// No branch to push to could be determined.
    #[error("cannot tell which branch to push to: HEAD is detached and no CI branch variable is set; pass --branch <name> (JS: `branch`) or set SST_LOCAL_STATE_BRANCH")]
    NoBranch,
    /// The remote refused our credentials (or none were found).
    #[error("authentication failed for {url}; tried: {tried}")]
    AuthFailed {
        /// The remote URL, with any password or token redacted.
        url: String,
        /// The credential sources that were tried.
        tried: String,
    },
    /// The remote refused the push for a reason other than a moved branch.
    #[error("push to {branch} rejected: {reason}")]
    PushRejected {
        /// The branch pushed to.
        branch: String,
        /// The remote's reason.
        reason: String,
    },
    /// Another run changed the same stage's state in the meantime.
    #[error("state conflict on {branch}: another run changed {paths} since this run's base; nothing was overwritten. {rescue}")]
    StateConflict {
        /// The branch.
        branch: String,
        /// The conflicting paths.
        paths: String,
        /// Where our state was kept and how to resolve.
        rescue: String,
        /// The rescue branch holding our state, when the push to it worked.
        rescue_branch: Option<String>,
    },
    /// An age-encrypted passphrase is in the repository but no identity is configured.
    #[error("{file} is encrypted with age and no key is configured: set SST_LOCAL_STATE_AGE_KEY (the CI secret holding the AGE-SECRET-KEY-1… line) or SST_LOCAL_STATE_AGE_KEY_FILE")]
    AgeKeyMissing {
        /// The encrypted file.
        file: Utf8PathBuf,
    },
    /// An age file does not decrypt with the configured identities.
    #[error("{file} does not decrypt with the configured age key: {reason}")]
    DecryptFailed {
        /// The encrypted file.
        file: Utf8PathBuf,
        /// What failed.
        reason: String,
    },
    /// `init` was asked to keep the secret age key inside the project or a git worktree.
    #[error("refusing to keep the secret age key at {path}: it is inside {place}, where `git add` would commit it; choose a file outside the project and outside any git worktree (--key-file or SST_LOCAL_STATE_AGE_KEY_FILE)")]
    KeyFileInRepo {
        /// The key file, as given (made absolute).
        path: Utf8PathBuf,
        /// What it is inside: `the project <root>` or `the git worktree <dir>`.
        place: String,
    },
    /// A new passphrase would be committed in plain text.
    #[error("refusing to commit the new passphrase {file} in plain text: anyone who can read the repository could decrypt every secret. Run `sst-local-state init` to create {recipients} (the team's age public keys), or set SST_LOCAL_STATE_PLAINTEXT_PASSPHRASE=1 to accept plain text")]
    PlaintextPassphrase {
        /// The passphrase that would be committed.
        file: Utf8PathBuf,
        /// The recipients file to create.
        recipients: Utf8PathBuf,
    },
    /// The config dir's passphrase differs from the repository's.
    #[error("{file} differs from the repository's passphrase {repo_file}: SST made a new passphrase (was prepare run before the deploy?); committing it would make every secret and secret output undecryptable. Way out, keeping the repository's passphrase: `sst-local-state prepare --force` (JS: `prepareStage({{ force: true }})`) backs the config dir's files up and restores the repository's state and passphrase; then set again any secret you set here, and deploy")]
    PassphraseMismatch {
        /// The config-dir passphrase.
        file: Utf8PathBuf,
        /// The repository's passphrase.
        repo_file: Utf8PathBuf,
    },
    /// The remote could not be reached.
    #[error("network error talking to {url}: {message}")]
    Network {
        /// The remote URL, redacted.
        url: String,
        /// What failed.
        message: String,
    },
    /// Any other failure reported by libgit2.
    #[error("git: {action}: {message}")]
    Git {
        /// What we were doing.
        action: String,
        /// libgit2's message, redacted.
        message: String,
    },
    /// A file system operation failed.
    #[error("{action} {path}: {source}")]
    Io {
        /// What we were doing (`reading`, `writing`, ...).
        action: &'static str,
        /// The path at fault.
        path: Utf8PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// Bad command-line usage (CLI only).
    #[error("{0}")]
    Usage(String),
    /// A state path in the repository (or a state file in the config dir)
    /// is a symbolic link: we neither read nor write through one.
    #[error("{path} is a symbolic link{target}: sst-local-state never reads or writes state through a symlink (it could lead outside the repository); replace it with a real {what}")]
    StateSymlink {
        /// The link.
        path: Utf8PathBuf,
        /// ` to <target>` when it could be read, else empty.
        target: String,
        /// `directory` or `file`.
        what: &'static str,
    },
    /// Another sst-local-state run holds the config dir's lock for too long.
    #[error("{lock} is held by another sst-local-state run (a prepare or commit on this machine) and was not released within {seconds} s; wait for it to finish, then run again")]
    ConfigDirLocked {
        /// The lock file.
        lock: Utf8PathBuf,
        /// How long we waited.
        seconds: u64,
    },
    /// An ssh or path remote, and no `git` to reach it with.
    #[error("no git command-line tool found (PATH, or SST_LOCAL_STATE_GIT) to reach {url}: {why}; install git (the HTTPS remotes of CI checkouts work without it)")]
    GitNotFound {
        /// The remote URL, redacted.
        url: String,
        /// Why git is needed for it.
        why: &'static str,
    },
    /// The remote redirects to another origin, which must not get our credentials.
    #[error("{url} redirects to another origin ({location}); sst-local-state sends no credentials there: set the remote's URL to the final location if you trust it")]
    RedirectRefused {
        /// The remote URL, redacted.
        url: String,
        /// Where it redirects, redacted.
        location: String,
    },
    /// ssh refused the remote's host key (unknown, or changed).
    #[error("the ssh host key of {url} was refused: {message}; add the host's key to ~/.ssh/known_hosts (in CI: `ssh-keyscan` from a trusted source, or your CI's known-hosts setting)")]
    HostKeyRejected {
        /// The remote URL, redacted.
        url: String,
        /// What ssh said.
        message: String,
    },
    /// The branch kept moving (other runs pushing) for the whole push budget.
    #[error("{branch} kept moving for {seconds} s ({attempts} push attempts): other runs are pushing to it; nothing conflicted with this stage's state. {kept}")]
    BranchBusy {
        /// The branch.
        branch: String,
        /// Push attempts made.
        attempts: u32,
        /// The budget in seconds.
        seconds: u64,
        /// Where the state is kept and what to do.
        kept: String,
        /// The rescue branch holding our state, when the push to it worked.
        rescue_branch: Option<String>,
    },
    /// Passphrase mode `env` and the variable that holds the passphrase is not set.
    #[error("passphrase mode \"env\" ({origin}): set {variable} to the stage's passphrase (base64 of 32 bytes, kept in your CI's secret store); in this mode the repository never holds it, and without it SST would make a new passphrase and lose every secret")]
    PassphraseEnvMissing {
        /// The variable to set.
        variable: &'static str,
        /// Where the mode was chosen.
        origin: String,
    },
    /// Another run holds the stage's lock on the remote.
    #[error("the stage's lock {lock_ref} is held by {holder}{}; waited {waited}. Wait for that run to finish (raise --lock-timeout, JS `lockTimeout`), or, if it is gone, break the lock: {unlock}", run_url.as_ref().map(|u| format!(", run {u}")).unwrap_or_default())]
    LockHeld {
        /// The lock ref.
        lock_ref: String,
        /// Who holds it, and since when.
        holder: String,
        /// The holder's CI run, when it has one.
        run_url: Option<String>,
        /// How long this run waited.
        waited: String,
        /// How to break the lock.
        unlock: String,
    },
    /// The remote will not create the stage's lock ref: another ref is in
    /// its way (a branch `refs/heads/x` blocks `refs/heads/x/…`), or a rule
    /// of the server refuses it. Retrying would not help.
    #[error("the remote refuses to create the stage's lock {lock_ref}: {reason}. Nothing was locked. Another ref is probably in its way (git cannot hold both `refs/heads/x` and `refs/heads/x/...`): rename or delete that ref, or put the locks under another prefix with {prefix}")]
    LockRefRefused {
        /// The lock ref.
        lock_ref: String,
        /// What the remote said.
        reason: String,
        /// How this caller sets the lock ref prefix.
        prefix: String,
    },
    /// `unlock` without `force` in a checkout that does not hold the lock.
    #[error("this checkout does not hold the stage's lock {lock_ref}: it is held by {holder}; nothing was deleted. To break it anyway: {unlock}")]
    LockNotHeld {
        /// The lock ref.
        lock_ref: String,
        /// Who holds it, and since when.
        holder: String,
        /// How to break the lock.
        unlock: String,
    },
    /// The stage's lock was lost before the state landed: the state went to a rescue branch.
    #[error("this run no longer holds the stage's lock {lock_ref} ({reason}): it expired and another run took it, or someone ran `unlock --force`. The state was NOT pushed to the branch; nothing was overwritten. {rescue}")]
    LockLost {
        /// The lock ref.
        lock_ref: String,
        /// The remote's reason.
        reason: String,
        /// Where our state was kept and what to do.
        rescue: String,
        /// The rescue branch holding our state, when the push to it worked.
        rescue_branch: Option<String>,
    },
    /// In CI (or where new stages are not allowed), a stage none of whose
    /// state the repository holds: most often a typo.
    #[error("stage {stage:?} has no state in the repository ({holds}): a typo? A new stage is not deployed here ({origin} allows no new stage of that name), and nothing was changed. If {stage:?} is meant to be a new stage, pass {flag}, or allow it in package.json (\"sstLocalState\": {{ \"newStages\": [\"pr-*\"] }} for stages matching a pattern, or true for every one), or set SST_LOCAL_STATE_NEW_STAGES")]
    StageUnknown {
        /// The stage asked for.
        stage: String,
        /// What the repository holds (`infra/state holds the stages dev, prod`).
        holds: String,
        /// Where the policy that refused it comes from.
        origin: String,
        /// How this caller allows a new stage (`--allow-new-stage`, `options.allowNewStage`).
        flag: String,
    },
    /// SST removed the stage from its config dir since the last sync (`sst
    /// remove` with `state.purge`) and the removal is not committed.
    #[error("SST removed stage {stage} from its config dir after the last sync (`sst remove` of an app with `state: {{ purge: true }}` deletes its checkpoint, secrets and passphrase), and that removal is not committed: the repository still holds {}. Nothing was restored. Save the removal with `sst-local-state commit --stage {stage}` (a commit removing the stage's files; history keeps them and `rollback` brings them back), or pass {force} to restore the stage from the repository instead", list(files))]
    RemovalUnsaved {
        /// The stage.
        stage: String,
        /// The stage's files the repository holds.
        files: Vec<Utf8PathBuf>,
        /// How this caller forces (`--force`, `force: true`).
        force: String,
    },
    /// `rollback` to a revision whose stage passphrase differs from the current one.
    #[error("the stage's passphrase at {to} differs from the current one at {tip}: rolling back to it would leave every secret set since unreadable (and the current passphrase's secrets with it). Nothing was changed. To roll back anyway, pass {force}")]
    PassphraseChanged {
        /// The revision rolled back to.
        to: String,
        /// The branch tip.
        tip: String,
        /// How to override.
        force: String,
    },
}

fn unsaved_message(files: &[Utf8PathBuf], force: &str, passphrase: bool) -> String {
    let head = format!(
        "SST's config dir and the repository both changed since the last sync (a deploy or `sst secret set` here, and another state committed there): {}",
        list(files)
    );
    if passphrase {
        format!("{head}. The config dir's passphrase differs from the repository's, so it cannot be committed (it would orphan every secret the repository holds): pass {force} to back the config dir's files up and restore the repository's state and passphrase, then set again any secret you set here and deploy")
    } else {
        format!("{head}. Commit them first (`sst-local-state commit`: a real conflict ends on a rescue branch), or pass {force} to back them up and restore the repository's state")
    }
}

/// The stages a repository holds, for a message: `the stages dev, prod`.
pub fn known_list(known: &[String]) -> String {
    match known {
        [] => "no stage yet".to_string(),
        [one] => format!("the stage {one}"),
        many => format!("the stages {}", many.join(", ")),
    }
}

fn list(files: &[Utf8PathBuf]) -> String {
    files
        .iter()
        .map(|f| f.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

impl Error {
    /// The stable code of this error (`STATE_CORRUPT`, ...).
    pub fn code(&self) -> ErrorCode {
        match self {
            Error::StageRequired => ErrorCode::StageRequired,
            Error::InvalidStage { .. } => ErrorCode::InvalidStage,
            Error::InvalidApp { .. } => ErrorCode::InvalidApp,
            Error::AppNameUnresolved { .. } => ErrorCode::AppNameUnresolved,
            Error::SstConfigTooDeep { .. } => ErrorCode::SstConfigTooDeep,
            Error::HomeNotLocal { .. } => ErrorCode::HomeNotLocal,
            Error::ProjectNotFound { .. } => ErrorCode::ProjectNotFound,
            Error::ConfigDirRelativeXdg { .. } => ErrorCode::ConfigDirRelativeXdg,
            Error::ConfigDirNoHome { .. } => ErrorCode::ConfigDirNoHome,
            Error::InvalidOption { .. } => ErrorCode::InvalidOption,
            Error::StateMissing { .. } => ErrorCode::StateMissing,
            Error::StateCorrupt { .. } => ErrorCode::StateCorrupt,
            Error::StateEmpty { .. } => ErrorCode::StateEmpty,
            Error::PassphraseInvalid { .. } => ErrorCode::PassphraseInvalid,
            Error::PassphraseMissing { .. } => ErrorCode::PassphraseMissing,
            Error::SecretUndecryptable { .. } => ErrorCode::SecretUndecryptable,
            Error::UnsavedState { .. } => ErrorCode::UnsavedState,
            Error::StateMissingInRepo { .. } => ErrorCode::StateMissingInRepo,
            Error::NotAGitRepo { .. } => ErrorCode::NotAGitRepo,
            Error::NoRemote { .. } => ErrorCode::NoRemote,
            Error::NoBranch => ErrorCode::NoBranch,
            Error::AuthFailed { .. } => ErrorCode::AuthFailed,
            Error::PushRejected { .. } => ErrorCode::PushRejected,
            Error::StateConflict { .. } => ErrorCode::StateConflict,
            Error::PassphraseMismatch { .. } => ErrorCode::PassphraseMismatch,
            Error::AgeKeyMissing { .. } => ErrorCode::AgeKeyMissing,
            Error::DecryptFailed { .. } => ErrorCode::DecryptFailed,
            Error::PlaintextPassphrase { .. } => ErrorCode::PlaintextPassphrase,
            Error::KeyFileInRepo { .. } => ErrorCode::KeyFileInRepo,
            Error::Network { .. } => ErrorCode::NetworkError,
            Error::Git { .. } => ErrorCode::GitError,
            Error::Io { .. } => ErrorCode::IoError,
            Error::Usage(_) => ErrorCode::Usage,
            Error::StateSymlink { .. } => ErrorCode::StateSymlink,
            Error::ConfigDirLocked { .. } => ErrorCode::ConfigDirLocked,
            Error::BranchBusy { .. } => ErrorCode::BranchBusy,
            Error::GitNotFound { .. } => ErrorCode::GitNotFound,
            Error::HostKeyRejected { .. } => ErrorCode::HostKeyRejected,
            Error::RedirectRefused { .. } => ErrorCode::RedirectRefused,
            Error::PassphraseEnvMissing { .. } => ErrorCode::PassphraseMissing,
            Error::LockHeld { .. } => ErrorCode::LockHeld,
            Error::LockNotHeld { .. } => ErrorCode::LockNotHeld,
            Error::LockRefRefused { .. } => ErrorCode::LockRefRefused,
            Error::LockLost { .. } => ErrorCode::LockLost,
            Error::PassphraseChanged { .. } => ErrorCode::PassphraseChanged,
            Error::StageUnknown { .. } => ErrorCode::StageUnknown,
            Error::RemovalUnsaved { .. } => ErrorCode::RemovalUnsaved,
        }
    }

    /// The CLI exit code for this error ([`ErrorCode::exit_code`]).
    pub fn exit_code(&self) -> i32 {
        self.code().exit_code()
    }

    /// Machine-readable details beside `code` and `message` (JS error
    /// properties and `--json` fields): `files` of `UNSAVED_STATE`,
    /// `rescueBranch` of `STATE_CONFLICT`, never a secret.
    pub fn details(&self) -> serde_json::Map<String, serde_json::Value> {
        let mut map = serde_json::Map::new();
        match self {
            Error::UnsavedState { files, .. }
            | Error::StateMissingInRepo { files, .. }
            | Error::RemovalUnsaved { files, .. } => {
                map.insert("files".into(), files.iter().map(|f| f.as_str()).collect());
            }
            Error::StateConflict {
                rescue_branch: Some(branch),
                ..
            }
            | Error::BranchBusy {
                rescue_branch: Some(branch),
                ..
            } => {
                map.insert("rescueBranch".into(), branch.as_str().into());
            }
            Error::LockLost {
                lock_ref,
                rescue_branch,
                ..
            } => {
                map.insert("lockRef".into(), lock_ref.as_str().into());
                if let Some(branch) = rescue_branch {
                    map.insert("rescueBranch".into(), branch.as_str().into());
                }
            }
            Error::LockHeld {
                lock_ref,
                holder,
                run_url,
                ..
            } => {
                map.insert("lockRef".into(), lock_ref.as_str().into());
                map.insert("holder".into(), holder.as_str().into());
                if let Some(url) = run_url {
                    map.insert("runUrl".into(), url.as_str().into());
                }
            }
            Error::LockNotHeld { lock_ref, .. } | Error::LockRefRefused { lock_ref, .. } => {
                map.insert("lockRef".into(), lock_ref.as_str().into());
            }
            _ => {}
        }
        map
    }

    /// Builds an [`Error::Io`] for `path`.
    pub fn io(action: &'static str, path: impl Into<Utf8PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            action,
            path: path.into(),
            source,
        }
    }

    /// Builds an [`Error::InvalidOption`].
    pub fn option(option: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::InvalidOption {
            option: option.into(),
            reason: reason.into(),
        }
    }
}

#[cfg(test)]
#[allow(clippy::too_many_lines)] // tests list their cases inline
mod tests {
    use super::*;

    #[test]
    fn codes_are_screaming_snake_case_and_distinct() {
        let samples = [
            Error::StageRequired,
            Error::NoBranch,
            Error::Usage("x".into()),
            Error::option("--x", "y"),
            Error::io("reading", "/a", std::io::Error::other("boom")),
            Error::UnsavedState {
                files: vec!["/a".into(), "/b".into()],
                force: "--force".into(),
                passphrase: false,
            },
            Error::StateMissingInRepo {
                files: vec!["/a".into()],
                force: "--force".into(),
            },
            Error::StateSymlink {
                path: "/a".into(),
                target: String::new(),
                what: "file",
            },
            Error::ConfigDirLocked {
                lock: "/a".into(),
                seconds: 1,
            },
            Error::BranchBusy {
                branch: "main".into(),
                attempts: 3,
                seconds: 1,
                kept: String::new(),
                rescue_branch: None,
            },
            Error::GitNotFound {
                url: "u".into(),
                why: "w",
            },
            Error::HostKeyRejected {
                url: "u".into(),
                message: "m".into(),
            },
            Error::RedirectRefused {
                url: "u".into(),
                location: "l".into(),
            },
            Error::SstConfigTooDeep {
                file: "/p/sst.config.ts".into(),
                limit: 1000,
                line: 1,
                column: 2,
            },
            Error::KeyFileInRepo {
                path: "/p/k.txt".into(),
                place: "the project /p".into(),
            },
            Error::LockHeld {
                lock_ref: "refs/heads/l/a/dev".into(),
                holder: "h".into(),
                run_url: None,
                waited: "0s".into(),
                unlock: "u".into(),
            },
            Error::LockNotHeld {
                lock_ref: "refs/heads/l/a/dev".into(),
                holder: "h".into(),
                unlock: "u".into(),
            },
            Error::LockRefRefused {
                lock_ref: "refs/heads/l/a/dev".into(),
                reason: "r".into(),
                prefix: "--lock-ref-prefix".into(),
            },
            Error::LockLost {
                lock_ref: "refs/heads/l/a/dev".into(),
                reason: "stale info".into(),
                rescue: String::new(),
                rescue_branch: None,
            },
            Error::PassphraseChanged {
                to: "a".into(),
                tip: "b".into(),
                force: "--force".into(),
            },
            Error::RemovalUnsaved {
                stage: "dev".into(),
                files: vec!["/a".into()],
                force: "--force".into(),
            },
            Error::StageUnknown {
                stage: "prd".into(),
                holds: "infra/state holds the stages dev, prod".into(),
                origin: "the default in CI (github-actions)".into(),
                flag: "--allow-new-stage".into(),
            },
        ];
        let mut codes: Vec<_> = samples.iter().map(|e| e.code().as_str()).collect();
        for code in &codes {
            assert!(
                code.chars().all(|c| c.is_ascii_uppercase() || c == '_'),
                "{code}"
            );
        }
        codes.sort();
        codes.dedup();
        assert_eq!(codes.len(), samples.len());
    }

    #[test]
    fn messages_name_the_thing_at_fault() {
        let e = Error::UnsavedState {
            files: vec!["/c/app.json".into(), "/c/secret.json".into()],
            force: "force: true".into(),
            passphrase: false,
        };
        assert!(e.to_string().contains("pass force: true"), "{e}");
        assert!(e.to_string().contains("/c/app.json, /c/secret.json"));
        assert_eq!(e.exit_code(), 4);
        assert_eq!(Error::Usage("bad".into()).exit_code(), 2);
    }
}
