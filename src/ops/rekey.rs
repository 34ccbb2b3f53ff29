//! Rekey: re-encrypts every `.age` passphrase of the project to the current
//! `age-recipients.txt`, in one commit pushed like a state commit. The
//! running identity must decrypt every one of them (else `DECRYPT_FAILED`
//! naming the file, nothing written); recipients unchanged since the last
//! rekey (the record [`secrets::SEALED_TO_FILE`]) → no commit. Removing a
//! line and running rekey revokes that key for the files from now on; what
//! it could decrypt before stays decryptable by whoever kept a copy.

use crate::env::Env;
use crate::error::{Error, Result};
use crate::seal::{self, Keyring};
use crate::secrets::{self, Change, Planned, SecretsOptions, SecretsReport};

/// Re-encrypts every `.age` passphrase to the current recipients (see the module docs).
///
/// # Errors
///
/// `DECRYPT_FAILED` / `AGE_KEY_MISSING` naming the first file the running identity cannot
/// decrypt; `INVALID_OPTION` for a missing or malformed recipients file; the git errors of
/// `commit` (`NO_REMOTE`, `AUTH_FAILED`, `BRANCH_BUSY`, ...).
pub fn rekey(options: &SecretsOptions, env: &Env) -> Result<SecretsReport> {
    let (repo, location) = secrets::open(options, env)?;
    let keyring = Keyring::new(env, &location.config_dir);
    secrets::run(options, env, &repo, location, |scope, base| {
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
        let record_path = scope.tree_path(secrets::SEALED_TO_FILE);
        let record = secrets::sealed_to(&recipients);
        let mut planned = Planned {
            passphrases: sealed.len(),
            recipients: record
                .split(|&b| b == b'\n')
                .filter(|l| l.starts_with(b"age1"))
                .count(),
            ..Planned::default()
        };
        if sealed.is_empty() || scope.read(base, &record_path)?.as_deref() == Some(&record[..]) {
            return Ok(planned);
        }
        // every file decrypts before any is written
        let mut plaintexts = Vec::new();
        for path in &sealed {
            let ciphertext = scope.read(base, path)?.unwrap_or_default();
            plaintexts.push(keyring.open(&scope.work_path(path), &ciphertext)?);
        }
        for (path, plain) in sealed.iter().zip(&plaintexts) {
            planned.changes.push(Change {
                path: path.clone(),
                bytes: Some(seal::seal(plain, &recipients)),
                label: "rekeyed",
            });
        }
        planned.update(scope, base, record_path, record)?;
        planned.update(scope, base, recipients_path, recipients_bytes)?;
        planned.message = format!(
            "chore(sst-state): re-encrypt {} passphrase{} to {} age recipient{} [skip ci]\n\nSST-Passphrases: rekeyed\n",
            sealed.len(),
            if sealed.len() == 1 { "" } else { "s" },
            planned.recipients,
            if planned.recipients == 1 { "" } else { "s" },
        );
        Ok(planned)
    })
}
