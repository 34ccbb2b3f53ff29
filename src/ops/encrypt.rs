//! Encrypt: migrates every stage's plain `passphrase/<stage>.json` (the seed
//! recipe's, and `_fallback.json`) to `passphrase/<stage>.age` for the
//! current recipients, removing the plain files, in one commit pushed like
//! a state commit. Git history still holds the plaintext: the report says
//! so and what to do about it.

use crate::env::Env;
use crate::error::{Error, Result};
use crate::ops::passphrases::{self, Change, PassphrasesOptions, PassphrasesReport, Planned};
use crate::stage::names::{Stage, FALLBACK_STAGE};
use crate::stage::seal::{self, Keyring};

/// What the history still holds after `encrypt`, and the remedies.
pub fn history_note(stages: &[String]) -> String {
    format!(
        "git history still holds the plain passphrase of {}: anyone with a copy of the repository's history (every clone, fork and CI cache) can decrypt the secrets and the checkpoint's secret outputs of those stages. Remedies (docs/passphrases.md, \"Plain passphrases in git history\"): rotate the passphrase and re-encrypt the secrets and secret outputs, or rewrite history (git filter-repo, BFG) and replace every clone",
        stages.join(", ")
    )
}

/// Migrates plain passphrases to `.age` (see the module docs).
///
/// # Errors
///
/// `INVALID_OPTION` when `age-recipients.txt` is missing or malformed, or when a stage has
/// both a plain and an `.age` passphrase that differ; `DECRYPT_FAILED` / `AGE_KEY_MISSING`
/// when such an `.age` file must be compared and cannot be decrypted; the git errors of
/// `commit`.
pub fn encrypt(options: &PassphrasesOptions, env: &Env) -> Result<PassphrasesReport> {
    let (repo, location) = passphrases::open(options, env)?;
    let keyring = Keyring::new(env, &location.config_dir);
    passphrases::run(options, env, &repo, location, |scope, base| {
        let folder = scope.tree_path("passphrase");
        let names = scope.list(base, &folder)?;
        let stages: Vec<String> = names
            .iter()
            .filter_map(|n| n.strip_suffix(".json"))
            .filter(|s| *s == FALLBACK_STAGE || Stage::parse(s, "file name").is_ok())
            .map(str::to_string)
            .collect();
        let mut planned = Planned {
            passphrases: names.iter().filter(|n| n.ends_with(".age")).count() + stages.len(),
            ..Planned::default()
        };
        if stages.is_empty() {
            return Ok(planned);
        }
        let recipients_path = scope.tree_path(seal::RECIPIENTS_FILE);
        let Some((recipients, recipients_bytes)) = scope.recipients()? else {
            return Err(Error::option(
                scope.work_path(&recipients_path).as_str(),
                "does not exist: run `sst-local-state init` first (the passphrases are encrypted to the keys it lists)",
            ));
        };
        let record = passphrases::sealed_to(&recipients);
        planned.recipients = recipients.len();
        for stage in &stages {
            let plain_path = format!("{folder}/{stage}.json");
            let sealed_path = format!("{folder}/{stage}.age");
            let plain = scope.read(base, &plain_path)?.unwrap_or_default();
            match scope.read(base, &sealed_path)? {
                // both: the .age wins only if it holds the same passphrase
                Some(ciphertext) => {
                    let opened = keyring.open(&scope.work_path(&sealed_path), &ciphertext)?;
                    if opened != plain {
                        return Err(Error::option(
                            scope.work_path(&plain_path).as_str(),
                            format!("differs from the passphrase in {}: find out which one encrypts the stage's secrets, remove the other, and run encrypt again", scope.work_path(&sealed_path)),
                        ));
                    }
                }
                None => planned.changes.push(Change {
                    path: sealed_path,
                    bytes: Some(seal::seal(&plain, &recipients)),
                    label: "encrypted",
                }),
            }
            planned.changes.push(Change {
                path: plain_path,
                bytes: None,
                label: "removed",
            });
        }
        // the record is true only when every .age file is ours, or it already says so
        if !names.iter().any(|n| n.ends_with(".age")) {
            planned.update_record(scope, base, record)?;
        }
        planned.update(scope, base, recipients_path, recipients_bytes)?;
        let note = history_note(&stages);
        planned.message = format!(
            "chore(sst-state): encrypt {} plain passphrase{} with age [skip ci]\n\nNote: {note}.\n\nSST-Passphrases: encrypted\n",
            stages.len(),
            if stages.len() == 1 { "" } else { "s" },
        );
        planned.notes.push(note);
        Ok(planned)
    })
}
