//! The stage passphrase in the repository is never plain text: it is stored
//! as `passphrase/<stage>.age`, encrypted with age to the team's X25519
//! recipients (`<stateDir>/age-recipients.txt`, public keys, committed), and
//! decrypted with an identity from `SST_LOCAL_STATE_AGE_KEY` (a CI secret),
//! `SST_LOCAL_STATE_AGE_KEY_FILE`, or the key file `init` wrote.

use std::cell::OnceCell;
use std::fmt;
use std::io::{Read, Write};

use age::armor::{ArmoredReader, ArmoredWriter, Format};
use age::secrecy::ExposeSecret;
use age::x25519::{Identity, Recipient};
use camino::{Utf8Path, Utf8PathBuf};

use crate::env::Env;
use crate::error::{Error, Result};

/// The recipients file, relative to the state folder.
pub const RECIPIENTS_FILE: &str = "age-recipients.txt";
/// The record, relative to the state folder, of the recipients `rekey` and
/// `encrypt` last encrypted the `.age` files to: prepare warns that a
/// rekey is due when `age-recipients.txt` lists other keys. Never trusted
/// for a file: a file committed after the record is not covered by it, so
/// rekey reads each file's own header ([`crate::stage::sealed_to`]).
pub const SEALED_TO_FILE: &str = "passphrase/sealed-to.txt";
/// Environment variable holding one or more `AGE-SECRET-KEY-1…` lines.
pub const KEY_ENV: &str = "SST_LOCAL_STATE_AGE_KEY";
/// Environment variable naming a file that holds the identity.
pub const KEY_FILE_ENV: &str = "SST_LOCAL_STATE_AGE_KEY_FILE";
/// Environment variable that allows committing a new passphrase in plain text.
pub const PLAINTEXT_ENV: &str = "SST_LOCAL_STATE_PLAINTEXT_PASSPHRASE";

/// Where `init` keeps the identity on this machine (SST's config dir, never the repo).
pub fn default_key_file(config_dir: &Utf8Path) -> Utf8PathBuf {
    config_dir.join("sst-local-state").join("age-key.txt")
}

/// The identities that decrypt a run's `.age` files, shared by every
/// decryption of the run: read and parsed once, on the first decryption, so
/// a run that decrypts nothing never reads the key (and a missing or bad key
/// is an error only when a file must be decrypted).
pub struct Keyring<'a> {
    load: Box<dyn Fn() -> Result<Vec<Identity>> + 'a>,
    identities: OnceCell<Vec<Identity>>,
    recipients_file: Option<Utf8PathBuf>,
}

impl<'a> Keyring<'a> {
    /// The keyring of [`identities`]: `SST_LOCAL_STATE_AGE_KEY`, else
    /// `SST_LOCAL_STATE_AGE_KEY_FILE`, else the key file `init` wrote under
    /// `config_dir` (SST's config dir) if it exists. Reads nothing yet.
    pub fn new(env: &'a Env, config_dir: &Utf8Path) -> Self {
        let default_key = default_key_file(config_dir);
        Keyring::from_loader(move || identities(env, &default_key))
    }

    /// A keyring whose identities come from `load`, called on first use (and
    /// again only if it failed, which ends a run anyway).
    pub fn from_loader(load: impl Fn() -> Result<Vec<Identity>> + 'a) -> Self {
        Keyring {
            load: Box::new(load),
            identities: OnceCell::new(),
            recipients_file: None,
        }
    }

    /// The keyring, with `file` as the recipients list a `DECRYPT_FAILED`
    /// says the key is or is not listed in (by default, the
    /// `age-recipients.txt` of the state folder holding the file, see [`open`]).
    pub fn with_recipients_file(mut self, file: Utf8PathBuf) -> Self {
        self.recipients_file = Some(file);
        self
    }

    /// The identities, loaded on the first call; empty when no key is configured.
    pub fn identities(&self) -> Result<&[Identity]> {
        if let Some(ids) = self.identities.get() {
            return Ok(ids);
        }
        let ids = (self.load)()?;
        Ok(self.identities.get_or_init(|| ids))
    }

    /// Decrypts the age file `path` (content `ciphertext`), loading the
    /// identities if this is the first decryption; `AGE_KEY_MISSING` when
    /// no key is configured.
    pub fn open(&self, path: &Utf8Path, ciphertext: &[u8]) -> Result<Vec<u8>> {
        let listing = self
            .recipients_file
            .clone()
            .or_else(|| recipients_beside(path));
        open_listed(path, ciphertext, self.identities()?, listing.as_deref())
    }
}

impl fmt::Debug for Keyring<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // never the keys themselves
        f.debug_struct("Keyring")
            .field("loaded", &self.identities.get().map(Vec::len))
            .finish_non_exhaustive()
    }
}

/// The identities available to decrypt: `SST_LOCAL_STATE_AGE_KEY`, else the
/// file named by `SST_LOCAL_STATE_AGE_KEY_FILE`, else `default_key` if it exists.
/// Reads the key on every call: a run holds a [`Keyring`] instead.
pub fn identities(env: &Env, default_key: &Utf8Path) -> Result<Vec<Identity>> {
    if let Some(text) = env.non_empty(KEY_ENV) {
        return parse_identities(text, &format!("env {KEY_ENV}"));
    }
    let (path, origin) = match env.non_empty(KEY_FILE_ENV) {
        Some(p) => (
            Utf8PathBuf::from(p),
            format!("age key file {p} (env {KEY_FILE_ENV})"),
        ),
        None if default_key.exists() => (
            default_key.to_path_buf(),
            format!("age key file {default_key}"),
        ),
        None => return Ok(Vec::new()),
    };
    let text =
        std::fs::read_to_string(&path).map_err(|e| Error::io("reading the age key", &path, e))?;
    parse_identities(&text, &origin)
}

/// The identities in `text`, one `AGE-SECRET-KEY-1…` a line (blank lines
/// and `#` comments skipped). `origin` names where the text came from (the
/// variable, or the key file) in the error; a line is never echoed: it is
/// (or may be meant as) a secret key.
fn parse_identities(text: &str, origin: &str) -> Result<Vec<Identity>> {
    let lines: Vec<(usize, &str)> = text
        .lines()
        .map(str::trim)
        .enumerate()
        .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'))
        .collect();
    let how = "an AGE-SECRET-KEY-1… line as `sst-local-state init` or age-keygen writes it";
    let mut ids = Vec::new();
    for &(n, line) in &lines {
        let Ok(id) = line.parse::<Identity>() else {
            let which = if lines.len() == 1 {
                "its value".to_string()
            } else {
                format!("line {}", n + 1)
            };
            let what = if line.starts_with("age1") {
                "is an age public key (a recipient, for age-recipients.txt), not a secret key"
            } else {
                "is not a valid age secret key"
            };
            return Err(Error::option(
                origin,
                format!("{which} {what}: expected {how} (not shown here: it may be secret)"),
            ));
        };
        ids.push(id);
    }
    if ids.is_empty() {
        return Err(Error::option(
            origin,
            format!("holds no age secret key: expected {how}"),
        ));
    }
    Ok(ids)
}

/// The recipients listed in `text` (the content of `path`).
pub fn parse_recipients(path: &Utf8Path, text: &str) -> Result<Vec<Recipient>> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        out.push(line.parse::<Recipient>().map_err(|e| {
            Error::option(
                format!("{path}:{}", n + 1),
                format!("not an age X25519 recipient (age1…): {e}"),
            )
        })?);
    }
    if out.is_empty() {
        return Err(Error::option(path.as_str(), "lists no recipients"));
    }
    Ok(out)
}

/// `plaintext` encrypted to every recipient, ASCII-armored, with the
/// stanza naming the list it is sealed to ([`crate::stage::sealed_to`]).
pub fn seal(plaintext: &[u8], recipients: &[Recipient]) -> Vec<u8> {
    assert!(!recipients.is_empty(), "at least one recipient");
    let claim = crate::stage::sealed_to::Claim(crate::stage::sealed_to::list_hash(recipients));
    let all = recipients
        .iter()
        .map(|r| r as &dyn age::Recipient)
        .chain(std::iter::once(&claim as &dyn age::Recipient));
    let encryptor = age::Encryptor::with_recipients(all).expect("X25519 stanzas combine");
    let mut out = Vec::new();
    let armor =
        ArmoredWriter::wrap_output(&mut out, Format::AsciiArmor).expect("writing to memory");
    let mut writer = encryptor.wrap_output(armor).expect("writing to memory");
    writer.write_all(plaintext).expect("writing to memory");
    writer
        .finish()
        .and_then(|a| a.finish())
        .expect("writing to memory");
    out
}

/// Decrypts the age file `path` (content `ciphertext`) with `identities`
/// (see [`Keyring::open`]). A `DECRYPT_FAILED` for a key that is no
/// recipient says whether it is listed in the `age-recipients.txt` of the
/// state folder holding `path` (`<state>/passphrase/<name>.age`).
pub fn open(path: &Utf8Path, ciphertext: &[u8], identities: &[Identity]) -> Result<Vec<u8>> {
    open_listed(
        path,
        ciphertext,
        identities,
        recipients_beside(path).as_deref(),
    )
}

/// The `age-recipients.txt` of the state folder holding the age file `path`
/// (None when `path` is not absolute: no file to read then).
fn recipients_beside(path: &Utf8Path) -> Option<Utf8PathBuf> {
    let state = path.parent()?.parent()?;
    path.is_absolute().then(|| state.join(RECIPIENTS_FILE))
}

/// [`open`], with `listing` the recipients file the error names.
fn open_listed(
    path: &Utf8Path,
    ciphertext: &[u8],
    identities: &[Identity],
    listing: Option<&Utf8Path>,
) -> Result<Vec<u8>> {
    if identities.is_empty() {
        return Err(Error::AgeKeyMissing {
            file: path.to_path_buf(),
        });
    }
    let fail = |reason: String| Error::DecryptFailed {
        file: path.to_path_buf(),
        reason,
    };
    let decryptor = age::Decryptor::new_buffered(ArmoredReader::new(ciphertext))
        .map_err(|e| fail(e.to_string()))?;
    let mut reader = decryptor
        .decrypt(identities.iter().map(|i| i as &dyn age::Identity))
        .map_err(|e| match e {
            age::DecryptError::NoMatchingKeys => fail(not_a_recipient(identities, listing)),
            e => fail(e.to_string()),
        })?;
    let mut plain = Vec::new();
    reader
        .read_to_end(&mut plain)
        .map_err(|e| fail(e.to_string()))?;
    Ok(plain)
}

/// Why no stanza opened: the public keys tried, whether `listing` lists
/// them, and what to do in either case.
fn not_a_recipient(identities: &[Identity], listing: Option<&Utf8Path>) -> String {
    let tried: Vec<String> = identities
        .iter()
        .map(|i| i.to_public().to_string())
        .collect();
    let keys = match tried.as_slice() {
        [one] => format!("the age key tried (public key {one})"),
        many => format!("the age keys tried (public keys {})", many.join(", ")),
    };
    let rekey = "a member whose key opens it runs `sst-local-state rekey`";
    let Some(file) = listing else {
        return format!("{keys} is not a recipient of this file: if it is listed in {RECIPIENTS_FILE}, {rekey}; if not, ask a member to add it there and rekey");
    };
    let listed = listed_keys(file);
    match listed {
        None => format!("{keys} is not a recipient of this file ({file} could not be read to tell whether it is listed): if it is listed, {rekey}; if not, ask a member to add it there and rekey"),
        Some(listed) if tried.iter().any(|k| listed.contains(k)) => format!(
            "{keys} is listed in {file} but is not a recipient of this file: it was encrypted before the key was listed; {rekey}"
        ),
        Some(_) => format!(
            "{keys} is not listed in {file}, so it is not a recipient of the passphrases (a key removed from the list, or never added): ask a member whose key opens it to add the public key to {file} and run `sst-local-state rekey`"
        ),
    }
}

/// The public keys `file` lists (None: absent, unreadable or a symbolic link).
fn listed_keys(file: &Utf8Path) -> Option<std::collections::BTreeSet<String>> {
    if !std::fs::symlink_metadata(file).ok()?.is_file() {
        return None;
    }
    let text = std::fs::read_to_string(file).ok()?;
    Some(
        text.lines()
            .map(str::trim)
            .filter(|l| l.starts_with("age1"))
            .map(str::to_string)
            .collect(),
    )
}

/// A new identity: (secret key text, public recipient text).
pub fn generate() -> (String, String) {
    let identity = Identity::generate();
    (
        identity.to_string().expose_secret().to_string(),
        identity.to_public().to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn seal_and_open() {
        let (secret, public) = generate();
        let recipients =
            parse_recipients(Utf8Path::new("r.txt"), &format!("# team\n{public}\n")).unwrap();
        let sealed = seal(b"c2VjcmV0", &recipients);
        assert!(sealed.starts_with(b"-----BEGIN AGE ENCRYPTED FILE-----"));
        assert!(!String::from_utf8_lossy(&sealed).contains("c2VjcmV0"));
        let env = Env::from_map(
            BTreeMap::from([(KEY_ENV.to_string(), secret.clone())]),
            false,
        );
        let ids = identities(&env, Utf8Path::new("/nonexistent")).unwrap();
        assert_eq!(
            open(Utf8Path::new("p.age"), &sealed, &ids).unwrap(),
            b"c2VjcmV0"
        );
        // another key cannot open it; no key at all is its own error
        let (other, _) = generate();
        let other_ids = parse_identities(&other, "x").unwrap();
        assert_eq!(
            open(Utf8Path::new("p.age"), &sealed, &other_ids)
                .unwrap_err()
                .code(),
            "DECRYPT_FAILED"
        );
        assert_eq!(
            open(Utf8Path::new("p.age"), &sealed, &[])
                .unwrap_err()
                .code(),
            "AGE_KEY_MISSING"
        );
    }

    #[test]
    fn bad_keys_are_named_never_echoed() {
        let env = Env::from_map(
            BTreeMap::from([(KEY_ENV.to_string(), "AGE-SECRET-KEY-1NOTAKEY".to_string())]),
            false,
        );
        let Err(err) = identities(&env, Utf8Path::new("/x")) else {
            panic!("a bad key was accepted")
        };
        assert!(err.to_string().contains(KEY_ENV));
        assert!(!err.to_string().contains("NOTAKEY"));
        let err =
            parse_recipients(Utf8Path::new("state/age-recipients.txt"), "age1bad\n").unwrap_err();
        assert!(err.to_string().contains("state/age-recipients.txt:1"));
    }

    #[test]
    fn a_malformed_key_is_called_so_naming_where_it_came_from() {
        let bad = "AGE-SECRET-KEY-1NOTAKEY";
        let message = |env: &Env| {
            let Err(err) = identities(env, Utf8Path::new("/nonexistent")) else {
                panic!("a bad key was accepted")
            };
            assert_eq!(err.code(), "INVALID_OPTION");
            let text = err.to_string();
            assert!(
                !text.contains("NOTAKEY") && !text.contains("does not hold"),
                "{text}"
            );
            text
        };
        let text = message(&env(&[(KEY_ENV, bad)]));
        assert!(
            text.contains("env SST_LOCAL_STATE_AGE_KEY: its value is not a valid age secret key"),
            "{text}"
        );
        // from a file: the file and the variable that named it, the line at fault
        let dir = tempfile::tempdir().unwrap();
        let file = Utf8Path::from_path(dir.path()).unwrap().join("key.txt");
        let (good, public) = generate();
        std::fs::write(&file, format!("# key\n{good}\n{bad}\n")).unwrap();
        let text = message(&env(&[(KEY_FILE_ENV, file.as_str())]));
        assert!(
            text.contains(&format!("age key file {file} (env {KEY_FILE_ENV})"))
                && text.contains("line 3 is not a valid age secret key"),
            "{text}"
        );
        assert!(!text.contains(&good), "{text}");
        // the key file init writes, holding a public key by mistake
        std::fs::write(&file, format!("{public}\n")).unwrap();
        let err = identities(&env(&[]), &file).err().unwrap().to_string();
        assert!(
            err.contains(&format!(
                "age key file {file}: its value is an age public key"
            )),
            "{err}"
        );
        std::fs::write(&file, "# nothing\n").unwrap();
        let err = identities(&env(&[]), &file).err().unwrap().to_string();
        assert!(err.contains("holds no age secret key"), "{err}");
    }

    #[test]
    fn decrypt_failed_names_the_key_tried_and_whether_it_is_listed() {
        let dir = tempfile::tempdir().unwrap();
        let state = Utf8Path::from_path(dir.path()).unwrap().join("infra/state");
        std::fs::create_dir_all(state.join("passphrase")).unwrap();
        let (a, a_public) = generate();
        let (joined, joined_public) = generate();
        let (removed, removed_public) = generate();
        let list = state.join(RECIPIENTS_FILE);
        std::fs::write(&list, format!("{a_public}\n{joined_public}\n")).unwrap();
        let sealed = seal(b"p", &parse_recipients(&list, &a_public).unwrap());
        let file = state.join("passphrase/dev.age");
        let reason = |secret: &str| {
            let err = open(&file, &sealed, &parse_identities(secret, "t").unwrap()).unwrap_err();
            assert_eq!(err.code(), "DECRYPT_FAILED");
            let text = err.to_string();
            assert!(
                text.contains(file.as_str()) && !text.contains(secret),
                "{text}"
            );
            text
        };
        let text = reason(&joined);
        assert!(
            text.contains(&format!("(public key {joined_public}) is listed in {list}"))
                && text.contains("encrypted before the key was listed")
                && text.contains("runs `sst-local-state rekey`"),
            "{text}"
        );
        let text = reason(&removed);
        assert!(
            text.contains(&format!(
                "(public key {removed_public}) is not listed in {list}"
            )) && text.contains("ask a member whose key opens it to add the public key"),
            "{text}"
        );
        // a keyring names the list it was given
        let other = state.join("elsewhere.txt");
        let keyring = Keyring::from_loader(|| parse_identities(&removed, "t"))
            .with_recipients_file(other.clone());
        let text = keyring
            .open(Utf8Path::new("abc:p.age"), &sealed)
            .unwrap_err()
            .to_string();
        assert!(
            text.contains(&format!("({other} could not be read")),
            "{text}"
        );
        assert_eq!(
            open(&file, &sealed, &parse_identities(&a, "t").unwrap()).unwrap(),
            b"p"
        );
    }

    fn env(vars: &[(&str, &str)]) -> Env {
        let map = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Env::from_map(map, false)
    }

    #[test]
    fn keyring_loads_the_key_once_and_only_to_decrypt() {
        let (secret, public) = generate();
        let recipients = parse_recipients(Utf8Path::new("r.txt"), &public).unwrap();
        let (a, b) = (seal(b"a", &recipients), seal(b"b", &recipients));
        let loads = std::cell::Cell::new(0);
        let keyring = Keyring::from_loader(|| {
            loads.set(loads.get() + 1);
            parse_identities(&secret, "test")
        });
        assert_eq!(loads.get(), 0, "nothing read before a decryption");
        assert_eq!(keyring.open(Utf8Path::new("a.age"), &a).unwrap(), b"a");
        assert_eq!(keyring.open(Utf8Path::new("b.age"), &b).unwrap(), b"b");
        assert_eq!(keyring.identities().unwrap().len(), 1);
        assert_eq!(loads.get(), 1);
        assert!(format!("{keyring:?}").contains("Some(1)"));
        assert!(!format!("{keyring:?}").contains("AGE-SECRET-KEY"));
    }

    #[test]
    fn keyring_without_a_usable_key_fails_only_when_decrypting() {
        let (_, public) = generate();
        let recipients = parse_recipients(Utf8Path::new("r.txt"), &public).unwrap();
        let sealed = seal(b"x", &recipients);
        let dir = tempfile::tempdir().unwrap();
        let config_dir = Utf8Path::from_path(dir.path()).unwrap();
        let missing_file = config_dir.join("missing.txt");
        let cases = [
            (env(&[]), "AGE_KEY_MISSING"),
            (
                env(&[(KEY_ENV, "AGE-SECRET-KEY-1NOTAKEY")]),
                "INVALID_OPTION",
            ),
            (env(&[(KEY_FILE_ENV, missing_file.as_str())]), "IO_ERROR"),
        ];
        for (env, code) in cases {
            // a run that decrypts nothing: constructing the keyring reads nothing
            let keyring = Keyring::new(&env, config_dir);
            assert!(format!("{keyring:?}").contains("None"));
            let err = keyring.open(Utf8Path::new("p.age"), &sealed).unwrap_err();
            assert_eq!(err.code(), code, "{env:?}");
        }
        // the key file init writes under the config dir is used when present
        let (secret, public) = generate();
        let key_file = default_key_file(config_dir);
        std::fs::create_dir_all(key_file.parent().unwrap()).unwrap();
        std::fs::write(&key_file, format!("# key\n{secret}\n")).unwrap();
        let recipients = parse_recipients(Utf8Path::new("r.txt"), &public).unwrap();
        let env = env(&[]);
        let keyring = Keyring::new(&env, config_dir);
        let opened = keyring.open(Utf8Path::new("p.age"), &seal(b"y", &recipients));
        assert_eq!(opened.unwrap(), b"y");
    }
}
