//! Checks of a stage's state files, shared by every command that moves them
//! (prepare: repo -> config dir; commit: config dir -> repo): a checkpoint
//! must be a non-empty JSON object with `version` and `checkpoint`, a
//! passphrase base64 of 32 bytes, secrets must decrypt with their
//! passphrase, and nothing encrypted may travel without its passphrase.
//! Nothing here ever prints a key or a secret value.

use std::collections::BTreeMap;
use std::fmt;

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use camino::{Utf8Path, Utf8PathBuf};
use serde::de::{Deserializer, IgnoredAny, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::stage::layout::Kind;
use crate::stage::per_kind::PerKind;

/// What a valid checkpoint tells about the stack.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckpointInfo {
    /// Number of resources in `checkpoint.latest.resources`.
    pub resources: u32,
    /// Number of `pending_operations` (non-zero: a run was interrupted).
    pub pending_operations: u32,
}

/// Counts the elements of a JSON array without keeping them.
struct Count(u32);

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Count;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an array")
            }
            fn visit_seq<A: SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> std::result::Result<Count, A::Error> {
                let mut n = 0u32;
                while seq.next_element::<IgnoredAny>()?.is_some() {
                    n += 1;
                }
                Ok(Count(n))
            }
        }
        d.deserialize_seq(V)
    }
}

#[derive(Deserialize)]
struct Top {
    version: Option<IgnoredAny>,
    checkpoint: Option<Checkpoint>,
}

#[derive(Deserialize)]
struct Checkpoint {
    latest: Option<Latest>,
}

#[derive(Deserialize)]
struct Latest {
    resources: Option<Count>,
    pending_operations: Option<Count>,
}

/// Checks a Pulumi checkpoint (the `app` file) without building a tree of it.
pub fn check_checkpoint(path: &Utf8Path, bytes: &[u8]) -> Result<CheckpointInfo> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(Error::StateEmpty {
            file: path.to_path_buf(),
        });
    }
    let corrupt = |reason: String| Error::StateCorrupt {
        file: path.to_path_buf(),
        reason,
    };
    let top: Top = serde_json::from_slice(bytes)
        .map_err(|e| corrupt(format!("not a valid checkpoint JSON object: {e}")))?;
    if top.version.is_none() {
        return Err(corrupt("no `version` field".into()));
    }
    let checkpoint = top
        .checkpoint
        .ok_or_else(|| corrupt("no `checkpoint` object".into()))?;
    let latest = checkpoint.latest;
    Ok(CheckpointInfo {
        resources: latest
            .as_ref()
            .and_then(|l| l.resources.as_ref())
            .map_or(0, |c| c.0),
        pending_operations: latest
            .as_ref()
            .and_then(|l| l.pending_operations.as_ref())
            .map_or(0, |c| c.0),
    })
}

/// Checks a passphrase file and returns the 32-byte key it encodes.
pub fn check_passphrase(path: &Utf8Path, bytes: &[u8]) -> Result<[u8; 32]> {
    let invalid = |reason: &str| Error::PassphraseInvalid {
        file: path.to_path_buf(),
        reason: reason.to_string(),
    };
    if bytes.is_empty() {
        return Err(invalid("the file is empty"));
    }
    if bytes.iter().any(u8::is_ascii_whitespace) {
        return Err(invalid(
            "it contains whitespace or a newline; SST uses the exact text as the passphrase",
        ));
    }
    let key = base64::engine::general_purpose::STANDARD
        .decode(bytes)
        .map_err(|_| invalid("it is not base64"))?;
    key.try_into()
        .map_err(|_| invalid("it does not decode to exactly 32 bytes"))
}

/// Checks that a secrets file decrypts with `key` (AES-256-GCM, 12-byte
/// nonce prefix) to a JSON object; returns the number of secrets in it.
pub fn check_secret(
    path: &Utf8Path,
    bytes: &[u8],
    key: &[u8; 32],
    key_path: &Utf8Path,
) -> Result<usize> {
    let fail = |reason: &str| Error::SecretUndecryptable {
        file: path.to_path_buf(),
        passphrase: key_path.to_path_buf(),
        reason: reason.to_string(),
    };
    if bytes.len() < 12 + 16 {
        return Err(fail("the file is too short to hold a nonce and a tag"));
    }
    let (nonce, ciphertext) = bytes.split_at(12);
    let cipher = Aes256Gcm::new_from_slice(key).map_err(|_| fail("bad key length"))?;
    let plain = cipher
        .decrypt(Nonce::from_slice(nonce), ciphertext)
        .map_err(|_| fail("authentication failed (wrong passphrase or damaged file)"))?;
    let secrets: BTreeMap<String, IgnoredAny> = serde_json::from_slice(&plain)
        .map_err(|_| fail("it decrypts, but not to a JSON object of secrets"))?;
    Ok(secrets.len())
}

/// The state files of a stage as read from one side (repo or config dir).
#[derive(Debug, Default)]
pub struct StateSet {
    files: PerKind<Option<ReadFile>>,
}

/// A state file as read: where from, and its content.
#[derive(Debug)]
struct ReadFile {
    path: Utf8PathBuf,
    bytes: Vec<u8>,
}

/// What [`StateSet::check`] learnt.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SetInfo {
    /// The checkpoint's summary when there is one.
    pub checkpoint: Option<CheckpointInfo>,
    /// Secrets per kind of secret file present (never their values).
    pub secret_counts: PerKind<Option<usize>>,
}

impl StateSet {
    /// Adds a file that exists.
    pub fn insert(&mut self, kind: Kind, path: Utf8PathBuf, bytes: Vec<u8>) {
        self.files[kind] = Some(ReadFile { path, bytes });
    }

    /// The content of `kind`, if present.
    pub fn get(&self, kind: Kind) -> Option<&[u8]> {
        self.files[kind].as_ref().map(|f| f.bytes.as_slice())
    }

    /// The path `kind` was read from, if present.
    pub fn path(&self, kind: Kind) -> Option<&Utf8Path> {
        self.files[kind].as_ref().map(|f| f.path.as_path())
    }

    /// Whether no file is present.
    pub fn is_empty(&self) -> bool {
        self.files.iter().all(Option::is_none)
    }

    /// Checks every file and the pairing of encrypted files with their
    /// passphrase. `expected_path` names where a missing passphrase should be.
    pub fn check(&self, expected_path: impl Fn(Kind) -> Utf8PathBuf) -> Result<SetInfo> {
        let mut info = SetInfo::default();
        let mut keys = PerKind::default();
        for kind in [Kind::Passphrase, Kind::FallbackPassphrase] {
            if let Some(ReadFile { path, bytes }) = &self.files[kind] {
                keys[kind] = Some((check_passphrase(path, bytes)?, path));
            }
        }
        for (kind, ReadFile { path, bytes }) in self.files.present() {
            if let Some(pass_kind) = kind.passphrase() {
                let Some((key, key_path)) = &keys[pass_kind] else {
                    return Err(Error::PassphraseMissing {
                        file: expected_path(pass_kind),
                        needed_by: path.clone(),
                    });
                };
                if kind == Kind::App {
                    info.checkpoint = Some(check_checkpoint(path, bytes)?);
                } else {
                    info.secret_counts[kind] = Some(check_secret(path, bytes, key, key_path)?);
                }
            }
        }
        Ok(info)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use aes_gcm::aead::OsRng;
    use aes_gcm::AeadCore;

    /// Encrypts `json` the way SST does (for tests).
    pub fn sst_encrypt(key: &[u8; 32], json: &str) -> Vec<u8> {
        let cipher = Aes256Gcm::new_from_slice(key).unwrap();
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let mut out = nonce.to_vec();
        out.extend(cipher.encrypt(&nonce, json.as_bytes()).unwrap());
        out
    }

    pub const KEY: [u8; 32] = [7; 32];

    pub fn passphrase_text(key: &[u8; 32]) -> String {
        base64::engine::general_purpose::STANDARD.encode(key)
    }

    fn p(s: &str) -> Utf8PathBuf {
        Utf8PathBuf::from(s)
    }

    #[test]
    fn checkpoints() {
        let ok = br#"{"version":3,"checkpoint":{"stack":"o/a/s","latest":{"resources":[{"urn":"a"},{"urn":"b"}],"pending_operations":[{}]}}}"#;
        assert_eq!(
            check_checkpoint(&p("/x"), ok).unwrap(),
            CheckpointInfo {
                resources: 2,
                pending_operations: 1
            }
        );
        let fresh = br#"{"version":3,"checkpoint":{"stack":"o/a/s","latest":null}}"#;
        assert_eq!(check_checkpoint(&p("/x"), fresh).unwrap().resources, 0);
        assert_eq!(
            check_checkpoint(&p("/x"), b"").unwrap_err().code(),
            "STATE_EMPTY"
        );
        assert_eq!(
            check_checkpoint(&p("/x"), b" \n").unwrap_err().code(),
            "STATE_EMPTY"
        );
        for bad in [
            &b"{"[..],
            b"[]",
            b"{}",
            br#"{"version":3}"#,
            br#"{"checkpoint":{}}"#,
            br#"{"version":3,"checkpoint":5}"#,
            br#"{"version":3,"checkpoint":{}} x"#,
        ] {
            let e = check_checkpoint(&p("/repo/app/dev.json"), bad).unwrap_err();
            assert_eq!(
                e.code(),
                "STATE_CORRUPT",
                "{}",
                String::from_utf8_lossy(bad)
            );
            assert!(e.to_string().contains("/repo/app/dev.json"));
        }
    }

    #[test]
    fn passphrases() {
        let text = passphrase_text(&KEY);
        assert_eq!(text.len(), 44);
        assert_eq!(check_passphrase(&p("/x"), text.as_bytes()).unwrap(), KEY);
        for bad in [
            String::new(),
            format!("{text}\n"),
            "not base64!".into(),
            passphrase_text(&[1; 32])[..40].to_string(),
            base64::engine::general_purpose::STANDARD.encode([1u8; 16]),
        ] {
            assert_eq!(
                check_passphrase(&p("/x"), bad.as_bytes())
                    .unwrap_err()
                    .code(),
                "PASSPHRASE_INVALID",
                "{bad}"
            );
        }
    }

    #[test]
    fn secrets() {
        let enc = sst_encrypt(&KEY, r#"{"A":"1","B":"2"}"#);
        assert_eq!(check_secret(&p("/s"), &enc, &KEY, &p("/k")).unwrap(), 2);
        let e = check_secret(&p("/s"), &enc, &[8; 32], &p("/k")).unwrap_err();
        assert_eq!(e.code(), "SECRET_UNDECRYPTABLE");
        assert!(!e.to_string().contains('1'.to_string().repeat(2).as_str()));
        assert_eq!(
            check_secret(&p("/s"), b"short", &KEY, &p("/k"))
                .unwrap_err()
                .code(),
            "SECRET_UNDECRYPTABLE"
        );
        let not_json = sst_encrypt(&KEY, "plain");
        assert_eq!(
            check_secret(&p("/s"), &not_json, &KEY, &p("/k"))
                .unwrap_err()
                .code(),
            "SECRET_UNDECRYPTABLE"
        );
    }

    #[test]
    fn sets_need_their_passphrase() {
        let mut set = StateSet::default();
        set.insert(
            Kind::App,
            p("/r/app/dev.json"),
            br#"{"version":3,"checkpoint":{}}"#.to_vec(),
        );
        let e = set
            .check(|k| p(&format!("/r/{}/dev.json", k.key())))
            .unwrap_err();
        assert_eq!(e.code(), "PASSPHRASE_MISSING");
        assert!(e.to_string().contains("/r/passphrase/dev.json"), "{e}");
        set.insert(
            Kind::Passphrase,
            p("/r/passphrase/dev.json"),
            passphrase_text(&KEY).into_bytes(),
        );
        set.insert(
            Kind::Secret,
            p("/r/secret/dev.json"),
            sst_encrypt(&KEY, r#"{"A":"x"}"#),
        );
        let info = set.check(|k| p(k.key())).unwrap();
        assert_eq!(info.checkpoint.unwrap().resources, 0);
        assert_eq!(info.secret_counts[Kind::Secret], Some(1));
        set.insert(
            Kind::FallbackSecret,
            p("/r/secret/_fallback.json"),
            sst_encrypt(&KEY, "{}"),
        );
        assert_eq!(
            set.check(|k| p(k.key())).unwrap_err().code(),
            "PASSPHRASE_MISSING"
        );
    }
}
