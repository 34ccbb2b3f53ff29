//! Findings that did not stop a run, each with a stable code (like
//! [`crate::error::Error`]): the CLI prints `warning[CODE]: …`, JS results
//! and `--json` carry `{ code, message }`. Messages never contain a secret.

use camino::Utf8PathBuf;
use serde::ser::SerializeStruct;

/// One finding that did not stop the run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Warning {
    /// `home` in `sst.config.ts` is not a literal.
    #[error("{file}: `home` is not a literal; make sure it evaluates to \"local\" for this stage")]
    HomeDynamic {
        /// The config file.
        file: Utf8PathBuf,
    },
    /// `app()` sets no `home`.
    #[error("{file}: no `home` found in app(); SST's default home is not \"local\"")]
    HomeAbsent {
        /// The config file.
        file: Utf8PathBuf,
    },
    /// The config could not be read (the app name was given), so `home` was not checked.
    #[error("{file}: `home` was not checked: {reason}; make sure it is \"local\"")]
    HomeUnchecked {
        /// The config file.
        file: Utf8PathBuf,
        /// Why it could not be read.
        reason: String,
    },
    /// The record of the last sync is unreadable.
    #[error("{file} could not be read; treating every differing config-dir file as unsaved")]
    MarkerCorrupt {
        /// The marker file.
        file: Utf8PathBuf,
    },
    /// A config-dir file SST changed since the last sync is kept.
    #[error("{file} changed since it was last synced (SST wrote it: a deploy, `sst secret set`); it is kept, and `commit` saves it")]
    Unsaved {
        /// The config-dir file.
        file: Utf8PathBuf,
    },
    /// SST's own lock of the stage is left in the config dir.
    #[error("SST's lock for this stage exists ({path}): a `{command}` run started {created} did not finish; run `sst unlock --stage {stage}` once you are sure no deploy is running")]
    SstLock {
        /// The lock file.
        path: Utf8PathBuf,
        /// The SST command that took it.
        command: String,
        /// When.
        created: String,
        /// The stage.
        stage: String,
    },
    /// The checkpoint records operations a run did not finish.
    #[error("the checkpoint has pending_operations: a previous run was interrupted mid-operation; `sst refresh` may be needed")]
    PendingOperations,
    /// A passphrase is in the repository both encrypted and in plain text.
    #[error("{plain} and {sealed} both exist; the encrypted one is used (delete the plain one)")]
    PlainAndSealed {
        /// The plain file.
        plain: Utf8PathBuf,
        /// The encrypted file.
        sealed: Utf8PathBuf,
    },
    /// The repository holds a passphrase in plain text (the seed recipe's layout).
    #[error("{file} holds the stage passphrase in plain text: anyone who can read the repository can decrypt every secret; encrypt it: `sst-local-state init`, then `sst-local-state encrypt`")]
    PlaintextPassphraseRead {
        /// The plain file.
        file: Utf8PathBuf,
    },
    /// A new passphrase is committed in plain text, as explicitly allowed.
    #[error("committing {path} in plain text ({allowed_by} is set)")]
    PlaintextPassphraseCommitted {
        /// The path in the tree.
        path: String,
        /// What allowed it.
        allowed_by: &'static str,
    },
    /// A state file could not be read as SST writes it (status only).
    #[error("[{code}] {message}")]
    StateInvalid {
        /// The error's code.
        code: crate::error::ErrorCode,
        /// The error's message.
        message: String,
    },
    /// The branch does not exist on the remote yet.
    #[error("branch {branch} does not exist on {remote}: it will be created from HEAD")]
    BranchCreated {
        /// The branch.
        branch: String,
        /// The remote.
        remote: String,
    },
    /// The recipients file is malformed (not needed by this commit).
    #[error("{reason}; not needed by this commit (no new passphrase), but the next new stage's passphrase cannot be encrypted until it is fixed")]
    RecipientsInvalid {
        /// What is wrong.
        reason: String,
    },
    /// HEAD was not moved to the state commit.
    #[error("HEAD was left where it was: {why}; the state files in the worktree are updated")]
    HeadNotMoved {
        /// Why.
        why: &'static str,
    },
    /// This checkout was not moved to a commit pushed to its branch.
    #[error("this checkout was left where it was ({why}): commit {commit} is on the remote branch; `{command}` brings it here")]
    CheckoutBehind {
        /// Why it was not moved.
        why: String,
        /// The pushed commit.
        commit: String,
        /// The exact command that brings it here.
        command: String,
    },
    /// HEAD moved while the run committed.
    #[error("HEAD moved while this run committed (a commit of yours?): it was left where it is; the state commit {commit} is on the remote branch")]
    HeadMoved {
        /// The state commit.
        commit: String,
    },
    /// HEAD moved, but the index could not be refreshed.
    #[error("HEAD points at the state commit, but the index could not be refreshed ({reason}): `git status` may list the state files as changed until `git reset -q -- <state folder>`")]
    IndexNotRefreshed {
        /// libgit2's message.
        reason: String,
    },
    /// The branch already held this state: nothing was pushed.
    #[error("{branch} already holds this state (commit {commit}): nothing pushed")]
    AlreadyOnBranch {
        /// The branch.
        branch: String,
        /// The commit holding it.
        commit: String,
    },
    /// The recipients file lists other keys than the `.age` files are encrypted to.
    #[error("{recipients} differs from the keys the passphrases are encrypted to ({why}): a key added there cannot decrypt them, a key removed can, until a member whose key decrypts them runs `sst-local-state rekey`")]
    RekeyNeeded {
        /// The recipients file.
        recipients: Utf8PathBuf,
        /// What says so: the record of the last rekey, or a file's header.
        why: String,
    },
    /// Passphrase mode `env`, and the repository still holds a passphrase.
    #[error("passphrase mode \"env\": {file} in the repository is not used ({variable} is); if the passphrase is to live only in the CI secret store, remove it from the repository")]
    PassphraseNotUsed {
        /// The repository's passphrase file.
        file: Utf8PathBuf,
        /// The variable used instead.
        variable: &'static str,
    },
    /// The stage lock this checkout took is no longer on the remote as it
    /// left it (it expired and another run took it, or it was broken).
    #[error("this checkout's stage lock {lock_ref} was no longer held when commit went to release it (it expired and another run took it, or someone ran `unlock --force`); nothing was changed there")]
    LockNotHeld {
        /// The lock ref.
        lock_ref: String,
    },
}

impl Warning {
    /// The stable code of this warning (`"UNSAVED"`, ...).
    pub fn code(&self) -> &'static str {
        match self {
            Warning::HomeDynamic { .. } => "HOME_DYNAMIC",
            Warning::HomeAbsent { .. } => "HOME_ABSENT",
            Warning::HomeUnchecked { .. } => "HOME_UNCHECKED",
            Warning::MarkerCorrupt { .. } => "MARKER_CORRUPT",
            Warning::Unsaved { .. } => "UNSAVED",
            Warning::SstLock { .. } => "SST_LOCK",
            Warning::PendingOperations => "PENDING_OPERATIONS",
            Warning::PlainAndSealed { .. } => "PLAIN_AND_SEALED",
            Warning::PlaintextPassphraseRead { .. }
            | Warning::PlaintextPassphraseCommitted { .. } => "PLAINTEXT_PASSPHRASE",
            Warning::StateInvalid { .. } => "STATE_INVALID",
            Warning::BranchCreated { .. } => "BRANCH_CREATED",
            Warning::RecipientsInvalid { .. } => "RECIPIENTS_INVALID",
            Warning::HeadNotMoved { .. } => "HEAD_NOT_MOVED",
            Warning::HeadMoved { .. } => "HEAD_MOVED",
            Warning::CheckoutBehind { .. } => "CHECKOUT_BEHIND",
            Warning::IndexNotRefreshed { .. } => "INDEX_NOT_REFRESHED",
            Warning::AlreadyOnBranch { .. } => "ALREADY_ON_BRANCH",
            Warning::RekeyNeeded { .. } => "REKEY_NEEDED",
            Warning::PassphraseNotUsed { .. } => "PASSPHRASE_NOT_USED",
            Warning::LockNotHeld { .. } => "LOCK_NOT_HELD",
        }
    }
}

/// `{ "code": …, "message": … }`, as in JS results and `--json`.
impl serde::Serialize for Warning {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("Warning", 2)?;
        s.serialize_field("code", self.code())?;
        s.serialize_field("message", &self.to_string())?;
        s.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialises_as_code_and_message() {
        let w = Warning::Unsaved {
            file: "/c/app.json".into(),
        };
        let v = serde_json::to_value(&w).unwrap();
        assert_eq!(v["code"], "UNSAVED");
        assert!(v["message"]
            .as_str()
            .unwrap()
            .starts_with("/c/app.json changed"));
        assert_eq!(w.code(), "UNSAVED");
    }
}
