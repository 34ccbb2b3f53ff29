//! The one error type of the crate: every failure has a stable string code
//! (shared by JS `err.code`, the CLI's `--json` output and the docs) and a
//! message that names the file, flag or variable at fault.

use camino::Utf8PathBuf;

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

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
    /// Config-dir files hold changes that were never saved to the repository.
    #[error("unsaved state in SST's config dir (changed since the last prepare and not in the repository): {}; commit it first, or pass --force to back it up and overwrite it", list(files))]
    UnsavedState {
        /// The files with unsaved changes.
        files: Vec<Utf8PathBuf>,
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
    #[error("{file} differs from the repository's passphrase {repo_file}: SST made a new passphrase (was prepare run before the deploy?); committing it would make every secret and secret output undecryptable")]
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
}

fn list(files: &[Utf8PathBuf]) -> String {
    files
        .iter()
        .map(|f| f.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

impl Error {
    /// The stable code of this error (`"STATE_CORRUPT"`, ...).
    pub fn code(&self) -> &'static str {
        match self {
            Error::StageRequired => "STAGE_REQUIRED",
            Error::InvalidStage { .. } => "INVALID_STAGE",
            Error::InvalidApp { .. } => "INVALID_APP",
            Error::AppNameUnresolved { .. } => "APP_NAME_UNRESOLVED",
            Error::SstConfigTooDeep { .. } => "SST_CONFIG_TOO_DEEP",
            Error::HomeNotLocal { .. } => "HOME_NOT_LOCAL",
            Error::ProjectNotFound { .. } => "PROJECT_NOT_FOUND",
            Error::ConfigDirRelativeXdg { .. } => "CONFIG_DIR_RELATIVE_XDG",
            Error::ConfigDirNoHome { .. } => "CONFIG_DIR_NO_HOME",
            Error::InvalidOption { .. } => "INVALID_OPTION",
            Error::StateMissing { .. } => "STATE_MISSING",
            Error::StateCorrupt { .. } => "STATE_CORRUPT",
            Error::StateEmpty { .. } => "STATE_EMPTY",
            Error::PassphraseInvalid { .. } => "PASSPHRASE_INVALID",
            Error::PassphraseMissing { .. } => "PASSPHRASE_MISSING",
            Error::SecretUndecryptable { .. } => "SECRET_UNDECRYPTABLE",
            Error::UnsavedState { .. } => "UNSAVED_STATE",
            Error::NotAGitRepo { .. } => "NOT_A_GIT_REPO",
            Error::NoRemote { .. } => "NO_REMOTE",
            Error::NoBranch => "NO_BRANCH",
            Error::AuthFailed { .. } => "AUTH_FAILED",
            Error::PushRejected { .. } => "PUSH_REJECTED",
            Error::StateConflict { .. } => "STATE_CONFLICT",
            Error::PassphraseMismatch { .. } => "PASSPHRASE_MISMATCH",
            Error::AgeKeyMissing { .. } => "AGE_KEY_MISSING",
            Error::DecryptFailed { .. } => "DECRYPT_FAILED",
            Error::PlaintextPassphrase { .. } => "PLAINTEXT_PASSPHRASE",
            Error::KeyFileInRepo { .. } => "KEY_FILE_IN_REPO",
            Error::Network { .. } => "NETWORK_ERROR",
            Error::Git { .. } => "GIT_ERROR",
            Error::Io { .. } => "IO_ERROR",
            Error::Usage(_) => "USAGE",
        }
    }

    /// The CLI exit code for this error: 2 usage, 4 state conflict, 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Usage(_) => 2,
            Error::StateConflict { .. }
            | Error::UnsavedState { .. }
            | Error::PassphraseMismatch { .. } => 4,
            _ => 1,
        }
    }

    /// Machine-readable details beside `code` and `message` (JS error
    /// properties and `--json` fields): `files` of `UNSAVED_STATE`,
    /// `rescueBranch` of `STATE_CONFLICT`, never a secret.
    pub fn details(&self) -> serde_json::Map<String, serde_json::Value> {
        let mut map = serde_json::Map::new();
        match self {
            Error::UnsavedState { files } => {
                map.insert("files".into(), files.iter().map(|f| f.as_str()).collect());
            }
            Error::StateConflict {
                rescue_branch: Some(branch),
                ..
            } => {
                map.insert("rescueBranch".into(), branch.as_str().into());
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
        ];
        let mut codes: Vec<_> = samples.iter().map(Error::code).collect();
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
        };
        assert!(e.to_string().contains("/c/app.json, /c/secret.json"));
        assert_eq!(e.exit_code(), 4);
        assert_eq!(Error::Usage("bad".into()).exit_code(), 2);
    }
}
