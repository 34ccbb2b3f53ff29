//! Rekey: re-encrypts the `.age` passphrases of the project to the current
//! `age-recipients.txt`, in one commit pushed like a state commit.
//!
//! Which files: every one not provably sealed to the current list
//! ([`sealed_to::check`] is not [`Sealing::Current`]): its header must name
//! the list's hash and hold as many X25519 stanzas as the list has keys.
//! The record [`passphrases::SEALED_TO_FILE`] is written for earlier versions
//! and for people, never trusted: a file committed after it (by a clone
//! holding an older list, or racing the rekey that wrote it) is what it
//! cannot vouch for. Files sealed by an earlier version (no such stanza)
//! are re-encrypted once.
//!
//! The running identity must decrypt every file to re-encrypt (else
//! `DECRYPT_FAILED` naming the file, nothing written); every file current
//! → no commit. Removing a line and running rekey revokes that key for the
//! files from now on; what it could decrypt before stays decryptable by
//! whoever kept a copy.

use crate::env::Env;
use crate::error::{Error, Result};
use crate::ops::passphrases::{
    self, Change, PassphrasesOptions, PassphrasesReport, Planned, Scope,
};
use crate::stage::seal::{self, Keyring};
use crate::stage::sealed_to::{self, Sealing};

/// Re-encrypts every `.age` passphrase to the current recipients (see the module docs).
///
/// # Errors
///
/// `DECRYPT_FAILED` / `AGE_KEY_MISSING` naming the first file the running identity cannot
/// decrypt; `INVALID_OPTION` for a missing or malformed recipients file; the git errors of
/// `commit` (`NO_REMOTE`, `AUTH_FAILED`, `BRANCH_BUSY`, ...).
pub fn rekey(options: &PassphrasesOptions, env: &Env) -> Result<PassphrasesReport> {
    let (repo, location) = passphrases::open(options, env)?;
    let keyring = Keyring::new(env, &location.config_dir);
    passphrases::run(options, env, &repo, location, |scope, base| {
        plan(scope, base, &keyring)
    })
}

/// The re-encryption of what `base` holds that is not sealed to the worktree's list.
fn plan(scope: &Scope, base: Option<&git2::Commit>, keyring: &Keyring) -> Result<Planned> {
    let recipients_path = scope.tree_path(seal::RECIPIENTS_FILE);
    let Some((recipients, recipients_bytes)) = scope.recipients()? else {
        return Err(Error::option(
            scope.work_path(&recipients_path).as_str(),
            "does not exist: run `sst-local-state init` first",
        ));
    };
    let folder = scope.tree_path("passphrase");
    let sealed: Vec<String> = scope
        .list(base, &folder)?
        .into_iter()
        .filter(|name| name.ends_with(".age"))
        .map(|name| format!("{folder}/{name}"))
        .collect();
    let record = passphrases::sealed_to(&recipients);
    let mut planned = Planned {
        passphrases: sealed.len(),
        recipients: record
            .split(|&b| b == b'\n')
            .filter(|l| l.starts_with(b"age1"))
            .count(),
        ..Planned::default()
    };
    // every file to re-encrypt decrypts before any is written
    let mut plaintexts = Vec::new();
    for path in &sealed {
        let ciphertext = scope.read(base, path)?.unwrap_or_default();
        if sealed_to::check(&ciphertext, &recipients) != Sealing::Current {
            plaintexts.push((path, keyring.open(&scope.work_path(path), &ciphertext)?));
        }
    }
    if plaintexts.is_empty() {
        return Ok(planned);
    }
    for (path, plain) in &plaintexts {
        planned.changes.push(Change {
            path: path.to_string(),
            bytes: Some(seal::seal(plain, &recipients)),
            label: "rekeyed",
        });
    }
    planned.update_record(scope, base, record)?;
    planned.update(scope, base, recipients_path, recipients_bytes)?;
    planned.message = message(plaintexts.len(), planned.recipients);
    Ok(planned)
}

/// The commit message of a rekey of `files` passphrases to `recipients` keys.
fn message(files: usize, recipients: usize) -> String {
    format!(
        "chore(sst-state): re-encrypt {files} passphrase{} to {recipients} age recipient{} [skip ci]\n\nSST-Passphrases: rekeyed\n",
        if files == 1 { "" } else { "s" },
        if recipients == 1 { "" } else { "s" },
    )
}
