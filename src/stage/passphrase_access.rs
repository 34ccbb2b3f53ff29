//! Whether a stage's passphrase can be recovered on this machine: for each
//! passphrase (the stage's and the fallback's), where it lives, whether the
//! keys at hand open it, and how many age recipients it is encrypted to (a
//! lost passphrase bricks the stage: more than one recipient, one of them a
//! key kept offline, is the protection). Never the passphrase itself.

use serde::Serialize;

use crate::env::Env;
use crate::error::ErrorCode;
use crate::fsx;
use crate::stage::layout::{Kind, StateFile};
use crate::stage::passphrase_mode::{self, PassphraseMode};
use crate::stage::project::StageContext;
use crate::stage::seal;

/// One passphrase and who can open it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PassphraseAccess {
    /// `passphrase` or `fallbackPassphrase`.
    pub kind: Kind,
    /// `age`, `plain`, `env` or `absent`.
    pub form: &'static str,
    /// The file in the repository, or the environment variable.
    pub source: String,
    /// Whether it can be read with what is at hand (the age keys, the variable).
    pub decryptable: bool,
    /// The age recipients it is encrypted to (`age` only).
    pub recipients: Option<usize>,
    /// Why it cannot be read, when it cannot.
    pub reason: Option<String>,
}

/// The number of recipients (X25519 and ssh stanzas; not the random
/// "grease" stanza age adds, nor the one naming the list it was sealed to)
/// in the header of an age file, armored or not.
pub fn count_recipients(ciphertext: &[u8]) -> Option<usize> {
    crate::stage::sealed_to::header(ciphertext).map(|h| h.recipients)
}

/// The stage's passphrases and who can open them (`keyring` holds the keys
/// at hand).
pub fn access(
    ctx: &StageContext,
    files: &[StateFile],
    env: &Env,
    keyring: &seal::Keyring,
) -> Vec<PassphraseAccess> {
    files
        .iter()
        .filter(|f| f.kind.is_passphrase())
        .map(|file| {
            let mut out = PassphraseAccess {
                kind: file.kind,
                form: "absent",
                source: file.repo_path.to_string(),
                decryptable: false,
                recipients: None,
                reason: None,
            };
            if ctx.passphrase_mode.mode == PassphraseMode::Env {
                let name = passphrase_mode::variable(env, file.kind);
                out.form = "env";
                out.source = format!("env {name}");
                out.decryptable = env.non_empty(name).is_some();
                if !out.decryptable {
                    out.reason = Some(format!("{name} is not set"));
                }
                return out;
            }
            let sealed = file.sealed_path(ctx).filter(|p| p.exists());
            if let Some(path) = sealed {
                out.form = "age";
                out.source = path.to_string();
                match fsx::read_optional(&path) {
                    Ok(Some(bytes)) => {
                        out.recipients = count_recipients(&bytes);
                        match keyring.open(&path, &bytes) {
                            Ok(_) => out.decryptable = true,
                            Err(e) if e.code() == ErrorCode::DecryptFailed => {
                                out.reason = Some("not encrypted to the age keys at hand".into())
                            }
                            Err(e) => out.reason = Some(e.to_string()),
                        }
                    }
                    Ok(None) => {}
                    Err(e) => out.reason = Some(e.to_string()),
                }
            } else if file.repo_path.exists() {
                out.form = "plain";
                out.decryptable = true;
            }
            out
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_the_recipients_of_an_age_file() {
        let keys: Vec<String> = (0..3).map(|_| seal::generate().1).collect();
        let recipients =
            seal::parse_recipients(camino::Utf8Path::new("r"), &keys.join("\n")).unwrap();
        assert_eq!(count_recipients(&seal::seal(b"x", &recipients)), Some(3));
        assert_eq!(
            count_recipients(&seal::seal(b"x", &recipients[..1])),
            Some(1)
        );
        assert_eq!(count_recipients(b"not age"), None);
    }
}
