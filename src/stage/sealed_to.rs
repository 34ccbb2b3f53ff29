//! Whom an age file is sealed to, as far as anyone can tell.
//!
//! An X25519 stanza of an age header holds an ephemeral share and the
//! wrapped file key, never the recipient's public key: a file does not say
//! which keys open it, only how many X25519 stanzas it has, and decrypting
//! with one's own key proves only that one key. A record kept beside the
//! files (`passphrase/sealed-to.txt`) proves nothing about a file written
//! after it (a `commit` that sealed a new passphrase to an older list).
//!
//! So every file sealed here ([`crate::stage::seal::seal`]: commit, rekey, encrypt)
//! carries one more stanza, `-> sst-local-state/sealed-to <hash>` with an
//! empty body, where `<hash>` is the SHA-256 of the list it was sealed to
//! ([`list_hash`]). age implementations ignore stanzas of unknown types (age
//! itself adds a random "grease" stanza to every file to keep it so), and
//! the header's MAC, keyed by the file key, covers it: it cannot be edited
//! or copied into another file without that file failing to decrypt.
//!
//! [`check`] of a file against a recipient list:
//! - [`Sealing::Current`]: its stanza names the list's hash **and** its
//!   number of X25519 stanzas is the list's length;
//! - [`Sealing::Stale`]: provably not sealed to the list: another number of
//!   recipient stanzas, or a stanza naming another list;
//! - [`Sealing::Unproven`]: no such stanza (sealed by an earlier version, or
//!   by hand with age) and the count matches: it may be sealed to another
//!   list of the same length (one key swapped for another).
//!
//! `rekey` seals again every file that is not `Current`; prepare and status
//! warn `REKEY_NEEDED` for `Stale` files only (an unproven file is no
//! evidence of a stale list, and a warning on it would nag every repository
//! made before this stanza existed). What the stanza does not prove: it
//! says what the writer sealed to; a writer who means harm (someone with
//! push access and a key that opens the file) can write anything, as they
//! can commit anything. It is the guard against honest clients that race
//! (a commit sealing to the list a rekey just replaced), clones holding an
//! old list, and earlier versions.

use std::collections::{BTreeSet, HashSet};
use std::io::Read;

use age::x25519::Recipient;
use age_core::format::{FileKey, Stanza};
use camino::Utf8Path;
use sha2::{Digest, Sha256};

use crate::fsx;
use crate::warning::Warning;

/// The tag of the stanza naming the list a file was sealed to.
pub const STANZA_TAG: &str = "sst-local-state/sealed-to";

/// The SHA-256 (hex) of the distinct public keys of `recipients`, sorted,
/// one a line: the same for any order, comments or repeats in the list.
pub fn list_hash(recipients: &[Recipient]) -> String {
    let keys: BTreeSet<String> = recipients.iter().map(ToString::to_string).collect();
    let mut hasher = Sha256::new();
    for key in keys {
        hasher.update(key.as_bytes());
        hasher.update(b"\n");
    }
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The stanza of [`STANZA_TAG`] for a list, added to a file as one more
/// "recipient" (it wraps no key).
pub(crate) struct Claim(pub String);

impl age::Recipient for Claim {
    fn wrap_file_key(
        &self,
        _file_key: &FileKey,
    ) -> Result<(Vec<Stanza>, HashSet<String>), age::EncryptError> {
        let stanza = Stanza {
            tag: STANZA_TAG.to_string(),
            args: vec![self.0.clone()],
            body: Vec::new(),
        };
        Ok((vec![stanza], HashSet::new()))
    }
}

/// What the header of an age file says about its recipients.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// Recipient stanzas (X25519 and ssh; not grease, not ours).
    pub recipients: usize,
    /// The list hash its [`STANZA_TAG`] stanza names, if it has one.
    pub sealed_to: Option<String>,
}

/// The header of an age file, armored or not (None: not an age file).
/// Stanza lines start with `-> `; their bodies are base64, which never does.
pub fn header(ciphertext: &[u8]) -> Option<Header> {
    let mut bytes = Vec::new();
    age::armor::ArmoredReader::new(ciphertext)
        .take(64 * 1024)
        .read_to_end(&mut bytes)
        .ok()?;
    let text = String::from_utf8_lossy(&bytes);
    let rest = text.strip_prefix("age-encryption.org/v1\n")?;
    let mut out = Header {
        recipients: 0,
        sealed_to: None,
    };
    for line in rest.lines().take_while(|l| !l.starts_with("---")) {
        let Some(stanza) = line.strip_prefix("-> ") else {
            continue;
        };
        let mut words = stanza.split(' ');
        match words.next() {
            Some("X25519") => out.recipients += 1,
            Some(tag) if tag.starts_with("ssh-") && !tag.ends_with("-grease") => {
                out.recipients += 1
            }
            Some(STANZA_TAG) => out.sealed_to = words.next().map(str::to_string),
            _ => {}
        }
    }
    Some(out)
}

/// Whether a file is sealed to a list (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sealing {
    /// Sealed to exactly the list.
    Current,
    /// Provably sealed to another list: why, as words that follow the file's name.
    Stale(String),
    /// Cannot be told: seal it again to be sure.
    Unproven,
}

/// How the age file `ciphertext` stands against `recipients` (see the module docs).
pub fn check(ciphertext: &[u8], recipients: &[Recipient]) -> Sealing {
    let Some(header) = header(ciphertext) else {
        return Sealing::Unproven;
    };
    if header.recipients != recipients.len() {
        return Sealing::Stale(format!(
            "is encrypted to {} recipient{}, the list has {}",
            header.recipients,
            if header.recipients == 1 { "" } else { "s" },
            recipients.len()
        ));
    }
    match header.sealed_to {
        Some(hash) if hash == list_hash(recipients) => Sealing::Current,
        Some(_) => Sealing::Stale("is encrypted to another list of keys".into()),
        None => Sealing::Unproven,
    }
}

/// `REKEY_NEEDED` for the worktree's state folder `state`: the record of
/// the last rekey names other keys than `age-recipients.txt`, or a
/// `passphrase/*.age` file is [`Sealing::Stale`] against it.
pub fn rekey_needed(state: &Utf8Path) -> Option<Warning> {
    let recipients = state.join(crate::stage::seal::RECIPIENTS_FILE);
    let text = std::fs::read_to_string(&recipients).ok()?;
    let mut why = Vec::new();
    let keys = |text: &str| -> BTreeSet<String> {
        text.lines()
            .map(str::trim)
            .filter(|l| l.starts_with("age1"))
            .map(str::to_string)
            .collect()
    };
    let record = state.join(crate::stage::seal::SEALED_TO_FILE);
    if let Ok(recorded) = std::fs::read_to_string(&record) {
        if keys(&recorded) != keys(&text) {
            why.push(format!("{record} records other keys"));
        }
    }
    if let Ok(list) = crate::stage::seal::parse_recipients(&recipients, &text) {
        for file in age_files(&state.join("passphrase")) {
            if let Ok(Some(bytes)) = fsx::read_optional(&file) {
                if let Sealing::Stale(reason) = check(&bytes, &list) {
                    why.push(format!("{file} {reason}"));
                }
            }
        }
    }
    (!why.is_empty()).then(|| Warning::RekeyNeeded {
        recipients,
        why: why.join("; "),
    })
}

/// The regular `.age` files directly in `folder`, sorted (symbolic links left out).
fn age_files(folder: &Utf8Path) -> Vec<camino::Utf8PathBuf> {
    let Ok(entries) = folder.read_dir_utf8() else {
        return Vec::new();
    };
    let mut files: Vec<_> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().ends_with(".age"))
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| e.into_path())
        .collect();
    files.sort();
    files
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stage::seal;

    fn keys(n: usize) -> Vec<Recipient> {
        (0..n)
            .map(|_| seal::generate().1.parse().unwrap())
            .collect()
    }

    /// An age file sealed to `recipients` by age alone (as earlier versions did).
    fn plain_age(recipients: &[Recipient]) -> Vec<u8> {
        let encryptor =
            age::Encryptor::with_recipients(recipients.iter().map(|r| r as &dyn age::Recipient))
                .unwrap();
        let mut out = Vec::new();
        let mut w = encryptor.wrap_output(&mut out).unwrap();
        std::io::Write::write_all(&mut w, b"x").unwrap();
        w.finish().unwrap();
        out
    }

    #[test]
    fn the_hash_ignores_order_and_repeats() {
        let k = keys(2);
        let swapped = [k[1].clone(), k[0].clone(), k[1].clone()];
        assert_eq!(list_hash(&k), list_hash(&swapped));
        assert_ne!(list_hash(&k), list_hash(&k[..1]));
        assert_eq!(list_hash(&k).len(), 64);
    }

    #[test]
    fn a_sealed_file_names_its_list_and_still_opens() {
        let (secret, public) = seal::generate();
        let mut list = keys(2);
        list.push(public.parse().unwrap());
        let sealed = seal::seal(b"pass", &list);
        let h = header(&sealed).unwrap();
        assert_eq!(h.recipients, 3);
        assert_eq!(h.sealed_to.as_deref(), Some(list_hash(&list).as_str()));
        assert_eq!(check(&sealed, &list), Sealing::Current);
        let ids: Vec<age::x25519::Identity> = vec![secret.parse().unwrap()];
        assert_eq!(
            seal::open(Utf8Path::new("/x/p.age"), &sealed, &ids).unwrap(),
            b"pass"
        );
    }

    #[test]
    fn stale_and_unproven_files() {
        let k = keys(3);
        // another count: stale, with or without the stanza
        let three = seal::seal(b"p", &k);
        assert!(
            matches!(check(&three, &k[..2]), Sealing::Stale(r) if r.contains("3 recipients, the list has 2"))
        );
        assert!(matches!(check(&plain_age(&k), &k[..2]), Sealing::Stale(_)));
        // same count, another list: stale only when the file names its list
        let other = [k[0].clone(), k[2].clone()];
        let sealed_other = seal::seal(b"p", &other);
        assert_eq!(
            check(&sealed_other, &k[..2]),
            Sealing::Stale("is encrypted to another list of keys".into())
        );
        assert_eq!(check(&plain_age(&other), &k[..2]), Sealing::Unproven);
        assert_eq!(check(b"not age", &k), Sealing::Unproven);
        assert_eq!(header(b"not age"), None);
    }
}
