//! Reading a stage's state files from the repository's worktree.

use crate::env::Env;
use crate::error::{Error, Result};
use crate::fsx;
use crate::stage::layout::{Kind, StateFile};
use crate::stage::project::StageContext;
use crate::stage::seal::{self, Keyring};
use crate::stage::state::StateSet;
use crate::warning::Warning;

/// The stage's files as read from the repository's worktree.
pub struct RepoFiles {
    /// The files read (passphrases decrypted).
    pub set: StateSet,
    /// The passphrases left out because the keys at hand could not decrypt
    /// them (only when not strict).
    pub unreadable: Vec<Kind>,
}

/// Reads the stage's files from the repository: passphrases from their
/// age-encrypted form (`.age`, decrypted with the configured key) or, in the
/// legacy layout, from plain `.json` (with a warning). With `strict`, a
/// missing or wrong key is an error; otherwise (status) such passphrases are
/// left out and returned. `keys` decrypts the `.age` files (loaded on the
/// first one).
pub fn read_repo_state(
    ctx: &StageContext,
    files: &[StateFile],
    env: &Env,
    keys: &Keyring,
    strict: bool,
    warnings: &mut Vec<Warning>,
) -> Result<RepoFiles> {
    let mut repo = StateSet::default();
    let mut unreadable = Vec::new();
    for file in files {
        // env mode: the passphrase comes from the environment, never the repository
        if ctx.passphrase_mode.mode.keeps_out(file.kind) {
            let variable = crate::stage::passphrase_mode::variable(env, file.kind);
            for held in [file.sealed_path(ctx), Some(file.repo_path.clone())]
                .into_iter()
                .flatten()
                .filter(|p| p.exists())
            {
                warnings.push(Warning::PassphraseNotUsed {
                    file: held,
                    variable,
                });
            }
            match crate::stage::passphrase_mode::from_env(env, file.kind, &ctx.passphrase_mode) {
                Ok(bytes) => {
                    let origin = format!(
                        "env {}",
                        crate::stage::passphrase_mode::variable(env, file.kind)
                    );
                    repo.insert(file.kind, origin.into(), bytes);
                }
                Err(e) if strict => return Err(e),
                Err(_) => unreadable.push(file.kind),
            }
            continue;
        }
        let sealed = file.sealed_path(ctx);
        if let Some(sealed) = sealed.filter(|p| p.exists()) {
            let ciphertext =
                std::fs::read(&sealed).map_err(|e| Error::io("reading", &sealed, e))?;
            // a key that cannot be read is an error even for status
            let identities = keys.identities()?;
            match seal::open(&sealed, &ciphertext, identities) {
                Ok(plain) => repo.insert(file.kind, sealed.clone(), plain),
                Err(e) if strict => return Err(e),
                Err(_) => unreadable.push(file.kind),
            }
            if file.repo_path.exists() {
                warnings.push(Warning::PlainAndSealed {
                    plain: file.repo_path.clone(),
                    sealed: sealed.clone(),
                });
            }
            continue;
        }
        if let Some(bytes) = fsx::read_optional(&file.repo_path)? {
            if file.sealed_rel.is_some() {
                warnings.push(Warning::PlaintextPassphraseRead {
                    file: file.repo_path.clone(),
                });
            }
            repo.insert(file.kind, file.repo_path.clone(), bytes);
        }
    }
    if let Some(warning) =
        crate::stage::sealed_to::rekey_needed(&ctx.project_root.join(&ctx.state_dir))
    {
        warnings.push(warning);
    }
    Ok(RepoFiles {
        set: repo,
        unreadable,
    })
}
